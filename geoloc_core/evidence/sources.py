"""Where the files to analyse come from: paths on disk, folders, uploads, zip archives.

A ``FileSource`` is a name plus either a path or the bytes; a problem found before
reading (a refused zip entry) travels with it so the file still gets its error row
and a batch never loses its neighbours.

It also carries when geoloc acquired the bytes (``acquired_utc``), the report's "Acquired": the moment an
upload was received (the page passes it: an upload can wait minutes before it is analysed, and is analysed
again under other settings), else when the bytes were handed over or the file is read. It used to be the case
log's save time, after the analysis (#32: "Acquired" was 1 s after "Analysed").
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from .archives import count_entries, iter_zip
from .filefacts import sha256_hex

MAX_FILE_BYTES = 512 * 1024**2
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".heic", ".heif", ".avif",
                    ".gif", ".bmp", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".dng", ".raf", ".orf", ".rw2",
                    ".pef", ".srw", ".mrw", ".iiq", ".x3f"}


def utc_now() -> str:
    """The acquisition clock, to the second like the finding's "Analysed" (one place, so a test can set it)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class FileSource:
    """A file to analyse: a display name and either a path or the bytes themselves (uploads)."""

    name: str
    path: Path | None = None
    data: bytes | None = None
    error: str | None = None  # a problem found before reading (e.g. a refused zip entry)
    acquired_utc: str = ""  # when the bytes arrived: the caller's (upload received), else stamped on arrival here

    def __post_init__(self) -> None:
        if self.data is not None and not self.acquired_utc:  # the bytes are in hand now
            self.acquired_utc = utc_now()

    def read(self) -> bytes:
        path = self.checked_path()
        return self.data if path is None else path.read_bytes()

    def checked_path(self) -> Path | None:
        """The path to read, after the checks ``read`` makes before reading (raising as it does);
        None for a source that carries its bytes. Lets a parser process read the file itself instead
        of receiving its bytes through a pipe (issue #18)."""
        if self.error is not None:
            raise ValueError(self.error)
        if self.data is not None:
            return None
        assert self.path is not None
        size = self.path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ValueError(f"file too large: {size / 1024**2:,.0f} MB exceeds the {MAX_FILE_BYTES / 1024**2:,.0f} MB limit")
        if not self.acquired_utc:  # read right after this (here or by a parser process)
            self.acquired_utc = utc_now()
        return self.path


def collect_sources(paths: Iterable[str | os.PathLike]) -> list[FileSource]:
    """Files named directly, plus every file under named folders (recursive, sorted, hidden skipped)."""
    sources: list[FileSource] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(part.startswith(".") for part in child.relative_to(path).parts):
                    sources.append(FileSource(str(child), path=child))
        else:
            sources.append(FileSource(str(path), path=path))
    return sources


def is_zip(name: str, data: bytes) -> bool:
    """A zip archive to expand: the local-header magic *and* a .zip name (an .xlsx or a
    .docx is a zip too, but the analyst uploaded it as a file, not as a folder)."""
    return data[:4] == b"PK\x03\x04" and name.lower().endswith(".zip")


def count_files(name: str, data: bytes) -> int:
    """How many files an upload holds (zip entries, else 1): the batch's progress total."""
    return count_entries(data) if is_zip(name, data) else 1


def expand_uploads(uploads: Iterable[tuple[str, bytes] | tuple[str, bytes, str]], known: set[str] | None = None,
                   skipped: list[str] | None = None, skipped_hashes: list[str] | None = None) -> Iterator[FileSource]:
    """FileSources one at a time, zip entries expanded lazily.

    Each upload is (name, bytes) or (name, bytes, when it was received, UTC); a zip's entries were received
    with it. With ``known`` (SHA-256s already in the case), files whose hash is in it, or that
    repeat within this upload, are not yielded; their names are appended to ``skipped``.
    """
    for name, data, *received in uploads:
        acquired = received[0] if received else utc_now()
        items = iter_zip(data, name) if is_zip(name, data) else [None]
        for entry in items:
            if entry is None:
                entry_name, entry_data, error = name, data, None
            else:
                entry_name, entry_data, error = entry.name, entry.data, entry.error
            if entry_data is not None and known is not None:
                digest = sha256_hex(entry_data)
                if digest in known:  # already in the case, or twice in this upload
                    if skipped is not None:
                        skipped.append(entry_name)
                    if skipped_hashes is not None:
                        skipped_hashes.append(digest)
                    continue
                known.add(digest)
            yield FileSource(entry_name, data=entry_data, error=error, acquired_utc=acquired)
