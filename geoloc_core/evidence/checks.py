"""Metadata consistency checks an analyst can defend: time, time zone, sun, editing traces,
embedded thumbnail, provenance. Each check is a small function returning a ``CheckResult``
with a traffic-light status and one line that says what was found and what it cannot prove.

Statuses: "ok" (consistent), "warn" (a contradiction or an editing trace worth a look),
"info" (a fact, neither for nor against), "n/a" (not enough data to check).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from .exif import ExifFacts
from .forensic_facts import ForensicFacts
from .time_zones import timezone_at  # the border lookup's finder and lock

OK, WARN, INFO, NA = "ok", "warn", "info", "n/a"
TIME_TOLERANCE = timedelta(seconds=120)  # camera clocks drift; GPS fixes lag
WRITTEN_DATE_TOLERANCE = timedelta(days=1)  # a caption date may be local, UTC or the day of filing
THUMBNAIL_MAX_DISTANCE = 10  # of 64 phash bits; re-encoding stays well below, edits go above
NIGHT_ELEVATION_DEG = -6.0  # below civil twilight: no daylight
EDITORS = ("photoshop", "lightroom", "gimp", "snapseed", "affinity", "pixelmator", "paint.net", "canva", "picsart",
           "vsco", "facetune", "luminar", "capture one", "darktable", "rawtherapee", "imagemagick", "photoscape",
           "fotor", "meitu", "airbrush", "photopea", "picasa", "acdsee", "corel", "krita", "remini")
CHECK_NAMES = ("time", "timezone", "sun", "editing", "thumbnail", "provenance", "blocks")
# "metadata blocks disagree" (check_blocks): what counts as the same value in two blocks
BLOCK_TIME_TOLERANCE = timedelta(seconds=2)  # after offsets, when both blocks write one; XMP keeps fractions
BLOCK_GPS_TOLERANCE_M = 100.0  # XMP's DDD,MM.mmmm notation and EXIF's rationals round by under a metre
BRAND_ALIASES = {"konica": "minolta", "asahi": "pentax", "om": "olympus"}  # one maker, two names


@dataclass
class CheckResult:
    name: str
    status: str
    summary: str

    def cell(self) -> str:
        return f"{self.status}: {self.summary}"


def _parse_local(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _offset(text: str | None) -> timedelta | None:
    match = re.fullmatch(r"([+-])(\d{2}):(\d{2})", text or "")
    if not match:
        return None
    delta = timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
    return -delta if match.group(1) == "-" else delta


def _fmt_offset(delta: timedelta) -> str:
    # nearest minute: historic mean times have seconds (Dublin UTC-00:25:21); flooring showed -00:26
    minutes = round(delta.total_seconds() / 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _gps_utc(exif: ExifFacts) -> datetime | None:
    if not exif.GPSDateTime_utc:
        return None
    return datetime.fromisoformat(exif.GPSDateTime_utc.replace("Z", "+00:00"))


def local_capture_time(exif: ExifFacts) -> tuple[datetime | None, timedelta | None, str]:
    """(local capture time, its UTC offset when written, the tag it came from): DateTimeOriginal, else
    the XMP/IPTC date that MWG reconciliation chose (``mwg.py``; a date without a time is not enough)."""
    local = _parse_local(exif.DateTimeOriginal)
    if local:
        return local, _offset(exif.OffsetTimeOriginal), "DateTimeOriginal"
    claims = getattr(exif, "claims", None)
    if claims is not None and claims.capture_time and "T" in claims.capture_time:
        parsed = _parse_local(claims.capture_time)
        if parsed is not None:
            return parsed.replace(tzinfo=None), parsed.utcoffset(), claims.capture_time_source
    return None, None, ""


def capture_time_utc(exif: ExifFacts, point: tuple[float, float] | None,
                     claimed_point: tuple[float, float] | None = None) -> tuple[datetime | None, str]:
    """Best UTC capture time and how it was obtained (stated, because each source can be wrong)."""
    gps = _gps_utc(exif)
    if gps:
        return gps, "GPS time (UTC)"
    local, offset, source = local_capture_time(exif)
    if local and offset is not None:
        with_offset = "OffsetTimeOriginal" if source == "DateTimeOriginal" else "its written UTC offset"
        return (local - offset).replace(tzinfo=timezone.utc), f"{source} with {with_offset}"
    for label, where in (("EXIF point", point), ("claimed place", claimed_point)):
        if local and where:
            zone = timezone_at(*where)
            if zone:
                aware = local.replace(tzinfo=ZoneInfo(zone))
                return aware.astimezone(timezone.utc), f"{source} in the time zone at the {label} ({zone})"
    return None, ""


def check_time(exif: ExifFacts) -> CheckResult:
    original = _parse_local(exif.DateTimeOriginal)
    if original is None:
        claims = getattr(exif, "claims", None)
        if claims is not None and claims.capture_time:
            return CheckResult("time", INFO, f"no DateTimeOriginal; capture time {claims.capture_time} taken from "
                                             f"{claims.capture_time_source} (a written claim, not a camera clock)")
        return CheckResult("time", NA, "no DateTimeOriginal")
    findings, status = [], OK
    modified = _parse_local(exif.DateTime)
    if modified and modified - original > TIME_TOLERANCE:
        status = WARN
        findings.append(f"DateTime {exif.DateTime} is {_span(modified - original)} after DateTimeOriginal: "
                        "the file was written again later (edited or re-saved)")
    digitized = _parse_local(exif.DateTimeDigitized)
    if digitized and abs(digitized - original) > TIME_TOLERANCE:
        status = WARN
        findings.append(f"DateTimeDigitized differs from DateTimeOriginal by {_span(abs(digitized - original))}")
    gps = _gps_utc(exif)
    offset = _offset(exif.OffsetTimeOriginal)
    if gps and offset is not None:
        camera_utc = (original - offset).replace(tzinfo=timezone.utc)
        if abs(camera_utc - gps) > TIME_TOLERANCE:
            status = WARN
            findings.append(f"GPS time {gps:%Y-%m-%d %H:%M:%S} UTC and camera time "
                            f"{camera_utc:%Y-%m-%d %H:%M:%S} UTC disagree by {_span(abs(camera_utc - gps))}")
    elif gps:
        implied = original - gps.replace(tzinfo=None)
        rounded = timedelta(minutes=15 * round(implied.total_seconds() / 900))
        if abs(rounded) <= timedelta(hours=14):
            findings.append(f"GPS time implies the camera clock was set to UTC{_fmt_offset(rounded)}")
        else:
            status = WARN
            findings.append(f"GPS time and DateTimeOriginal are {_span(abs(implied))} apart: no real time zone explains it")
    claims = getattr(exif, "claims", None)
    written = claims.written_date if claims is not None else None
    if written:
        other = _parse_local(written)
        if other is not None:
            apart = abs(other.replace(tzinfo=None) - original) if "T" in written else \
                abs(other.date() - original.date())
            if apart > WRITTEN_DATE_TOLERANCE:
                status = WARN
                findings.append(f"{claims.written_date_source} {written} (the date written for the caption) differs "
                                f"from DateTimeOriginal by {_span(apart)}: re-captioned, or a wrong camera clock")
    if not findings:
        findings.append("DateTimeOriginal, DateTimeDigitized, DateTime and GPS time agree where present" +
                        (f"; so does {claims.written_date_source}" if written else ""))
    return CheckResult("time", status, "; ".join(findings))


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def _claimed_offset(exif: ExifFacts) -> tuple[timedelta | None, str]:
    offset = _offset(exif.OffsetTimeOriginal)
    if offset is not None:
        return offset, f"OffsetTimeOriginal {exif.OffsetTimeOriginal}"
    _, written, source = local_capture_time(exif)
    if written is not None and source != "DateTimeOriginal":
        return written, f"the offset written in {source} ({_fmt_offset(written)})"
    gps, local = _gps_utc(exif), _parse_local(exif.DateTimeOriginal)
    if gps and local:
        implied = timedelta(minutes=15 * round((local - gps.replace(tzinfo=None)).total_seconds() / 900))
        return implied, f"the offset implied by GPS time ({_fmt_offset(implied)})"
    return None, ""


def _offset_at(zone: str, utc: datetime) -> timedelta:
    return utc.astimezone(ZoneInfo(zone)).utcoffset()


def _points(exif_point, pred_point, claimed_point):
    return (("EXIF GPS point", exif_point), ("predicted point", pred_point), ("claimed place", claimed_point))


def _decides(label: str, exif_point) -> bool:
    """The EXIF point sets the status; without one, the written (claimed) place does."""
    return label == "EXIF GPS point" or (label == "claimed place" and exif_point is None)


def check_timezone(exif: ExifFacts, exif_point, pred_point, claimed_point=None) -> CheckResult:
    claimed, source = _claimed_offset(exif)
    utc, _ = capture_time_utc(exif, exif_point, claimed_point)
    if claimed is None or utc is None:
        return CheckResult("timezone", NA, "no UTC offset in the metadata (OffsetTimeOriginal or GPS time)")
    parts, status = [], INFO
    for label, point in _points(exif_point, pred_point, claimed_point):
        if point is None:
            continue
        zone = timezone_at(*point)
        if zone is None:
            parts.append(f"no time zone at the {label} (at sea)")
            continue
        actual = _offset_at(zone, utc)
        agrees = actual == claimed
        parts.append(f"{source} {'matches' if agrees else 'does not match'} {zone} at the {label} "
                     f"(UTC{_fmt_offset(actual)} then)")
        if _decides(label, exif_point):
            status = OK if agrees else WARN
    if not parts:
        return CheckResult("timezone", NA, "no point to compare the offset with")
    return CheckResult("timezone", status, "; ".join(parts))


def sun_position(lat: float, lon: float, utc: datetime) -> tuple[float, float]:
    """(elevation, azimuth) in degrees, refraction-corrected elevation, azimuth clockwise from north."""
    from astral import Observer
    from astral.sun import azimuth, elevation

    observer = Observer(latitude=lat, longitude=lon)
    return float(elevation(observer, utc)), float(azimuth(observer, utc))


def check_sun(exif: ExifFacts, exif_point, pred_point, claimed_point=None) -> CheckResult:
    utc, source = capture_time_utc(exif, exif_point, claimed_point)
    if utc is None or (exif_point is None and pred_point is None and claimed_point is None):
        return CheckResult("sun", NA, "needs a capture time and a point")
    parts, status = [], INFO
    for label, point in _points(exif_point, pred_point, claimed_point):
        if point is None:
            continue
        elevation, azimuth = sun_position(point[0], point[1], utc)
        if elevation < NIGHT_ELEVATION_DEG:
            state = "sun below the horizon (night)"
        elif elevation < 0:
            state = "twilight"
        else:
            state = "sun up"
        parts.append(f"{label}: {state}, elevation {elevation:.1f}°, azimuth {azimuth:.1f}° "
                     f"(shadows point to {(azimuth + 180) % 360:.0f}°)")
        if _decides(label, exif_point):
            status = WARN if elevation < NIGHT_ELEVATION_DEG else OK
    summary = "; ".join(parts) + f" at {utc:%Y-%m-%d %H:%M} UTC ({source})"
    if status == WARN:
        summary += ": a daylight photo would contradict the claimed place and time"
    return CheckResult("sun", status, summary)


def check_editing(exif: ExifFacts, facts: ForensicFacts | None) -> CheckResult:
    traces = []
    software = (exif.Software or "").lower()
    editor = next((name for name in EDITORS if name in software), None)
    if editor:
        traces.append(f"Software names an editor: {exif.Software}")
    creator = (facts.xmp_creator_tool if facts else None) or ""
    if creator and any(name in creator.lower() for name in EDITORS):
        traces.append(f"XMP CreatorTool names an editor: {creator}")
    markers = [m for m in (facts.markers if facts else []) if m != "XMP metadata packet"]
    traces += markers
    if traces:
        return CheckResult("editing", WARN, "; ".join(traces) + " (editing is not forgery: crops and exposure "
                                                                  "fixes are common)")
    if not exif.exif_present:
        return CheckResult("editing", INFO, "metadata stripped, as most platforms do on upload: proves nothing")
    return CheckResult("editing", OK, "no editor named in Software or XMP, no Photoshop or re-sharing markers")


def check_thumbnail(facts: ForensicFacts | None) -> CheckResult:
    if facts is None or facts.thumbnail_distance is None:
        return CheckResult("thumbnail", NA, "no embedded EXIF thumbnail")
    distance = facts.thumbnail_distance
    if distance > THUMBNAIL_MAX_DISTANCE:
        return CheckResult("thumbnail", WARN, f"embedded thumbnail differs from the image (perceptual hash distance "
                                              f"{distance}/64): the picture changed after the thumbnail was written")
    return CheckResult("thumbnail", OK, f"embedded thumbnail matches the image (distance {distance}/64)")


def check_provenance(facts: ForensicFacts | None) -> CheckResult:
    c2pa = facts.c2pa if facts else None
    if not c2pa:
        return CheckResult("provenance", NA, "not checked")
    if not c2pa.get("present"):
        note = f" ({c2pa['error']})" if c2pa.get("error") else ""
        return CheckResult("provenance", INFO, f"content credentials (C2PA): none{note}")
    state = c2pa.get("validation_state") or "unknown"
    status = OK if str(state).lower() in ("valid", "trusted") else WARN
    actions = ", ".join(a for a in c2pa.get("actions", []) if a) or "none recorded"
    return CheckResult("provenance", status, f"C2PA manifest, validation {state}; signer {c2pa.get('signer')}; "
                                             f"claim generator {c2pa.get('claim_generator')}; actions: {actions}")


def _brand(make: str) -> str:
    """"NIKON CORPORATION" and "Nikon" -> "nikon": the first word, lowercased, aliases merged."""
    word = re.sub(r"[^a-z0-9 ]", " ", make.lower()).split()
    first = word[0] if word else ""
    return BRAND_ALIASES.get(first, first)


def _model_key(model: str, brands: set[str]) -> str:
    key = re.sub(r"[^a-z0-9]", "", model.lower())
    for brand in brands:
        key = key.replace(brand, "")
    return key


def _block_time(text: str) -> datetime | None:
    return _parse_local(text)


def _time_gap(a: datetime, b: datetime) -> timedelta:
    if a.tzinfo is not None and b.tzinfo is not None:
        return abs(a - b)
    return abs(a.replace(tzinfo=None) - b.replace(tzinfo=None))  # one block without an offset: wall clocks


def _gps_gap_m(a: str, b: str) -> float:
    from math import asin, cos, radians, sin, sqrt

    (lat1, lon1), (lat2, lon2) = (tuple(map(float, v.split(","))) for v in (a, b))
    h = sin(radians(lat2 - lat1) / 2) ** 2 + cos(radians(lat1)) * cos(radians(lat2)) * sin(radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371008.8 * asin(min(1.0, sqrt(h)))


def _quoted(value) -> str:
    return f"'{value.value}'"


def _disagreement(fact: str, values: list) -> str | None:
    """The first pair of blocks that disagree on ``fact`` beyond its tolerance, in words; None if they agree."""
    brands = {_brand(v.value) for v in values if v.fact == "make"}
    for i, a in enumerate(values):
        for b in values[i + 1:]:
            if fact == "make" and _brand(a.value) != _brand(b.value):
                return f"camera make: {a.tag} {_quoted(a)} vs {b.tag} {_quoted(b)}"
            if fact == "model" and len(brands) <= 1:
                key_a, key_b = _model_key(a.value, brands), _model_key(b.value, brands)
                if key_a and key_b and key_a not in key_b and key_b not in key_a:
                    return f"camera model: {a.tag} {_quoted(a)} vs {b.tag} {_quoted(b)}"
            if fact in ("capture time", "digitised time"):
                ta, tb = _block_time(a.value), _block_time(b.value)
                if ta and tb and _time_gap(ta, tb) > BLOCK_TIME_TOLERANCE:
                    return f"{fact}: {a.tag} {a.value} vs {b.tag} {b.value} ({_span(_time_gap(ta, tb))} apart)"
            if fact == "gps":
                gap = _gps_gap_m(a.value, b.value)
                if gap > BLOCK_GPS_TOLERANCE_M:
                    shown = f"{gap / 1000:.1f} km" if gap >= 1000 else f"{gap:.0f} m"
                    return f"GPS: {a.tag} {a.value} vs {b.tag} {b.value} ({shown} apart)"
            if fact == "serial" and a.value.lstrip("0").replace(" ", "") != b.value.lstrip("0").replace(" ", ""):
                return f"serial number: {a.tag} {_quoted(a)} vs {b.tag} {_quoted(b)}"
    return None


def check_blocks(exif: ExifFacts) -> CheckResult:
    """"Metadata blocks disagree": the camera, times, GPS and serial as every block writes them
    (``metadata_blocks.py``), compared within BLOCK_TIME_TOLERANCE and BLOCK_GPS_TOLERANCE_M."""
    values = getattr(exif, "blocks", None) or []
    facts = ("make", "model", "capture time", "digitised time", "gps", "serial")
    by_fact = {fact: [v for v in values if v.fact == fact] for fact in facts}
    compared = [fact for fact in facts if len({v.block for v in by_fact[fact]}) >= 2 or len(by_fact[fact]) >= 2]
    if not compared:
        return CheckResult("blocks", NA, "no fact is written by two metadata blocks")
    found = [d for d in (_disagreement(fact, by_fact[fact]) for fact in compared) if d]
    blocks = ", ".join(dict.fromkeys(v.block for fact in compared for v in by_fact[fact]))
    if found:
        return CheckResult("blocks", WARN, "metadata blocks disagree (one file, two stories): " + "; ".join(found) +
                           " (a block rewritten by one tool, or blocks copied from another file)")
    return CheckResult("blocks", OK, f"{blocks} agree on {', '.join(compared)}")


def run_checks(exif: ExifFacts | None, facts: ForensicFacts | None, exif_point, pred_point,
               claimed_point=None) -> list[CheckResult]:
    """All checks; ``claimed_point`` is the written (IPTC/XMP) place when it was located."""
    if exif is None:
        return [CheckResult(name, NA, "not an analysable image") for name in CHECK_NAMES]
    return [check_time(exif), check_timezone(exif, exif_point, pred_point, claimed_point),
            check_sun(exif, exif_point, pred_point, claimed_point),
            check_editing(exif, facts), check_thumbnail(facts), check_provenance(facts), check_blocks(exif)]
