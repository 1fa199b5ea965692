"""One file, two stories: the camera, times, GPS and serial number as each metadata block writes them.

Why: a file can carry several blocks that say the same thing, written by different tools at different
times, and they disagree when one tool changed only its own block. exiftool's ``ExifTool.jpg`` has EXIF
saying FUJIFILM (2001) and a CIFF block saying Canon (1998); an edited file keeps an old XMP CreateDate
beside a new EXIF one; an embedded thumbnail keeps the EXIF of the photo it was cut from; a maker note
keeps the serial number the EXIF block was given by someone else. MWG reconciliation (``mwg.py``) picks
one value per fact; this module keeps every copy, named by block and exiftool's tag, so that
``checks.check_blocks`` can say where they part.

Blocks read: EXIF IFD0 and ExifIFD and GPS (exifread), XMP (tiff, exif, xmp, photoshop, aux, exifEX
namespaces) and IPTC-IIM (``embedded_metadata``), Canon's CIFF heap (``ciff.py``: CRW files and a JPEG's
APP0), the maker note's serial number (exifread with maker notes decoded, only when another block has a
serial to compare), and the EXIF of the embedded EXIF thumbnail. A day without a time is left to the
time check (``checks.check_time`` compares the caption date with a day's tolerance).
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from .ciff import read_ciff
from .embedded_metadata import EmbeddedMetadata, xmp_coordinate
from .exif import ExifFacts
from .mwg import iptc_datetime, xmp_datetime

MAX_VALUE_CHARS = 80  # a value is quoted in a one-line check; longer ones are cut with "…"


@dataclass
class BlockValue:
    """One fact as one block writes it. ``fact``: "make", "model", "capture time", "digitised time",
    "gps" or "serial"; ``value``: text (ISO 8601 for times, "lat, lon" for GPS), as written."""

    block: str  # "EXIF", "XMP", "IPTC", "CIFF", "maker note", "thumbnail EXIF"
    tag: str  # exiftool's Group:Tag, e.g. "ExifIFD:DateTimeOriginal"
    fact: str
    value: str


def _first(value):
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _short(text: str) -> str:
    text = "".join(c if c.isprintable() else " " for c in str(text)).strip()
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 1] + "…"


def _exif_values(exif: ExifFacts, block: str, group: str) -> list[BlockValue]:
    ifd0, sub = ("IFD0", "ExifIFD") if group == "" else (group, group)
    out = []
    for fact, tag, value in (("make", f"{ifd0}:Make", exif.Make), ("model", f"{ifd0}:Model", exif.Model),
                             ("capture time", f"{sub}:DateTimeOriginal", exif.datetime_original_with_offset),
                             ("digitised time", f"{sub}:CreateDate", exif.DateTimeDigitized),
                             ("serial", f"{sub}:SerialNumber", exif.BodySerialNumber)):
        if value:
            out.append(BlockValue(block, tag, fact, _short(value)))
    if exif.has_gps:
        out.append(BlockValue(block, f"{'GPS' if group == '' else group}:GPSLatitude/GPSLongitude", "gps",
                              f"{exif.GPSLatitude:.6f}, {exif.GPSLongitude:.6f}"))
    return out


def _xmp_values(meta: EmbeddedMetadata) -> list[BlockValue]:
    xmp, out = meta.xmp, []
    for fact, tag in (("make", "XMP-tiff:Make"), ("model", "XMP-tiff:Model"), ("serial", "XMP-aux:SerialNumber"),
                      ("serial", "XMP-exifEX:BodySerialNumber")):
        if _first(xmp.get(tag)):
            out.append(BlockValue("XMP", tag, fact, _short(_first(xmp[tag]))))
    for fact, tag in (("capture time", "XMP-exif:DateTimeOriginal"), ("capture time", "XMP-photoshop:DateCreated"),
                      ("digitised time", "XMP-xmp:CreateDate"), ("digitised time", "XMP-exif:DateTimeDigitized")):
        value = xmp_datetime(_first(xmp.get(tag)))
        if value and "T" in value:
            out.append(BlockValue("XMP", tag, fact, value))
    lat = xmp_coordinate(_first(xmp.get("XMP-exif:GPSLatitude")))
    lon = xmp_coordinate(_first(xmp.get("XMP-exif:GPSLongitude")))
    if lat is not None and lon is not None and abs(lat) <= 90 and abs(lon) <= 180 and (lat, lon) != (0, 0):
        out.append(BlockValue("XMP", "XMP-exif:GPSLatitude/GPSLongitude", "gps", f"{lat:.6f}, {lon:.6f}"))
    return out


def _iptc_values(meta: EmbeddedMetadata) -> list[BlockValue]:
    iptc, out = meta.iptc, []
    for fact, date, time in (("capture time", "IPTC:DateCreated", "IPTC:TimeCreated"),
                             ("digitised time", "IPTC:DigitalCreationDate", "IPTC:DigitalCreationTime")):
        value = iptc_datetime(_first(iptc.get(date)), _first(iptc.get(time)))
        if value and "T" in value:
            out.append(BlockValue("IPTC", f"{date}+{time.split(':')[1]}", fact, value))
    return out


def _ciff_values(data: bytes) -> list[BlockValue]:
    ciff = read_ciff(data)
    return [BlockValue("CIFF", f"CIFF:{tag}", fact, _short(value)) for fact, tag, value in (
        ("make", "Make", ciff.make), ("model", "Model", ciff.model),
        ("capture time", "DateTimeOriginal", ciff.datetime_original)) if value]


def _maker_note_serial(data: bytes) -> list[BlockValue]:
    """The maker note's serial number (Canon, Nikon and others write one), decoded by exifread only here."""
    import exifread

    from .raw_formats import detect_raw, exif_tiffs

    raw = detect_raw(data)
    if raw:
        blocks = exif_tiffs(data, raw)
        if not blocks or blocks[0][0] != "file":
            return []
        data = blocks[0][1]
    try:
        tags = exifread.process_file(io.BytesIO(data), details=True, extract_thumbnail=False)
    except Exception:
        return []
    for name in ("MakerNote SerialNumber", "MakerNote InternalSerialNumber"):
        tag = tags.get(name)
        text = str(getattr(tag, "printable", "") or "").replace("\x00", "").strip()
        if text:
            return [BlockValue("maker note", f"MakerNotes:{name.split()[1]}", "serial", _short(text))]
    return []


def read_blocks(data: bytes, exif: ExifFacts, meta: EmbeddedMetadata) -> list[BlockValue]:
    """Every block's camera, times, GPS and serial (module docstring). Runs in the isolated worker,
    before ``exif.thumbnail`` is dropped; never raises."""
    from .exif import read_exif

    from .raw_formats import detect_raw

    crw = detect_raw(data) == "crw"  # a CRW's "EXIF" facts were read from its CIFF heap: one block, not two
    values = _exif_values(exif, "EXIF", "") if exif.exif_present and not crw else []
    values += _xmp_values(meta) + _iptc_values(meta) + _ciff_values(data)
    if any(v.fact == "serial" for v in values):
        values += _maker_note_serial(data)
    if exif.thumbnail:
        thumb = read_exif(exif.thumbnail)
        if thumb.exif_present:
            values += _exif_values(thumb, "thumbnail EXIF", "Thumbnail")
    return values
