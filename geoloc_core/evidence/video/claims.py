"""What a video container claims about where, when and with what it was recorded.

Tags as FFmpeg exposes them (PyAV's ``container.metadata`` / ``stream.metadata``):

* time: ``com.apple.quicktime.creationdate`` (local time with its offset, what an iPhone writes:
  preferred, because the offset places it), QuickTime/Matroska ``creation_time`` (UTC; Matroska's
  ``DateUTC`` arrives under this name), AVI ``IDIT`` / RIFF ``ICRD`` (FFmpeg: ``date`` / ``creation_time``);
* place: ISO 6709 strings in QuickTime ``©xyz`` (FFmpeg: ``location``), Apple's
  ``com.apple.quicktime.location.ISO6709`` and Android's ``location``;
* device: ``com.apple.quicktime.make`` / ``make``, ``.model`` / ``model``, ``.software`` / ``encoder``.

Field names follow exiftool's (``GPSLatitude``, ``CreateDate``, ``Rotation``) so a value has one
name on screen, in exports and in ``exiftool -n``; ``Rotation`` is exiftool's too: the degrees to
turn the picture clockwise for display.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from ..text_limits import cap_text

# ±DD.DDDD±DDD.DDDD[±AAA.AAA][CRS]/ ; degrees-minutes(-seconds) forms too (ISO 6709 Annex H)
_ISO6709 = re.compile(r"^\s*(?P<lat>[+-]\d{2,6}(?:\.\d+)?)(?P<lon>[+-]\d{3,7}(?:\.\d+)?)(?P<alt>[+-]\d+(?:\.\d+)?)?"
                      r"(?:CRS[^/]*)?/?\s*$")
TIME_TAGS = ("com.apple.quicktime.creationdate", "creation_time", "date", "DateUTC", "IDIT", "ICRD")
LOCATION_TAGS = ("com.apple.quicktime.location.ISO6709", "location", "location-eng", "©xyz")
MAKE_TAGS = ("com.apple.quicktime.make", "make", "manufacturer")
MODEL_TAGS = ("com.apple.quicktime.model", "model")
SOFTWARE_TAGS = ("com.apple.quicktime.software", "software", "encoder", "ENCODER", "encoding_tool")
_EPOCH_PLACEHOLDERS = ("1904-01-01", "1970-01-01")  # QuickTime and Unix zero: "no time written"


@dataclass
class ContainerClaims:
    """A container's claims and stream facts, in exiftool's field names, units in the name."""

    format_name: str = ""  # FFmpeg's demuxer, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    codec: str = ""  # the first video stream's codec, e.g. "h264"
    Duration_s: float | None = None
    ImageWidth: int | None = None  # as stored (before Rotation)
    ImageHeight: int | None = None
    VideoFrameRate: float | None = None
    Rotation: int = 0  # degrees clockwise to display upright (exiftool's Composite:Rotation)
    CreateDate: str | None = None  # ISO 8601 as written (local time, or UTC with "Z")
    CreateDate_offset: str | None = None  # "+02:00"; "+00:00" for a UTC-only tag
    CreateDate_source: str = ""  # the tag it came from
    GPSLatitude: float | None = None
    GPSLongitude: float | None = None
    GPSAltitude_m: float | None = None
    location_source: str = ""
    Make: str | None = None
    Model: str | None = None
    Software: str | None = None
    Title: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def datetime_with_offset(self) -> str | None:
        """"YYYY-MM-DDTHH:MM:SS+HH:MM" when both are known (what EXIF's DateTimeOriginal + offset gives)."""
        if self.CreateDate is None:
            return None
        return self.CreateDate + (self.CreateDate_offset or "")


def parse_iso6709(text: str) -> tuple[float, float, float | None]:
    """(lat, lon, altitude or None) from an ISO 6709 string such as "+48.8584+002.2945+035.000/".

    Decimal degrees and the DDMM(SS) forms; raises ValueError naming what is wrong."""
    match = _ISO6709.match(text or "")
    if match is None:
        raise ValueError("not an ISO 6709 coordinate")
    lat = _iso6709_degrees(match.group("lat"), 2)
    lon = _iso6709_degrees(match.group("lon"), 3)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"coordinate out of range ({lat:g}, {lon:g})")
    alt = float(match.group("alt")) if match.group("alt") else None
    return lat, lon, alt


def _iso6709_degrees(value: str, degree_digits: int) -> float:
    sign = -1.0 if value[0] == "-" else 1.0
    whole, _, fraction = value[1:].partition(".")
    frac = float("0." + fraction) if fraction else 0.0
    if len(whole) == degree_digits:  # ±DD.DDD
        return sign * (int(whole) + frac)
    if len(whole) == degree_digits + 2:  # ±DDMM.MMM
        minutes = int(whole[degree_digits:]) + frac
        return sign * (int(whole[:degree_digits]) + minutes / 60)
    if len(whole) == degree_digits + 4:  # ±DDMMSS.SSS
        seconds = int(whole[degree_digits + 2:]) + frac
        return sign * (int(whole[:degree_digits]) + int(whole[degree_digits:degree_digits + 2]) / 60 + seconds / 3600)
    raise ValueError("not an ISO 6709 coordinate")


def parse_capture_time(text: str) -> tuple[str, str | None]:
    """(local ISO time "YYYY-MM-DDTHH:MM:SS", offset "+HH:MM" or None) from the forms containers write:
    "2024-05-01T10:20:30.000000Z", "2024-05-01T12:20:30+0200", "2024:05:01 12:20:30+02:00", AVI's
    "MON MAY 01 12:20:30 2024". Raises ValueError for anything else or a placeholder epoch."""
    text = (text or "").strip().rstrip("\x00").strip()
    match = re.match(r"^(\d{4})[-:](\d{2})[-:](\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?$",
                     text)
    if match:
        y, mo, d, h, mi, s, zone = match.groups()
        stamp = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))
        offset = None if zone is None else "+00:00" if zone in ("Z", "UTC") else f"{zone[:3]}:{zone[-2:]}"
    else:
        try:  # AVI IDIT: ctime's layout
            stamp, offset = datetime.strptime(text.title(), "%a %b %d %H:%M:%S %Y"), None
        except ValueError:
            raise ValueError("not a date and time") from None
    iso = stamp.isoformat(timespec="seconds")
    if iso[:10] in _EPOCH_PLACEHOLDERS:
        raise ValueError("a zero (placeholder) date")
    return iso, offset


def read_container_claims(container, stream, rotation: int) -> ContainerClaims:
    """The claims of an open PyAV ``container`` and its video ``stream``. Never raises for a bad value:
    a malformed tag becomes a warning naming the tag."""
    tags = {**_tags(stream), **_tags(container)}  # the container's tags win where both write one
    claims = ContainerClaims(format_name=container.format.name, codec=stream.codec_context.name or "")
    if container.duration is not None and container.duration > 0:
        claims.Duration_s = container.duration / 1_000_000
    elif stream.duration is not None and stream.time_base is not None:
        claims.Duration_s = float(stream.duration * stream.time_base)
    claims.ImageWidth, claims.ImageHeight = stream.codec_context.width or None, stream.codec_context.height or None
    rate = stream.average_rate or stream.guessed_rate
    claims.VideoFrameRate = float(rate) if rate else None
    claims.Rotation = (-int(rotation)) % 360
    for tag in TIME_TAGS:
        if tags.get(tag):
            try:
                claims.CreateDate, claims.CreateDate_offset = parse_capture_time(tags[tag])
                claims.CreateDate_source = tag
                break
            except ValueError as exc:
                claims.warnings.append(f"capture time in {tag} unreadable ({exc})")
    for tag in LOCATION_TAGS:
        if tags.get(tag):
            try:
                lat, lon, alt = parse_iso6709(tags[tag])
            except ValueError as exc:
                claims.warnings.append(f"location in {tag} unreadable ({exc})")
                continue
            if lat == 0 and lon == 0:
                claims.warnings.append(f"location in {tag} is 0, 0 (a placeholder, not a place)")
                continue
            claims.GPSLatitude, claims.GPSLongitude, claims.GPSAltitude_m = lat, lon, alt
            claims.location_source = tag
            break
    claims.Make = _first(tags, MAKE_TAGS, "Make", claims.warnings)
    claims.Model = _first(tags, MODEL_TAGS, "Model", claims.warnings)
    claims.Software = _first(tags, SOFTWARE_TAGS, "Software", claims.warnings)
    claims.Title = _first(tags, ("title", "com.apple.quicktime.title"), "Title", claims.warnings)
    return claims


def _tags(obj) -> dict[str, str]:
    try:
        return {str(k): str(v) for k, v in (obj.metadata or {}).items()}
    except Exception:  # a tag FFmpeg could not decode as text
        return {}


def _first(tags: dict[str, str], names: tuple[str, ...], field_name: str, warnings: list[str]) -> str | None:
    for name in names:
        value = tags.get(name)
        if value and value.strip():
            return cap_text(field_name, value.strip(), warnings)
    return None


def utc_of(claims: ContainerClaims) -> datetime | None:
    """The capture time in UTC when its offset is known."""
    if claims.CreateDate is None or claims.CreateDate_offset is None:
        return None
    sign = -1 if claims.CreateDate_offset[0] == "-" else 1
    hours, minutes = claims.CreateDate_offset[1:].split(":")
    local = datetime.fromisoformat(claims.CreateDate)
    return (local - sign * timedelta(hours=int(hours), minutes=int(minutes))).replace(tzinfo=timezone.utc)
