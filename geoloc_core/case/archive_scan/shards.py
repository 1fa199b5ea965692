"""The output folder of an archive scan: Parquet shards that are both the result and the resume index.

Why shards: a 10^7-file scan cannot hold its rows in memory nor rewrite one file per batch; each chunk of
files becomes one Parquet file, written to a temporary name and renamed (``os.replace``), so a shard is
either whole or absent. A killed run leaves only whole shards (plus temporaries, removed at the next start);
the next run reads the (path, size, mtime) of every row in them and skips those files, so a resumed run loses
nothing and duplicates nothing. One writer per folder at a time (an exclusive lock on ``.geoloc-scan.lock``,
released by the kernel when the process dies, even by SIGKILL).

The columns are ``Finding``'s, typed from its annotations (a column of empty values has the same type in
every shard, so the folder reads as one dataset), then the three key columns.
"""
from __future__ import annotations

import fcntl
import os
import uuid
from dataclasses import fields
from pathlib import Path
from typing import Iterable, Sequence

from ..findings import Finding
from .inputs import ArchiveItem

KEY_COLUMNS = ("source_path", "source_size", "source_mtime_ns")
LOCK_NAME = ".geoloc-scan.lock"
SHARD_GLOB = "part-*.parquet"


class OutputFolderBusy(RuntimeError):
    """Another scan is writing to this output folder."""


def _arrow_type(annotation: str):
    import pyarrow as pa

    base = annotation.replace(" ", "").replace("|None", "")
    return {"str": pa.string(), "float": pa.float64(), "int": pa.int64(), "bool": pa.bool_()}.get(base, pa.string())


def schema():
    import pyarrow as pa

    columns = [pa.field(f.name, _arrow_type(str(f.type))) for f in fields(Finding)]
    return pa.schema(columns + [pa.field("source_path", pa.string()), pa.field("source_size", pa.int64()),
                                pa.field("source_mtime_ns", pa.int64())])


def findings_table(pairs: Sequence[tuple[ArchiveItem, Finding]]):
    """One shard's rows: each finding's columns and its item's resume key."""
    import pyarrow as pa

    rows = []
    for item, finding in pairs:
        row = finding.to_dict()
        row.update(source_path=item.location, source_size=item.size, source_mtime_ns=item.mtime_ns)
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=schema())


class OutputFolder:
    """The shards of one output folder. Use as a context manager: it holds the folder's write lock."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.run = uuid.uuid4().hex[:12]  # this run's shards are named apart from earlier runs'
        self._sequence = 0
        self._lock = None

    def __enter__(self) -> "OutputFolder":
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = open(self.folder / LOCK_NAME, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise OutputFolderBusy(f"another scan is writing to {self.folder} (its lock is held)") from None
        self._lock = handle
        for stale in self.folder.glob(".part-*.tmp"):  # a killed run's unfinished shard
            stale.unlink(missing_ok=True)
        return self

    def __exit__(self, *exc) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def shards(self) -> list[Path]:
        return sorted(self.folder.glob(SHARD_GLOB))

    def done_keys(self) -> set[tuple[str, int, int]]:
        """(path, size, mtime_ns) of every row already in the folder."""
        import pyarrow.parquet as pq

        keys: set[tuple[str, int, int]] = set()
        for shard in self.shards():
            table = pq.read_table(shard, columns=list(KEY_COLUMNS))
            keys.update(zip(*(table.column(c).to_pylist() for c in KEY_COLUMNS)))
        return keys

    def write(self, pairs: Sequence[tuple[ArchiveItem, Finding]]) -> Path:
        """One shard, atomically (temporary name, then rename)."""
        import pyarrow.parquet as pq

        self._sequence += 1
        final = self.folder / f"part-{self.run}-{self._sequence:06d}.parquet"
        temporary = self.folder / f".{final.name}.tmp"
        pq.write_table(findings_table(pairs), temporary)
        os.replace(temporary, final)
        return final

    def findings(self, items: Iterable[ArchiveItem]) -> list[Finding]:
        """The rows for ``items``, in their order, from this run and earlier ones (a key is in one shard only:
        a run skips the keys already written)."""
        import pyarrow.parquet as pq

        names = [f.name for f in fields(Finding)]
        by_key: dict[tuple[str, int, int], Finding] = {}
        for shard in self.shards():
            for row in pq.read_table(shard).to_pylist():
                key = (row["source_path"], row["source_size"], row["source_mtime_ns"])
                by_key[key] = Finding(**{n: row[n] for n in names if n in row})
        return [by_key[item.key] for item in items if item.key in by_key]
