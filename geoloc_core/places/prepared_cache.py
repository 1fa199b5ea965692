"""The offline geocoder's prepared arrays, kept between runs (#35).

Why: a scan's start-up is most of a small folder's time (``scan --metadata-only`` over 200 photos is held
against ``exiftool``, whose start is 0.07 s), and part of the geocoder's load rebuilds the same arrays from
the shipped assets every run: the Natural Earth outlines are delta-encoded and compressed (a decompress and a
cumulative sum), and the "km to the coast" index converts half a million outline vertices to unit vectors.
Those arrays are written once under ``$GEOLOC_CACHE_DIR/prepared`` and read back afterwards.

What keeps a cached file honest (it is read by every scan, so it must never be trusted blindly):
- never a pickle: safetensors (numeric arrays and a string table of metadata only);
- named by what it was built from: the SHA-256 of the source asset's bytes and this format's version are in
  its metadata and must match (a new release of the assets rebuilds it);
- a content hash of its arrays in its metadata, checked on every read (a file changed after it was written
  is ignored and rebuilt);
- owner-only and atomic (``private_files.write_private``); a file that is not ours, or that others may write,
  is ignored;
- a cache that cannot be read or written costs the rebuild, never the scan.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

CACHE_ENV_VAR = "GEOLOC_CACHE_DIR"  # the same folder as the zero-shot prompt cache (model/zeroshot.py)
FORMAT = "geoloc-prepared-geocoder-1"


def cache_root() -> Path:
    """$GEOLOC_CACHE_DIR, else $XDG_CACHE_HOME/geoloc, else ~/.cache/geoloc (as ``zeroshot.default_cache_dir``)."""
    if os.environ.get(CACHE_ENV_VAR):
        return Path(os.environ[CACHE_ENV_VAR]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "geoloc"


@lru_cache(maxsize=16)
def _source_digest(path: str, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def source_digest(path: Path) -> str:
    """SHA-256 of a source asset's bytes (memoised per process by path, size and mtime)."""
    status = path.stat()
    return _source_digest(str(path), status.st_size, status.st_mtime_ns)


def content_digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over each array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape}\n".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def cached_arrays(name: str, source: Path, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays ``build()`` makes from ``source``, from the cache when a valid file for these very source
    bytes is there, else built and written for the next run."""
    try:
        wanted = source_digest(source)
    except OSError:
        return build()
    path = cache_root() / "prepared" / f"{name}.safetensors"
    arrays = read_prepared(path, wanted)
    if arrays is not None:
        return arrays
    arrays = build()
    write_prepared(path, arrays, wanted)
    return arrays


def read_prepared(path: Path, source: str) -> dict[str, np.ndarray] | None:
    """The arrays of a cache file, or None when it is missing, not ours, writable by others, unreadable,
    built from other source bytes or another format, or changed since it was written."""
    data = _mapped(path)
    if data is None:
        return None
    try:  # safetensors' layout: 8-byte header length, a JSON header, then the arrays' bytes
        length = int.from_bytes(data[:8], "little")
        if not 0 < length <= len(data) - 8:
            return None
        header = json.loads(data[8:8 + length])
        metadata = header.pop("__metadata__", None) or {}
        if metadata.get("format") != FORMAT or metadata.get("source") != source:
            return None
        arrays = {name: _view(data, 8 + length, entry) for name, entry in header.items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    if metadata.get("content") != content_digest(arrays):
        return None
    return arrays


def _mapped(path: Path):
    """The file's bytes memory-mapped read-only, or None when it is missing, empty, not a regular file of
    ours, or writable by others. Why a map and not ``read_bytes``: the three files are 45 MB, and copying
    them into fresh memory cost every scan 0.03 CPU-s and as much again in page faults (#35); the map
    shares the page cache. The checks run on the opened file itself (no swap between check and read);
    a replaced cache file is a new inode (``write_private`` renames), so the mapped bytes stay the ones
    whose content hash is checked."""
    import mmap

    try:
        status = path.lstat()
        if not stat.S_ISREG(status.st_mode):
            return None
        with open(path, "rb") as handle:
            opened = os.fstat(handle.fileno())
            if (opened.st_ino, opened.st_dev) != (status.st_ino, status.st_dev) or not stat.S_ISREG(opened.st_mode) \
                    or opened.st_uid != os.getuid() or opened.st_mode & 0o022 or opened.st_size < 8:
                return None
            return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None


_DTYPES = {"F64": "<f8", "F32": "<f4", "I64": "<i8", "I32": "<i4", "U8": "|u1", "BOOL": "|b1"}


def _view(data, start: int, entry: dict) -> np.ndarray:
    """One array of a safetensors file, read in place (no copy); bounds and sizes checked."""
    dtype = np.dtype(_DTYPES[entry["dtype"]])
    begin, end = (int(x) for x in entry["data_offsets"])
    shape = tuple(int(x) for x in entry["shape"])
    count = int(np.prod(shape, dtype=np.int64))
    if not 0 <= begin <= end <= len(data) - start or end - begin != count * dtype.itemsize:
        raise ValueError("array outside the file")
    return np.frombuffer(data, dtype, count, start + begin).reshape(shape)


def write_prepared(path: Path, arrays: dict[str, np.ndarray], source: str) -> None:
    """Owner-only, atomic; a folder that cannot be written leaves the next run to build again."""
    from safetensors.numpy import save

    from ..evidence.private_files import write_private

    try:
        payload = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
        write_private(path, save(payload, metadata={"format": FORMAT, "source": source,
                                                    "content": content_digest(payload)}))
    except (OSError, ValueError):
        pass
