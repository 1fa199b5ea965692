"""What an archive scan reads: files and folders, a text file listing them, object-store URIs.

Each input becomes an ``ArchiveItem`` with the identity the resume index keys on (path, size, mtime in
nanoseconds): a file changed since the last run (size or mtime) is scanned again; one unchanged is skipped.
Local paths go through ``collect_sources``, so the names (the ``file`` column), the order, the recursion
and the hidden-file rule are the local scan's.

S3 and GCS (``s3://bucket/prefix``, ``gs://bucket/prefix``) are listed and read through pyarrow's
filesystems (credentials from the environment, as pyarrow takes them). Documented, not tested here: no
object store is reachable from the test machine.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ...evidence.sources import FileSource, collect_sources

URI_SCHEMES = ("s3://", "gs://", "gcs://")


@dataclass(frozen=True)
class ArchiveItem:
    """One file to scan: its name (the ``file`` column), where to read it, and its resume identity."""

    name: str
    location: str  # a local path, or a URI read through pyarrow's filesystems
    size: int  # -1: could not be read (the row says why)
    mtime_ns: int

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.location, self.size, self.mtime_ns)

    @property
    def remote(self) -> bool:
        return self.location.startswith(URI_SCHEMES)


class InputListError(ValueError):
    """A --from-list file that cannot be read; the message says why."""


def read_path_list(path: str | Path) -> list[str]:
    """The paths in a text file, one a line (UTF-8; blank lines and lines starting with # skipped)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputListError(f"--from-list {path}: cannot be read ({type(exc).__name__})") from None
    return [line.rstrip("\r") for line in text.split("\n") if line.strip() and not line.lstrip().startswith("#")]


def list_items(paths: Iterable[str]) -> list[ArchiveItem]:
    """Every file the inputs name, in the local scan's order; URIs listed through pyarrow."""
    items: list[ArchiveItem] = []
    local: list[str] = []

    def flush() -> None:
        items.extend(_local_item(source) for source in collect_sources(local))
        local.clear()

    for path in paths:
        if str(path).startswith(URI_SCHEMES):
            flush()
            items.extend(_remote_items(str(path)))
        else:
            local.append(path)
    flush()
    return items


def _local_item(source: FileSource) -> ArchiveItem:
    try:
        status = source.path.stat()
        return ArchiveItem(source.name, str(source.path), status.st_size, status.st_mtime_ns)
    except OSError:  # missing or unreadable: scanned anyway, so its row says why
        return ArchiveItem(source.name, str(source.path), -1, 0)


def _remote_items(uri: str) -> list[ArchiveItem]:
    """Files under an object-store prefix (or the one object it names), sorted by key."""
    from pyarrow import fs

    filesystem, root = fs.FileSystem.from_uri(uri)
    scheme = uri.split("://", 1)[0]
    info = filesystem.get_file_info(root)
    infos = ([info] if info.type == fs.FileType.File else
             filesystem.get_file_info(fs.FileSelector(root, recursive=True)))
    items = []
    for entry in sorted(infos, key=lambda i: i.path):
        if entry.type != fs.FileType.File or any(p.startswith(".") for p in entry.path[len(root):].split("/")):
            continue
        mtime = entry.mtime_ns if entry.mtime_ns is not None else 0
        items.append(ArchiveItem(f"{scheme}://{entry.path}", f"{scheme}://{entry.path}", entry.size or 0, mtime))
    return items


def source_for(item: ArchiveItem) -> FileSource:
    """The ``FileSource`` the Analyzer reads: a path on disk, or an object's bytes fetched here (in the
    Ray actor, on the machine that scans it); a fetch that fails is the file's own error row."""
    if not item.remote:
        return FileSource(item.name, path=Path(item.location))
    from ...evidence.sources import MAX_FILE_BYTES

    if item.size > MAX_FILE_BYTES:
        return FileSource(item.name, error=f"file too large: {item.size / 1024**2:,.0f} MB exceeds the "
                                           f"{MAX_FILE_BYTES / 1024**2:,.0f} MB limit")
    try:
        from pyarrow import fs

        filesystem, path = fs.FileSystem.from_uri(item.location)
        with filesystem.open_input_file(path) as handle:
            return FileSource(item.name, data=handle.read())
    except Exception as exc:  # any store error is this file's row, never the chunk's
        return FileSource(item.name, error=f"unreadable object ({type(exc).__name__})")
