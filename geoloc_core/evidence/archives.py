"""Reading uploaded zip archives safely, entry by entry, in memory.

Zips from the open internet may carry path-traversal names (``../../etc/x``) or be zip
bombs (tiny archive, enormous content). Entries are never written to disk; unsafe names
and over-limit entries are reported per entry, and every good image in the archive is
still analysed.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Iterator

MAX_ENTRIES = 20_000
MAX_ENTRY_BYTES = 512 * 1024**2
MAX_TOTAL_BYTES = 4 * 1024**3
MAX_RATIO = 200  # uncompressed / compressed, for entries over 1 MB


@dataclass
class ArchiveEntry:
    name: str
    data: bytes | None = None
    error: str | None = None


def _unsafe(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or (len(name) > 1 and name[1] == ":")


def iter_zip(data: bytes, archive_name: str = "archive.zip") -> Iterator[ArchiveEntry]:
    """Entries of a zip as ``ArchiveEntry`` (bytes or a reason); a broken zip yields one error."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        yield ArchiveEntry(archive_name, error=f"not a readable zip archive ({exc})")
        return
    total = 0
    for index, info in enumerate(infos):
        name = f"{archive_name}/{info.filename}"
        if info.is_dir():
            continue
        if index >= MAX_ENTRIES:
            yield ArchiveEntry(archive_name, error=f"more than {MAX_ENTRIES:,} entries; the rest were not read")
            return
        if _unsafe(info.filename):
            yield ArchiveEntry(name, error="refused: unsafe path in zip (absolute or '..' traversal)")
            continue
        if info.file_size > MAX_ENTRY_BYTES:
            yield ArchiveEntry(name, error=f"refused: declares {info.file_size / 1024**2:,.0f} MB uncompressed")
            continue
        if info.file_size > 1024**2 and info.file_size > MAX_RATIO * max(1, info.compress_size):
            yield ArchiveEntry(name, error=f"refused as a possible zip bomb: compression ratio "
                                           f"{info.file_size / max(1, info.compress_size):,.0f}:1")
            continue
        if total + info.file_size > MAX_TOTAL_BYTES:
            yield ArchiveEntry(name, error=f"refused: archive content exceeds {MAX_TOTAL_BYTES / 1024**3:.0f} GB")
            continue
        try:
            with archive.open(info) as handle:
                content = handle.read(MAX_ENTRY_BYTES + 1)  # never trust the declared size alone
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError) as exc:
            yield ArchiveEntry(name, error=f"unreadable zip entry ({type(exc).__name__}: {str(exc)[:100]})")
            continue
        if len(content) > MAX_ENTRY_BYTES:
            yield ArchiveEntry(name, error="refused: entry larger than declared (possible zip bomb)")
            continue
        total += len(content)
        yield ArchiveEntry(name, data=content)
