"""Which bytes are a video, from the bytes (never the extension), and a first structural check.

filetype recognises the ISO-BMFF brands (MP4, MOV, M4V, 3GP), Matroska/WebM, AVI and ASF (WMV);
MPEG transport streams carry no magic number, only a sync byte every 188 (TS) or 192 (M2TS)
bytes, so they are recognised here by that rhythm.
"""
from __future__ import annotations

import struct

# file_type names as filefacts.detect_type gives them ("mp4", "mov", ...), plus "ts" / "m2ts" from here
VIDEO_TYPES = frozenset({"mp4", "mov", "m4v", "3gp", "3g2", "mkv", "webm", "avi", "wmv", "ts", "m2ts", "mpg", "flv"})
ISO_BMFF_TYPES = frozenset({"mp4", "mov", "m4v", "3gp", "3g2"})
_SYNC = 0x47
_TS_PACKETS_CHECKED = 4


def detect_transport_stream(data: bytes) -> str | None:
    """"ts" or "m2ts" when the sync byte recurs at the packet rhythm from the start, else None."""
    for name, size, offset in (("ts", 188, 0), ("m2ts", 192, 4)):
        if len(data) >= size * _TS_PACKETS_CHECKED and all(
                data[offset + i * size] == _SYNC for i in range(_TS_PACKETS_CHECKED)):
            return name
    return None


def detect_video_type(data: bytes, guessed: str) -> str | None:
    """The video type of ``data`` (``guessed`` is filefacts' type from the magic number), or None."""
    if guessed in VIDEO_TYPES:
        return guessed
    return detect_transport_stream(data) if guessed in ("unknown", "text") else None


class StructureError(ValueError):
    """The container's own structure is broken in a way worth naming before FFmpeg reads it."""


def check_iso_bmff(data: bytes) -> None:
    """Walk the top-level boxes of an MP4/MOV: a missing or cut ``moov`` (the index of every frame,
    often written last) is the commonest damage of a video cut short in transfer; FFmpeg says only
    "Invalid data" or opens an empty file, so it is named here."""
    offset, seen_moov = 0, False
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        header = 8
        if size == 1:
            if offset + 16 > len(data):
                break
            size, header = struct.unpack(">Q", data[offset + 8:offset + 16])[0], 16
        elif size == 0:  # runs to the end of the file
            size = len(data) - offset
        if size < header:
            raise StructureError(f"damaged MP4/MOV: box {kind!r} at byte {offset:,} declares {size} bytes")
        if kind == b"moov":
            if offset + size > len(data):
                raise StructureError(
                    f"truncated MP4/MOV: the moov box (the index of every frame) starts at byte {offset:,} and "
                    f"needs {size:,} bytes, but the file ends after {len(data) - offset:,}")
            seen_moov = True
        offset += size
    if not seen_moov:
        raise StructureError(
            f"truncated MP4/MOV: no moov box (the index of every frame) in {len(data):,} bytes; a recording cut "
            "short or a partial download")
