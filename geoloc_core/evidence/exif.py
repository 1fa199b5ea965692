"""EXIF facts an analyst relies on, read with exifread and reported defensively.

Why so careful: EXIF from the open internet is often malformed (phones with GPS
off write 0/0 rationals, editors leave a ref without a value, tools write
placeholder (0, 0) coordinates). Each such case becomes a plain per-file warning
and *no coordinate*, never an exception and never a silently wrong point.

Known exifread traps handled here:
* ``Ratio(0, 0).decimal()`` raises ZeroDivisionError: we never call it and check
  denominators ourselves.
* ``exifread.utils.get_gps_coords`` overwrites the tag values of the dict it is
  given: we do not use it.
* MakerNotes can run away in memory: we parse with ``details=False``.
* Malformed files (HEIC in particular) raise many exception types and IFD loops
  have hung it before: callers run this in an isolated worker with a time bound
  (see ``isolation.py``); here every exception becomes a warning.
"""
from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

import logging

import exifread

from .metadata_claims import MetadataClaims
from .text_limits import cap_text

logging.getLogger("exifread").setLevel(logging.CRITICAL)  # we report problems ourselves

RATIONAL_TYPES = (5, 10)  # TIFF RATIONAL and SRATIONAL: what the EXIF standard prescribes for these tags
FIELD_TYPE_NAMES = {1: "BYTE", 2: "ASCII", 3: "SHORT", 4: "LONG", 5: "RATIONAL", 6: "SBYTE", 7: "UNDEFINED",
                    8: "SSHORT", 9: "SLONG", 10: "SRATIONAL", 11: "FLOAT", 12: "DOUBLE"}

TEXT_FIELDS = ("Make", "Model", "LensMake", "LensModel", "Software", "ImageDescription", "Artist", "BodySerialNumber",
               "LensSerialNumber")
NO_EXIF_MESSAGE = (
    "no EXIF metadata: typical of images re-encoded by social networks, which strip it on upload; "
    "absence proves nothing about where the photo was taken"
)


@dataclass
class ExifFacts:
    """What the file's own metadata claims, in exiftool's field names, with units in the name."""

    exif_present: bool = False
    GPSLatitude: float | None = None  # signed decimal degrees, + north
    GPSLongitude: float | None = None  # signed decimal degrees, + east
    GPSAltitude_m: float | None = None  # metres, negative below sea level
    GPSImgDirection_deg: float | None = None
    GPSImgDirectionRef: str | None = None  # "T" true north, "M" magnetic
    GPSHPositioningError_m: float | None = None  # horizontal positioning error (EXIF 2.31 tag 0x001F)
    GPSDateTime_utc: str | None = None  # ISO 8601, from GPSDateStamp + GPSTimeStamp
    DateTimeOriginal: str | None = None  # ISO 8601 local time as written by the camera
    OffsetTimeOriginal: str | None = None  # e.g. "+02:00"
    DateTimeDigitized: str | None = None
    DateTime: str | None = None  # file modification time written by the last writer
    Make: str | None = None
    Model: str | None = None
    LensMake: str | None = None
    LensModel: str | None = None
    Software: str | None = None
    Orientation: int | None = None
    BodySerialNumber: str | None = None
    LensSerialNumber: str | None = None
    ImageDescription: str | None = None  # IFD0; MWG reads it before IPTC/XMP captions
    Artist: str | None = None  # IFD0; MWG reads it before IPTC By-line / XMP dc:creator
    LensModelSource: str | None = None  # "ExifIFD:LensModel" or "Canon:LensModel" (maker note)
    thumbnail: bytes | None = field(default=None, repr=False)  # embedded EXIF thumbnail (JPEG bytes)
    claims: MetadataClaims | None = None  # EXIF + IPTC + XMP reconciled (mwg.py); set by inspection.inspect_file
    blocks: list = field(default_factory=list)  # metadata_blocks.BlockValue per block and fact; set likewise
    warnings: list[str] = field(default_factory=list)

    @property
    def has_gps(self) -> bool:
        return self.GPSLatitude is not None and self.GPSLongitude is not None

    @property
    def datetime_original_with_offset(self) -> str | None:
        """DateTimeOriginal with its OffsetTimeOriginal appended when known."""
        if self.DateTimeOriginal is None:
            return None
        return self.DateTimeOriginal + (self.OffsetTimeOriginal or "")


def _text(tag: Any) -> str | None:
    """Printable string value of a tag, stripped of NULs and whitespace; None when empty."""
    if tag is None:
        return None
    values = tag.values
    if isinstance(values, (bytes, bytearray)):
        values = values.decode("utf-8", "replace")
    if not isinstance(values, str):
        values = str(tag.printable)
    cleaned = values.replace("\x00", "").strip()
    return cleaned or None


def _rationals(name: str, tag: Any, expected: int, warnings: list[str]) -> list[Fraction] | None:
    """Tag values as exact fractions, or None with a warning saying what is wrong."""
    values = tag.values
    if tag.field_type not in RATIONAL_TYPES or isinstance(values, (str, bytes)) or not isinstance(values, list):
        shown = FIELD_TYPE_NAMES.get(tag.field_type, str(tag.field_type))
        warnings.append(f"{name} has the wrong type ({shown} instead of RATIONAL: {str(tag.printable)[:40]!r}); "
                        "ignored")
        return None
    if not values:
        warnings.append(f"{name} is present but empty; ignored")
        return None
    out: list[Fraction] = []
    for value in values[:expected]:
        num = getattr(value, "numerator", value)
        den = getattr(value, "denominator", 1)
        if not isinstance(num, int) or not isinstance(den, int):
            warnings.append(f"{name} holds a non-numeric value {value!r}; ignored")
            return None
        if den == 0:
            hint = " (0/0 is what phones write when GPS was off)" if num == 0 else ""
            warnings.append(f"{name} has a zero denominator {num}/0{hint}; ignored")
            return None
        out.append(Fraction(num, den))
    return out


def _coordinate(tags: dict, axis: str, warnings: list[str]) -> float | None:
    """One signed GPS coordinate from its DMS rationals and N/S or E/W ref."""
    name = f"GPS{axis}"
    value_tag = tags.get(f"GPS GPS{axis}")
    ref_tag = tags.get(f"GPS GPS{axis}Ref")
    if value_tag is None:
        if ref_tag is not None:
            warnings.append(f"{name}Ref is present without {name}; no coordinate")
        return None
    dms = _rationals(name, value_tag, 3, warnings)
    if dms is None:
        return None
    degrees = float(sum(part / (60 ** i) for i, part in enumerate(dms)))
    ref = (_text(ref_tag) or "").upper()[:1]
    positive, negative = ("N", "S") if axis == "Latitude" else ("E", "W")
    if ref == negative:
        degrees = -degrees
    elif ref != positive:
        shown = "missing" if ref_tag is None else f"{_text(ref_tag)!r}"
        warnings.append(f"{name}Ref is {shown} (expected {positive} or {negative}): hemisphere unknown; no coordinate")
        return None
    return degrees


def _parse_datetime(name: str, tag: Any, warnings: list[str]) -> str | None:
    """EXIF 'YYYY:MM:DD HH:MM:SS' -> ISO 8601, with a warning when unparseable."""
    raw = _text(tag)
    if raw is None:
        return None
    match = re.match(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})", raw)
    try:
        if not match:
            raise ValueError
        return datetime(*map(int, match.groups())).isoformat()
    except ValueError:
        warnings.append(f"{name} is not a valid date/time: {raw[:40]!r}")
        return None


def _parse_offset(name: str, tag: Any, warnings: list[str]) -> str | None:
    raw = _text(tag)
    if raw is None:
        return None
    match = re.fullmatch(r"([+-])(\d{2}):(\d{2})", raw)
    if not match or int(match.group(2)) > 14 or int(match.group(3)) >= 60:
        warnings.append(f"{name} is not a valid UTC offset: {raw[:20]!r}")
        return None
    return raw


def _gps_datetime(tags: dict, warnings: list[str]) -> str | None:
    date_raw = _text(tags.get("GPS GPSDate"))
    time_tag = tags.get("GPS GPSTimeStamp")
    if date_raw is None or time_tag is None:
        return None
    hms = _rationals("GPSTimeStamp", time_tag, 3, warnings)
    if hms is None or len(hms) < 3:
        return None
    try:
        year, month, day = (int(p) for p in date_raw.split(":"))
        seconds = float(hms[0] * 3600 + hms[1] * 60 + hms[2])
        base = datetime(year, month, day)
        if not 0 <= seconds < 86400:
            raise ValueError
        whole = int(seconds)
        stamp = base.replace(hour=whole // 3600, minute=whole % 3600 // 60, second=whole % 60)
        return stamp.isoformat() + "Z"
    except ValueError:
        warnings.append(f"GPSDateStamp/GPSTimeStamp is not a valid UTC time: {date_raw[:20]!r}")
        return None


def _validate_position(facts: ExifFacts) -> None:
    """Drop coordinates that cannot be real, saying why."""
    lat, lon = facts.GPSLatitude, facts.GPSLongitude
    if lat is None or lon is None:
        if (lat is None) != (lon is None):
            facts.warnings.append("only one of GPSLatitude/GPSLongitude is usable; no coordinate")
        facts.GPSLatitude = facts.GPSLongitude = None
        return
    problem = None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        problem = "GPS coordinates are not finite numbers"
    elif abs(lat) > 90 or abs(lon) > 180:
        problem = f"GPS coordinates out of range (lat {lat:.6f}, lon {lon:.6f}; |lat| must be <= 90, |lon| <= 180)"
    elif lat == 0 and lon == 0:
        problem = "GPS coordinates are (0, 0), 'null island': a placeholder written without a GPS fix"
    if problem:
        facts.warnings.append(problem + "; no coordinate")
        facts.GPSLatitude = facts.GPSLongitude = None


def _exif_blob_via_pillow(data: bytes) -> bytes | None:
    """The raw TIFF-structured EXIF block as Pillow / pillow-heif extract it (for WebP and HEIF,
    whose containers exifread does not always parse), or None."""
    from PIL import Image

    from . import filefacts  # noqa: F401  (registers the HEIF opener)

    try:
        with Image.open(io.BytesIO(data)) as image:
            raw = image.info.get("exif")
    except Exception:
        return None
    if not raw:
        return None
    for marker in (b"II*\x00", b"MM\x00*"):
        position = raw.find(marker, 0, 16)
        if position >= 0:
            return raw[position:]
    return None


def _exifread_tags(data: bytes) -> dict:
    tags = exifread.process_file(io.BytesIO(data), details=False, extract_thumbnail=True)
    return {k: v for k, v in (tags or {}).items() if hasattr(v, "values") or k == "JPEGThumbnail"}


@dataclass
class WrittenValue:
    """A text value read outside exifread (CIFF, X3F properties), shaped like an exifread tag."""

    values: str
    field_type: int = 2
    printable: str = ""


def _bare_ifd_tags(block: bytes, ifd_name: str, tag_dict=None) -> dict:
    """exifread's tags of a TIFF whose first IFD is ``ifd_name`` ("EXIF", "GPS"): CR3 stores its ExifIFD
    and GPS IFD as TIFFs of their own (``raw_formats.cr3_blocks``), which process_file would name "Image"."""
    from exifread.core.exif_header import ExifHeader

    endian = "I" if block[:2] == b"II" else "M"
    header = ExifHeader(io.BytesIO(block), endian, 0, 0, False, False, False, True)
    header.dump_ifd(ifd=header.s2n(4, 4), ifd_name=ifd_name, tag_dict=tag_dict)
    return {k: v for k, v in header.tags.items() if hasattr(v, "values")}


def raw_exif_tags(data: bytes, fmt: str) -> dict:
    """exifread-shaped tags of a RAW file, read from where its container keeps them (``raw_formats``)."""
    from datetime import timezone

    from exifread.tags.exif import GPS_TAGS

    from .ciff import read_ciff
    from .raw_formats import exif_tiffs, x3f_properties

    tags: dict = {}
    for name, block in exif_tiffs(data, fmt):
        if name == "CMT2":
            tags.update(_bare_ifd_tags(block, "EXIF"))
        elif name == "CMT4":
            tags.update(_bare_ifd_tags(block, "GPS", GPS_TAGS))
        elif name != "CMT3":
            tags.update(_exifread_tags(block))
    if fmt == "crw":
        ciff = read_ciff(data)
        for key, value in (("Image Make", ciff.make), ("Image Model", ciff.model),
                           ("EXIF DateTimeOriginal", ciff.datetime_original)):
            if value:
                tags[key] = WrittenValue(value.replace("-", ":").replace("T", " ") if key.startswith("EXIF") else value)
    if fmt == "x3f" and "Image Make" not in tags:
        props = x3f_properties(data)
        for key, prop in (("Image Make", "CAMMANUF"), ("Image Model", "CAMMODEL")):
            if props.get(prop):
                tags[key] = WrittenValue(props[prop])
        if props.get("TIME", "").isdigit():
            stamp = datetime.fromtimestamp(int(props["TIME"]), tz=timezone.utc)
            tags["EXIF DateTimeOriginal"] = WrittenValue(stamp.strftime("%Y:%m:%d %H:%M:%S"))
    return tags


def _maker_note_lens_model(data: bytes) -> str | None:
    """Canon writes the lens name only in its maker note (tag 0x0095), which exifread decodes
    when asked for details. Only then, and only for Canon files without an EXIF LensModel:
    maker notes are the part of EXIF most likely to run away (the worker bounds it)."""
    try:
        tags = exifread.process_file(io.BytesIO(data), details=True, extract_thumbnail=False)
    except Exception:
        return None
    return _text(tags.get("MakerNote LensModel"))


def read_exif(data: bytes) -> ExifFacts:
    """Parse EXIF from file bytes. Never raises: problems become ``warnings``.

    exifread reads the container first; when it finds nothing or fails (its WebP and
    HEIF support misses common layouts), the EXIF block that Pillow / pillow-heif
    extract from the container is parsed by exifread as a bare TIFF structure.
    """
    from .raw_formats import detect_raw

    facts = ExifFacts()
    error: Exception | None = None
    raw_format = detect_raw(data)
    try:
        tags = raw_exif_tags(data, raw_format) if raw_format else _exifread_tags(data)
    except Exception as exc:  # exifread raises many types on hostile input
        tags, error = {}, exc
    if not tags and not raw_format:
        blob = _exif_blob_via_pillow(data)
        if blob:
            try:
                tags, error = _exifread_tags(blob), None
            except Exception as exc:
                error = exc
    if error is not None and not tags:
        facts.warnings.append(f"EXIF could not be parsed ({type(error).__name__}: {str(error)[:120]})")
        return facts
    if not tags:
        facts.warnings.append(NO_EXIF_MESSAGE)
        return facts
    facts.exif_present = True
    warnings = facts.warnings
    try:
        facts.GPSLatitude = _coordinate(tags, "Latitude", warnings)
        facts.GPSLongitude = _coordinate(tags, "Longitude", warnings)
        _validate_position(facts)
        if "GPS GPSAltitude" in tags:
            alt = _rationals("GPSAltitude", tags["GPS GPSAltitude"], 1, warnings)
            if alt:
                ref = tags.get("GPS GPSAltitudeRef")
                below = ref is not None and isinstance(ref.values, list) and ref.values[:1] == [1]
                facts.GPSAltitude_m = -float(alt[0]) if below else float(alt[0])
        if "GPS GPSImgDirection" in tags:
            direction = _rationals("GPSImgDirection", tags["GPS GPSImgDirection"], 1, warnings)
            if direction:
                facts.GPSImgDirection_deg = float(direction[0])
                facts.GPSImgDirectionRef = _text(tags.get("GPS GPSImgDirectionRef"))
        error_tag = tags.get("GPS GPSHPositioningError") or tags.get("GPS Tag 0x001F")  # exifread 3.5 lacks the name
        if error_tag is not None:
            error = _rationals("GPSHPositioningError", error_tag, 1, warnings)
            if error and 0 <= float(error[0]) < 1e6:
                facts.GPSHPositioningError_m = float(error[0])
        facts.GPSDateTime_utc = _gps_datetime(tags, warnings)
        facts.DateTimeOriginal = _parse_datetime("DateTimeOriginal", tags.get("EXIF DateTimeOriginal"), warnings)
        facts.OffsetTimeOriginal = _parse_offset("OffsetTimeOriginal", tags.get("EXIF OffsetTimeOriginal"), warnings)
        facts.DateTimeDigitized = _parse_datetime("DateTimeDigitized", tags.get("EXIF DateTimeDigitized"), warnings)
        facts.DateTime = _parse_datetime("DateTime", tags.get("Image DateTime"), warnings)
        facts.Make = _text(tags.get("Image Make"))
        facts.Model = _text(tags.get("Image Model"))
        facts.LensMake = _text(tags.get("EXIF LensMake"))
        facts.LensModel = _text(tags.get("EXIF LensModel"))
        if facts.LensModel:
            facts.LensModelSource = "ExifIFD:LensModel"
        elif (facts.Make or "").lower().startswith("canon"):
            facts.LensModel = _maker_note_lens_model(data)
            facts.LensModelSource = "Canon:LensModel" if facts.LensModel else None
        facts.ImageDescription = _text(tags.get("Image ImageDescription"))
        facts.Artist = _text(tags.get("Image Artist"))
        facts.Software = _text(tags.get("Image Software"))
        facts.BodySerialNumber = _text(tags.get("EXIF BodySerialNumber"))
        facts.LensSerialNumber = _text(tags.get("EXIF LensSerialNumber"))
        for name in TEXT_FIELDS:  # one documented cap for every string read from the file (text_limits.py)
            setattr(facts, name, cap_text(name, getattr(facts, name), warnings))
        thumbnail = tags.get("JPEGThumbnail")
        if isinstance(thumbnail, (bytes, bytearray)) and thumbnail[:2] == b"\xff\xd8":
            facts.thumbnail = bytes(thumbnail)
        orientation = tags.get("Image Orientation")
        if orientation is not None and isinstance(orientation.values, list) and orientation.values:
            value = orientation.values[0]
            if isinstance(value, int) and 1 <= value <= 8:
                facts.Orientation = value
            else:
                warnings.append(f"Orientation has an invalid value {value!r}; ignored")
    except Exception as exc:  # a tag shape we did not foresee must not lose the rest
        warnings.append(f"EXIF partly unreadable ({type(exc).__name__}: {str(exc)[:120]})")
    return facts
