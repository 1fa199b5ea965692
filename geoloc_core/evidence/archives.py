"""Reading uploaded zip archives safely, entry by entry, in memory.

Zips from the open internet may carry path-traversal names (``../../etc/x``) or be zip
bombs (tiny archive, enormous content). Entries are never written to disk; unsafe names
and over-limit entries are reported per entry, and every good image in the archive is
still analysed.

Python's ``zipfile`` reads the whole central directory into ``ZipInfo`` objects when it opens
an archive (a 1M-entry, 90 MB zip cost 15 s and ~800 MB), and raises for the whole archive when
one UTF-8-flagged name is not UTF-8. So ``_scan_central_directory`` first walks the directory's
fixed-size records itself (no objects, stops after ``MAX_ENTRIES + 1``); when the archive has
too many entries or such names, ``zipfile`` is given a copy whose directory is cut to the first
``MAX_ENTRIES`` records and whose bad names have the UTF-8 flag cleared, and each of those
entries gets its own error row.
"""
from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass, field
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


_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL_HEADER_SIZE = 46
_UTF8_FLAG = 0x800


@dataclass
class _Directory:
    start: int  # offset in the data of the first central-directory record
    stored_offset: int  # the start as the archive records it (differs when data was prepended)
    records: list[tuple[int, int]] = field(default_factory=list)  # (offset, length), at most limit + 1
    bad_names: dict[str, str] = field(default_factory=dict)  # cp437 reading -> UTF-8 with replacements
    directories: int = 0


def _scan_central_directory(data: bytes, limit: int) -> _Directory | None:
    """Locate and walk the central directory without building ZipInfo objects; None when the
    structure is not what the format says (``zipfile`` then reports the archive as broken)."""
    eocd = data.rfind(b"PK\x05\x06", max(0, len(data) - _EOCD.size - 65535))
    if eocd < 0 or eocd + _EOCD.size > len(data):
        return None
    _, _, _, _, _, size, offset, _ = _EOCD.unpack_from(data, eocd)
    end = eocd
    locator = eocd - _EOCD64_LOCATOR.size
    if locator >= 0 and data[locator:locator + 4] == b"PK\x06\x07":
        record = locator - _EOCD64.size
        if record < 0 or data[record:record + 4] != b"PK\x06\x06":
            return None
        *_, size, offset = _EOCD64.unpack_from(data, record)
        end = record
    start = end - size
    if start < 0 or offset > start:
        return None
    directory = _Directory(start, offset)
    position = start
    while position + _CENTRAL_HEADER_SIZE <= end and len(directory.records) <= limit:
        if data[position:position + 4] != b"PK\x01\x02":
            return None
        (flags,) = struct.unpack_from("<H", data, position + 8)
        name_length, extra_length, comment_length = struct.unpack_from("<3H", data, position + 28)
        length = _CENTRAL_HEADER_SIZE + name_length + extra_length + comment_length
        name = data[position + _CENTRAL_HEADER_SIZE:position + _CENTRAL_HEADER_SIZE + name_length]
        directory.directories += name.endswith(b"/")
        if flags & _UTF8_FLAG:
            try:
                name.decode("utf-8")
            except UnicodeDecodeError:
                directory.bad_names[name.decode("cp437")] = name.decode("utf-8", "replace")
        directory.records.append((position, length))
        position += length
    return directory


def _readable_copy(data: bytes, directory: _Directory, keep: int) -> bytes:
    """The archive with its central directory cut to ``keep`` records and the UTF-8 flag cleared
    on names that are not UTF-8 (a new end record; entries' data untouched)."""
    kept = directory.records[:keep]
    size = sum(length for _, length in kept)
    copy = bytearray(data[:directory.start + size])
    for position, _ in kept:
        name_length = struct.unpack_from("<H", copy, position + 28)[0]
        name = bytes(copy[position + _CENTRAL_HEADER_SIZE:position + _CENTRAL_HEADER_SIZE + name_length])
        (flags,) = struct.unpack_from("<H", copy, position + 8)
        if flags & _UTF8_FLAG and name.decode("cp437") in directory.bad_names:
            struct.pack_into("<H", copy, position + 8, flags & ~_UTF8_FLAG)
    copy += _EOCD.pack(b"PK\x05\x06", 0, 0, len(kept), len(kept), size, directory.stored_offset, 0)
    return bytes(copy)


def count_entries(data: bytes) -> int:
    """Files in a zip (directories left out), counting no further than ``MAX_ENTRIES + 1``;
    at least 1 (an unreadable archive is one error row)."""
    directory = _scan_central_directory(data, MAX_ENTRIES)
    if directory is None:
        return 1
    return max(1, len(directory.records) - directory.directories)


def _unsafe(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or (len(name) > 1 and name[1] == ":")


def iter_zip(data: bytes, archive_name: str = "archive.zip") -> Iterator[ArchiveEntry]:
    """Entries of a zip as ``ArchiveEntry`` (bytes or a reason); a broken zip yields one error,
    a broken entry its own error, and nothing here raises for hostile input."""
    directory = _scan_central_directory(data, MAX_ENTRIES)
    too_many = directory is not None and len(directory.records) > MAX_ENTRIES
    if directory is not None and (too_many or directory.bad_names):
        data = _readable_copy(data, directory, MAX_ENTRIES)
    bad_names = directory.bad_names if directory is not None else {}
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except Exception as exc:  # BadZipFile, but also whatever else a crafted directory provokes
        yield ArchiveEntry(archive_name, error=f"not a readable zip archive ({type(exc).__name__}: {str(exc)[:160]})")
        return
    total = 0
    for info in infos:
        name = f"{archive_name}/{info.filename}"
        if info.is_dir():
            continue
        if info.orig_filename in bad_names:
            yield ArchiveEntry(f"{archive_name}/{bad_names[info.orig_filename]}",
                               error="refused: the entry name is marked UTF-8 but is not valid UTF-8")
            continue
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
        except Exception as exc:  # zlib.error, BadZipFile (CRC), EOFError, NotImplementedError, ...
            kind = type(exc).__name__ if type(exc).__module__ == "builtins" else f"{type(exc).__module__}.{type(exc).__name__}"
            yield ArchiveEntry(name, error=f"unreadable zip entry ({kind}: {str(exc)[:100]})")
            continue
        if len(content) > MAX_ENTRY_BYTES:
            yield ArchiveEntry(name, error="refused: entry larger than declared (possible zip bomb)")
            continue
        total += len(content)
        yield ArchiveEntry(name, data=content)
    if too_many:
        yield ArchiveEntry(archive_name, error=f"more than {MAX_ENTRIES:,} entries; only the first "
                                               f"{MAX_ENTRIES:,} were read")
