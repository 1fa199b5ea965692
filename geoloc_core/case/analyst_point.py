"""The analyst's own point: where the analyst places the photo by hand (a Street View match, a landmark),
verified against the file's EXIF GPS and its written place the way a model's point is.

Why: a manual geolocation is often the strongest statement in a report, and it is the analyst's, not
geoloc's. It sits beside the file's own claims, is checked against them by the witnesses' rules and words
(``verification.verify``, with the analyst's point in the witness's role: a point without regions, so the
fixed distances of the verdict rules apply), and travels with the finding into every export and report,
always labelled as the analyst's. The tool's own verdict is never changed by it.

Pasted coordinates are read with geopy's grammar (``geopy.point.Point``: decimal degrees, N/S/E/W before or
after, degrees-minutes-seconds with ° ' " or ′ ″ or d m s; latitude first), but strictly. geopy's own
``from_string`` skips any text before the pair it finds and wraps out-of-range longitudes, so
"50 46 31 N 6 5 2 E" read as 5.0, 2.0, the decimal commas of "50,7753 6,0839" as 6.0, 119.0 and
"50.7753, 200" as -160.0. Here the pair must start at the first character, minutes and seconds must be under
60, a minus sign with a hemisphere letter is refused as ambiguous, and an out-of-range value is refused with
its own message: nothing is guessed or normalised. A refusal is geoloc's own sentence and never repeats
the pasted text.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from datetime import datetime, timezone

from ..model.prediction import Prediction
from ..places.geocoding import Place, ReverseGeocoder
from .findings import ANALYST_POINT_LABEL as LABEL
from .findings import ANALYST_POINT_PREFIX, Finding
from .verification import NO_GPS, VerdictThresholds, verify

MAX_TEXT_CHARS = 200  # a coordinate pair is short; geopy refuses anything over 256 (its ReDoS guard)
WITNESS = "the analyst's point"
NO_CLAIM = "cannot verify: no place written"
CLAIM_NOT_LOCATED = "cannot verify: claimed place not located"
UNKNOWN_FORMAT = ("not a coordinate pair: write latitude then longitude, in decimal degrees (50.7753, 6.0839), "
                  "with N/S/E/W (50.7753 N, 6.0839 E) or in degrees, minutes and seconds (50°46'31\"N 6°05'02\"E)")
_HEMISPHERE = re.compile(r"(?<![A-Za-z0-9])([nsew])(?![A-Za-z])")  # a lone n/s/e/w; never the "s" of 31s


class CoordinateError(ValueError):
    """Pasted text that is not one coordinate pair; the message says what is wrong, in geoloc's words."""


@dataclass(frozen=True)
class AnalystPoint:
    """Where the analyst places the photo, with their note on how they found it, who and when (UTC)."""

    lat: float
    lon: float
    note: str = ""
    analyst: str = ""
    placed_at_utc: str = ""

    @classmethod
    def now(cls, lat: float, lon: float, note: str = "", analyst: str = "") -> "AnalystPoint":
        return cls(lat, lon, note, analyst.strip(), datetime.now(timezone.utc).isoformat(timespec="seconds"))


def _number(value: str | None) -> str:
    return f"{float(value):g}" if value else ""


def parse_coordinates(text: str) -> tuple[float, float]:
    """(lat, lon) in degrees from pasted text, or ``CoordinateError`` saying what is wrong (see the module
    docstring for the formats and why geopy's parser is held to the whole text)."""
    from geopy.point import Point  # geopy loads with the first pasted point, not at start

    cleaned = (text or "").strip()
    if not cleaned:
        raise CoordinateError("no coordinates given: paste latitude and longitude, e.g. 50.7753, 6.0839")
    if len(cleaned) > MAX_TEXT_CHARS:
        raise CoordinateError(f"too long for a coordinate pair ({len(cleaned):,} characters; at most "
                              f"{MAX_TEXT_CHARS})")
    # "º" (the ordinal sign, typed for the degree sign on many keyboards) and a lower-case hemisphere letter
    cleaned = _HEMISPHERE.sub(lambda m: m.group(1).upper(), cleaned.replace("º", "°").replace("''", '"'))
    match = Point.POINT_PATTERN.match(cleaned)
    if match is None or match.start("latitude") != 0:
        raise CoordinateError(UNKNOWN_FORMAT)
    values = []
    for axis in ("latitude", "longitude"):
        degrees = match.group(f"{axis}_degrees")
        minutes, seconds = match.group(f"{axis}_arcminutes"), match.group(f"{axis}_arcseconds")
        direction = match.group(f"{axis}_direction_front") or match.group(f"{axis}_direction_back")
        for part, value in (("minutes", minutes), ("seconds", seconds)):
            if value is not None and float(value) >= 60:
                raise CoordinateError(f"{axis} {part} must be under 60 (got {_number(value)})")
        if (minutes or seconds) and "." in degrees:
            raise CoordinateError(f"{axis}: degrees with a fraction cannot also have minutes or seconds")
        if direction and degrees.startswith(("-", "+")):
            raise CoordinateError(f"{axis}: a sign and a hemisphere letter together are ambiguous; write "
                                  "one of them")
        values.append(Point.parse_degrees(degrees, minutes or 0, seconds or 0, direction))
    lat, lon = values
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise CoordinateError(UNKNOWN_FORMAT)
    if abs(lat) > 90:
        hint = "; was longitude written first? write latitude first" if abs(lon) <= 90 else ""
        raise CoordinateError(f"latitude {lat:g} is outside -90 to 90{hint}")
    if abs(lon) > 180:
        raise CoordinateError(f"longitude {lon:g} is outside -180 to 180")
    return lat, lon


def _exif_place(finding: Finding) -> Place | None:
    if finding.exif_lat is None:
        return None
    return Place(finding.exif_country, finding.exif_country_code, finding.exif_continent, None, None)


def _claimed_place(finding: Finding) -> Place | None:
    if not finding.claimed_country_code:
        return None
    return Place(finding.claimed_country, finding.claimed_country_code, None, finding.claimed_place_found, None)


def place_point(finding: Finding, point: AnalystPoint, geocoder: ReverseGeocoder | None = None,
                thresholds: VerdictThresholds = VerdictThresholds()) -> Finding:
    """``finding`` (changed in place and returned) with the analyst's point, its place (``geocoder``: the one
    the analysis used; None: no country, so no country comparison) and its verification against EXIF GPS and
    the written place."""
    clear_point(finding)
    place = geocoder.reverse(point.lat, point.lon) if geocoder is not None else None
    finding.analyst_point_lat, finding.analyst_point_lon = point.lat, point.lon
    finding.analyst_point_note, finding.analyst_point_by = point.note, point.analyst
    finding.analyst_point_at_utc = point.placed_at_utc
    if place is not None:
        finding.analyst_point_country, finding.analyst_point_country_code = place.country, place.country_code
        finding.analyst_point_nearest_place = place.nearest_place
    as_witness = Prediction(point.lat, point.lon)  # no regions: the verdict rules' fixed distances apply
    words = dict(thresholds=thresholds, witness=WITNESS, point=WITNESS, point_country=f"{WITNESS} in")
    if finding.exif_lat is None:
        finding.analyst_point_exif_verdict = NO_GPS
        finding.analyst_point_exif_reason = f"the file carries no usable EXIF GPS to compare {WITNESS} with"
    else:
        result = verify((finding.exif_lat, finding.exif_lon), as_witness, _exif_place(finding), place, **words)
        finding.analyst_point_exif_distance_km, finding.analyst_point_exif_band = result.distance_km, result.band
        finding.analyst_point_exif_verdict, finding.analyst_point_exif_reason = result.verdict, result.reason
    if finding.claimed_lat is not None and finding.claimed_lon is not None:
        result = verify((finding.claimed_lat, finding.claimed_lon), as_witness, _claimed_place(finding), place,
                        subject="the claimed place", **words)
        finding.analyst_point_claim_distance_km, finding.analyst_point_claim_band = result.distance_km, result.band
        finding.analyst_point_claim_verdict, finding.analyst_point_claim_reason = result.verdict, result.reason
    elif finding.claimed_country_code and place is not None and place.country_code:
        # only a country is written (or the place is ambiguous within it): the countries are compared, as
        # for the prediction (case/claims.py)
        same = place.country_code == finding.claimed_country_code
        finding.analyst_point_claim_verdict = "country matches" if same else "country differs"
        finding.analyst_point_claim_reason = (f"only the country of the claim is located "
                                              f"({finding.claimed_country or finding.claimed_country_code}); "
                                              f"{WITNESS} lies in {place.country}")
    elif finding.claimed_place_text:
        finding.analyst_point_claim_verdict = CLAIM_NOT_LOCATED
        finding.analyst_point_claim_reason = finding.claim_note or "nothing to compare"
    else:
        finding.analyst_point_claim_verdict = NO_CLAIM
        finding.analyst_point_claim_reason = "the file writes no place in its caption, IPTC or XMP"
    return finding


def clear_point(finding: Finding) -> Finding:
    """``finding`` (changed in place and returned) without an analyst's point."""
    for field in fields(Finding):
        if field.name.startswith(ANALYST_POINT_PREFIX):
            setattr(finding, field.name, field.default)
    return finding


def summary_lines(finding: Finding) -> list[tuple[str, str]]:
    """(label, text) rows of the analyst's point, in the same words for the page, the reports and the KML
    balloon; [] when none is placed. Raw text: each format escapes it by its own rules."""
    if finding.analyst_point_lat is None:
        return []
    f = finding

    def compared(distance: float | None, band: str | None, verdict: str, reason: str) -> str:
        head = f"{verdict} ({distance:,.1f} km, {band} band)" if distance is not None else verdict
        return f"{head}: {reason}" if reason else head

    country = f"{f.analyst_point_country} ({f.analyst_point_country_code})" if f.analyst_point_country else ""
    return [(f"{LABEL} lat, lon (deg)", f"{f.analyst_point_lat:.6f}, {f.analyst_point_lon:.6f}"),
            ("Country", country), ("Nearest place", f.analyst_point_nearest_place or ""),
            ("Placed by", f.analyst_point_by or "not given"), ("Placed (UTC)", f.analyst_point_at_utc),
            ("Analyst's note", f.analyst_point_note or "none"),
            ("EXIF GPS vs the analyst's point", compared(f.analyst_point_exif_distance_km, f.analyst_point_exif_band,
                                                          f.analyst_point_exif_verdict, f.analyst_point_exif_reason)),
            ("Written place vs the analyst's point", compared(f.analyst_point_claim_distance_km,
                                                               f.analyst_point_claim_band,
                                                               f.analyst_point_claim_verdict,
                                                               f.analyst_point_claim_reason))]
