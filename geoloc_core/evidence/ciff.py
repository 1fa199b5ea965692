"""Canon's CIFF heap (CRW files, and an APP0 segment of some JPEGs): make, model, capture time, JPEG.

Why by hand: no maintained Python library reads CIFF (exifread does not; LibRaw reads the pixels but
exposes neither make nor time), and the format is small: a heap whose last four bytes point to a
directory of 10-byte records (tag, size, offset), where tags 0x2800/0x3000 are sub-heaps. Read as
exiftool's CanonRaw module does: 0x080a MakeModel ("Canon\\0Canon PowerShot A5\\0"), 0x180e TimeStamp
(seconds since 1970 of the camera's clock, shown as UTC like exiftool, with a time-zone code), 0x2007
JpgFromRaw. Depth and record counts are bounded; every offset is checked.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime, timezone

MAX_DEPTH = 8
MAX_RECORDS = 4096


@dataclass
class CiffFacts:
    make: str | None = None
    model: str | None = None
    datetime_original: str | None = None  # ISO 8601, the camera's clock as written (no offset)
    jpeg: bytes | None = None  # JpgFromRaw, the full-size preview of a CRW


def find_ciff(data: bytes) -> bytes | None:
    """The CIFF heap of a CRW file, or of a JPEG's APP0 "II\\x1a\\x00\\x00\\x00HEAPJPGM" segment."""
    if data[:2] == b"II" and data[6:10] == b"HEAP":
        return data
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    for _ in range(256):
        if pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] == 0xDA:
            return None
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        body = data[pos + 4:pos + 2 + length]
        if data[pos + 1] == 0xE0 and body[:2] == b"II" and body[6:10] == b"HEAP":
            return body
        if length < 2:
            return None
        pos += 2 + length
    return None


def read_ciff(data: bytes) -> CiffFacts:
    """The CIFF facts of a CRW or JPEG; empty when there is no heap. Never raises."""
    facts = CiffFacts()
    heap = find_ciff(data)
    if heap is None or len(heap) < 14:
        return facts
    header = struct.unpack("<I", heap[2:6])[0]
    budget = [MAX_RECORDS]
    try:
        _walk(heap, header, len(heap), facts, 0, budget)
    except (struct.error, ValueError):
        pass
    return facts


def _walk(heap: bytes, start: int, end: int, facts: CiffFacts, depth: int, budget: list[int]) -> None:
    if depth > MAX_DEPTH or end - start < 4 or end > len(heap) or start < 0:
        return
    directory = start + struct.unpack("<I", heap[end - 4:end])[0]
    if directory + 2 > end:
        return
    count = struct.unpack("<H", heap[directory:directory + 2])[0]
    for i in range(count):
        budget[0] -= 1
        at = directory + 2 + 10 * i
        if budget[0] < 0 or at + 10 > end:
            return
        tag, size, offset = struct.unpack("<HII", heap[at:at + 10])
        if tag & 0xC000 == 0x4000:  # value stored in the record itself (8 bytes)
            value, value_start, value_end = heap[at + 2:at + 10], at + 2, at + 10
        else:
            value_start, value_end = start + offset, start + offset + size
            if value_end > end:
                continue
            value = heap[value_start:value_end]
        kind, ident = tag & 0x3800, tag & 0x3FFF
        if kind in (0x2800, 0x3000):
            _walk(heap, value_start, value_end, facts, depth + 1, budget)
        elif ident == 0x080A and facts.make is None:
            parts = value.split(b"\x00")
            facts.make = parts[0].decode("latin-1").strip()[:128] or None
            facts.model = parts[1].decode("latin-1").strip()[:128] or None if len(parts) > 1 else None
        elif ident == 0x180E and len(value) >= 4 and facts.datetime_original is None:
            seconds = struct.unpack("<I", value[:4])[0]
            if seconds:
                stamp = datetime.fromtimestamp(seconds, tz=timezone.utc).replace(tzinfo=None)
                facts.datetime_original = stamp.isoformat()
        elif ident == 0x2007 and value[:2] == b"\xff\xd8":
            facts.jpeg = value
