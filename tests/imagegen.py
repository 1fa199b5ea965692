"""Generated test images: valid files with chosen EXIF, and raw EXIF blocks that no writer
library would produce (empty tags, wrong types, pointers past the end), built byte by byte."""
from __future__ import annotations

import io
import struct
from fractions import Fraction

import piexif
from PIL import Image

import geoloc_core.evidence.filefacts  # noqa: F401  (registers the HEIF codec: tests write .heic files)

# TIFF field types
BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED = 1, 2, 3, 4, 5, 7
TYPE_SIZES = {BYTE: 1, ASCII: 1, SHORT: 2, LONG: 4, RATIONAL: 8, UNDEFINED: 1}
GPS_TAGS = {"GPSLatitudeRef": 1, "GPSLatitude": 2, "GPSLongitudeRef": 3, "GPSLongitude": 4,
            "GPSAltitudeRef": 5, "GPSAltitude": 6}


def dms_rationals(value: float, seconds_denominator: int = 1_000_000) -> tuple:
    """Degrees -> ((d,1),(m,1),(s*den,den)) as cameras write them."""
    value = abs(value)
    degrees = int(value)
    minutes_float = (value - degrees) * 60
    minutes = int(minutes_float)
    seconds = round((minutes_float - minutes) * 60 * seconds_denominator)
    return ((degrees, 1), (minutes, 1), (seconds, seconds_denominator))


def dms_value(rationals: tuple) -> float:
    """What a correct reader must compute from the rationals written."""
    return float(sum(Fraction(n, d) / 60**i for i, (n, d) in enumerate(rationals)))


def gps_exif(lat: float | None, lon: float | None, altitude: float | None = None, **extra_ifds) -> bytes:
    gps = {}
    if lat is not None:
        gps[piexif.GPSIFD.GPSLatitudeRef] = b"N" if lat >= 0 else b"S"
        gps[piexif.GPSIFD.GPSLatitude] = dms_rationals(lat)
    if lon is not None:
        gps[piexif.GPSIFD.GPSLongitudeRef] = b"E" if lon >= 0 else b"W"
        gps[piexif.GPSIFD.GPSLongitude] = dms_rationals(lon)
    if altitude is not None:
        gps[piexif.GPSIFD.GPSAltitudeRef] = 1 if altitude < 0 else 0
        gps[piexif.GPSIFD.GPSAltitude] = (round(abs(altitude) * 100), 100)
    ifds = {"0th": {}, "Exif": {}, "GPS": gps}
    for key, value in extra_ifds.items():
        ifds.setdefault(key, {}).update(value)
    return piexif.dump(ifds)


def textured(size=(96, 64), color=(20, 120, 200)) -> Image.Image:
    """A smooth random pattern around ``color``, the same for the same (size, color): enough
    structure to be predicted from (flat frames get no prediction, see evidence/information.py),
    and different colours give different perceptual hashes."""
    import zlib

    import numpy as np

    rng = np.random.default_rng(zlib.crc32(repr((tuple(size), tuple(color))).encode()))
    coarse = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize(size, Image.BILINEAR)
    pattern = np.asarray(coarse, dtype=np.int16) - 128
    return Image.fromarray(np.clip(np.asarray(color, dtype=np.int16) + pattern // 2, 0, 255).astype(np.uint8))


def image_bytes(fmt: str = "JPEG", size=(96, 64), color=(20, 120, 200), exif: bytes | None = None,
                texture: bool = True, **save) -> bytes:
    """A valid image file; ``texture=False`` for a uniformly coloured (flat) frame."""
    image = textured(size, color) if texture else Image.new("RGB", size, color)
    buffer = io.BytesIO()
    if exif is not None:
        save["exif"] = exif
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def raw_gps_tiff(entries: list[tuple[int, int, int, bytes]], gps_pointer: int | None = None) -> bytes:
    """A little-endian TIFF EXIF block: IFD0 with a GPS pointer, then a GPS IFD of raw entries
    (tag, type, count, payload). ``gps_pointer`` overrides the pointer (e.g. past the end)."""
    header = b"II" + struct.pack("<HI", 42, 8)
    ifd0 = struct.pack("<H", 1)
    gps_offset = 8 + 2 + 12 + 4
    ifd0 += struct.pack("<HHII", 0x8825, LONG, 1, gps_pointer if gps_pointer is not None else gps_offset)
    ifd0 += struct.pack("<I", 0)
    data_offset = gps_offset + 2 + 12 * len(entries) + 4
    gps_ifd = struct.pack("<H", len(entries))
    data_area = b""
    for tag, field_type, count, payload in entries:
        if len(payload) <= 4:
            gps_ifd += struct.pack("<HHI", tag, field_type, count) + payload.ljust(4, b"\x00")
        else:
            gps_ifd += struct.pack("<HHII", tag, field_type, count, data_offset + len(data_area))
            data_area += payload
    gps_ifd += struct.pack("<I", 0)
    return header + ifd0 + gps_ifd + data_area


def rational_payload(*pairs: tuple[int, int]) -> bytes:
    return b"".join(struct.pack("<II", n, d) for n, d in pairs)


def jpeg_with_raw_exif(tiff: bytes, size=(64, 48)) -> bytes:
    """Insert an APP1 Exif segment holding ``tiff`` right after the JPEG SOI marker."""
    plain = image_bytes("JPEG", size=size)
    segment = b"Exif\x00\x00" + tiff
    app1 = b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment
    return plain[:2] + app1 + plain[2:]
