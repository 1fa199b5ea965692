"""Shadows that locate: where on Earth did the sun stand this way at this time?

A shadow of length ``L`` cast by an object of height ``H`` means a sun elevation of
``atan(H / L)``. At one instant, the places where the sun has a given elevation form
a small circle around the subsolar point; a tolerance on the elevation makes it a band,
a tolerance on the time sweeps the band east-west, and the shadow's compass bearing
(the sun's azimuth is the opposite direction) keeps only the arc where the sun stood
in that direction. Bellingcat's ShadowFinder is the reference for the idea; this one is
offline and combines with the model's region and the metadata's UTC offset.

Why a grid and not an analytic circle: the band may contain a pole, cross the
antimeridian, or be cut by the bearing and by time zones; on a regular latitude /
longitude grid all of those are one boolean mask, and the elevation range over a time
window is exact per cell (sun elevation depends on time only through the hour angle,
whose extremes over an interval are at its ends or at local noon / midnight). Cells
are 0.1 deg by default (about 11 km), well inside the 1 deg (about 110 km) an elevation
tolerance of one degree spans.

The solar position is NOAA's (the algorithm behind SunCalc and astral), computed here
vectorised; the tests compare it with astral's independent implementation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np

from .geodesy import EARTH_RADIUS_KM, geodesic_km

MAX_CELLS_FOR_TIMEZONES = 400_000


@dataclass(frozen=True)
class SubsolarPoint:
    """Where the sun is at the zenith: latitude = the sun's declination (degrees)."""

    lat: float
    lon: float


@dataclass
class ShadowBand:
    """The places consistent with a sun observation, as a lat/lon cell mask plus its summary."""

    time_utc: datetime
    elevation_deg: float
    elevation_tolerance_deg: float
    time_tolerance_min: float
    azimuth_deg: float | None  # the sun's azimuth (shadow bearing + 180), if a bearing was given
    resolution_deg: float
    lats: np.ndarray  # cell-centre latitudes, south to north
    lons: np.ndarray  # cell-centre longitudes, west to east
    mask: np.ndarray  # (len(lats), len(lons)) bool
    subsolar: SubsolarPoint
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not bool(self.mask.any())

    def area_km2(self) -> float:
        """Exact area of the selected cells on a sphere of the mean Earth radius."""
        half = math.radians(self.resolution_deg) / 2
        rows = np.radians(self.lats)
        row_area = EARTH_RADIUS_KM**2 * math.radians(self.resolution_deg) * (np.sin(rows + half) - np.sin(rows - half))
        return float((self.mask.sum(axis=1) * row_area).sum())

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        rows, cols = np.nonzero(self.mask)
        return self.lats[rows], self.lons[cols]

    def contains(self, lat: float, lon: float) -> bool:
        row = int(np.clip(np.searchsorted(self.lats + self.resolution_deg / 2, lat), 0, len(self.lats) - 1))
        col = int(np.clip(np.searchsorted(self.lons + self.resolution_deg / 2, lon), 0, len(self.lons) - 1))
        return bool(self.mask[row, col])


def sun_elevation_from_shadow(object_height: float, shadow_length: float) -> float:
    """Sun elevation (degrees) from an object's height and its shadow's length (same units)."""
    if not (object_height > 0 and shadow_length > 0):
        raise ValueError("object height and shadow length must both be positive numbers")
    return math.degrees(math.atan2(object_height, shadow_length))


def _solar_terms(when: datetime) -> tuple[float, float]:
    """(declination in degrees, equation of time in minutes), NOAA's formulas."""
    when = when.astimezone(timezone.utc)
    jd = when.timestamp() / 86400.0 + 2440587.5
    jc = (jd - 2451545.0) / 36525.0
    l0 = (280.46646 + jc * (36000.76983 + jc * 0.0003032)) % 360
    m = 357.52911 + jc * (35999.05029 - 0.0001537 * jc)
    e = 0.016708634 - jc * (0.000042037 + 0.0000001267 * jc)
    mr = math.radians(m)
    c = (math.sin(mr) * (1.914602 - jc * (0.004817 + 0.000014 * jc)) + math.sin(2 * mr) * (0.019993 - 0.000101 * jc)
         + math.sin(3 * mr) * 0.000289)
    omega = math.radians(125.04 - 1934.136 * jc)
    app_long = math.radians(l0 + c - 0.00569 - 0.00478 * math.sin(omega))
    mean_obliq = 23 + (26 + (21.448 - jc * (46.815 + jc * (0.00059 - jc * 0.001813))) / 60) / 60
    obliq = math.radians(mean_obliq + 0.00256 * math.cos(omega))
    decl = math.degrees(math.asin(math.sin(obliq) * math.sin(app_long)))
    y = math.tan(obliq / 2) ** 2
    l0r = math.radians(l0)
    eot = 4 * math.degrees(y * math.sin(2 * l0r) - 2 * e * math.sin(mr) + 4 * e * y * math.sin(mr) * math.cos(2 * l0r)
                           - 0.5 * y * y * math.sin(4 * l0r) - 1.25 * e * e * math.sin(2 * mr))
    return decl, eot


def subsolar_point(when: datetime) -> SubsolarPoint:
    """The point where the sun stands at the zenith at ``when`` (aware datetime)."""
    if when.tzinfo is None:
        raise ValueError("the time must carry its UTC offset (e.g. 2024-06-21T11:50:00Z)")
    decl, eot = _solar_terms(when)
    utc = when.astimezone(timezone.utc)
    hours = utc.hour + utc.minute / 60 + (utc.second + utc.microsecond / 1e6) / 3600
    lon = -15.0 * (hours - 12.0 + eot / 60.0)
    return SubsolarPoint(decl, (lon + 180.0) % 360.0 - 180.0)


def sun_position(lat, lon, when: datetime) -> tuple[np.ndarray, np.ndarray]:
    """Geometric sun (elevation, azimuth from north, clockwise) in degrees at points, no refraction."""
    sub = subsolar_point(when)
    return _elevation_azimuth(np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float)), sub)


def _elevation_azimuth(phi, lam, sub: SubsolarPoint):
    delta, lam_s = math.radians(sub.lat), math.radians(sub.lon)
    hour = lam - lam_s  # hour angle: 0 at local solar noon
    sin_e = np.sin(phi) * math.sin(delta) + np.cos(phi) * math.cos(delta) * np.cos(hour)
    elevation = np.degrees(np.arcsin(np.clip(sin_e, -1, 1)))
    # azimuth of the subsolar point seen from each cell (the sun's direction), clockwise from north
    y = math.cos(delta) * np.sin(-hour)
    x = np.cos(phi) * math.sin(delta) - np.sin(phi) * math.cos(delta) * np.cos(hour)
    azimuth = (np.degrees(np.arctan2(y, x)) + 360) % 360
    return elevation, azimuth


def shadow_band(when: datetime, elevation_deg: float, *, elevation_tolerance_deg: float = 1.0,
                time_tolerance_min: float = 0.0, shadow_bearing_deg: float | None = None,
                bearing_tolerance_deg: float = 5.0, resolution_deg: float = 0.1) -> ShadowBand:
    """Every grid cell where the sun's elevation could have been ``elevation_deg`` (+- tolerance)
    at some moment within ``when`` +- ``time_tolerance_min``; with a shadow bearing, only where the
    sun stood opposite that bearing (+- ``bearing_tolerance_deg``)."""
    if not -90 <= elevation_deg <= 90:
        raise ValueError(f"sun elevation {elevation_deg} deg is outside -90..90")
    if elevation_tolerance_deg < 0 or time_tolerance_min < 0 or bearing_tolerance_deg < 0:
        raise ValueError("tolerances must not be negative")
    if not 0.01 <= resolution_deg <= 5:
        raise ValueError("resolution must be between 0.01 and 5 degrees")
    sub = subsolar_point(when)
    rows, cols = int(round(180 / resolution_deg)), int(round(360 / resolution_deg))
    if abs(rows * resolution_deg - 180) > 1e-9 or abs(cols * resolution_deg - 360) > 1e-9:
        raise ValueError(f"resolution {resolution_deg} deg does not divide 180 and 360 evenly")
    lats = np.round(-90 + (np.arange(rows) + 0.5) * resolution_deg, 9)
    lons = np.round(-180 + (np.arange(cols) + 0.5) * resolution_deg, 9)
    phi = np.radians(lats)[:, None]
    lam = np.radians(lons)[None, :]
    delta = math.radians(sub.lat)
    # hour angle of each cell at `when`, wrapped to (-pi, pi]; the window adds +- w
    hour0 = (lam - math.radians(sub.lon) + math.pi) % (2 * math.pi) - math.pi
    w = math.radians(time_tolerance_min * 0.25)  # the Earth turns 0.25 deg a minute
    a = np.sin(phi) * math.sin(delta)
    b = np.cos(phi) * math.cos(delta)  # >= 0, so elevation falls with |hour angle|
    near = np.minimum(np.abs(hour0) - w, math.pi)  # smallest |H| in the window
    far = np.minimum(np.abs(hour0) + w, math.pi)  # largest |H| in the window
    near = np.where(near < 0, 0.0, near)
    e_max = np.degrees(np.arcsin(np.clip(a + b * np.cos(near), -1, 1)))
    e_min = np.degrees(np.arcsin(np.clip(a + b * np.cos(far), -1, 1)))
    mask = (e_max >= elevation_deg - elevation_tolerance_deg) & (e_min <= elevation_deg + elevation_tolerance_deg)
    azimuth = None
    notes = []
    if shadow_bearing_deg is not None:
        azimuth = (shadow_bearing_deg + 180.0) % 360.0
        ok = np.zeros_like(mask)
        steps = max(1, int(math.ceil(2 * time_tolerance_min))) if time_tolerance_min else 0
        for k in range(-steps, steps + 1):  # the azimuth at moments across the window
            moment = when + timedelta(minutes=time_tolerance_min * k / steps) if steps else when
            _, az = _elevation_azimuth(phi, lam, subsolar_point(moment))
            ok |= np.abs((az - azimuth + 180) % 360 - 180) <= bearing_tolerance_deg
        mask &= ok
    if not mask.any():
        notes.append("no place on Earth had the sun this way at this time")
    return ShadowBand(when, elevation_deg, elevation_tolerance_deg, time_tolerance_min, azimuth, resolution_deg,
                      lats, lons, mask, sub, notes)


def restrict_to_circle(band: ShadowBand, lat: float, lon: float, radius_km: float) -> None:
    """Keep only cells within ``radius_km`` of a point (e.g. the model's 90 % region). In place."""
    if radius_km <= 0:
        raise ValueError("the radius must be positive")
    rows, cols = np.nonzero(band.mask)
    if rows.size == 0:
        return
    phi1, lam1 = math.radians(lat), math.radians(lon)
    phi2, lam2 = np.radians(band.lats[rows]), np.radians(band.lons[cols])
    # haversine is enough for a cell filter (<= 0.5 % from the geodesic); the edge cell is what matters
    h = np.sin((phi2 - phi1) / 2) ** 2 + math.cos(phi1) * np.cos(phi2) * np.sin((lam2 - lam1) / 2) ** 2
    dist = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
    outside = dist > radius_km
    band.mask[rows[outside], cols[outside]] = False
    band.notes.append(f"restricted to {radius_km:,.0f} km around {lat:.4f}, {lon:.4f}")


def restrict_to_utc_offset(band: ShadowBand, offset: timedelta) -> None:
    """Keep only cells whose time zone had ``offset`` at the band's time (the EXIF OffsetTime*).
    Open-sea cells use nautical time (longitude / 15 h). In place."""
    from timezonefinder import TimezoneFinder
    from zoneinfo import ZoneInfo

    rows, cols = np.nonzero(band.mask)
    if rows.size > MAX_CELLS_FOR_TIMEZONES:
        raise ValueError(f"band too large for a time-zone filter ({rows.size:,} cells): narrow it first")
    finder = TimezoneFinder(in_memory=True)
    when = band.time_utc.astimezone(timezone.utc)
    offsets: dict[str | None, timedelta | None] = {}
    keep = np.zeros(rows.size, bool)
    for i, (lat, lon) in enumerate(zip(band.lats[rows], band.lons[cols])):
        name = finder.timezone_at(lng=float(lon), lat=float(lat))
        if name not in offsets:
            try:
                offsets[name] = when.astimezone(ZoneInfo(name)).utcoffset() if name else None
            except Exception:  # an unknown zone name: no claim either way
                offsets[name] = None
        zone_offset = offsets[name]
        if zone_offset is None:  # open sea: nautical zones
            zone_offset = timedelta(hours=round(float(lon) / 15))
        keep[i] = zone_offset == offset
    band.mask[rows[~keep], cols[~keep]] = False
    sign = "+" if offset >= timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds() // 60))
    band.notes.append(f"restricted to time zones at UTC{sign}{minutes // 60:02d}:{minutes % 60:02d} at that moment")


def band_polygons(band: ShadowBand):
    """The band as a shapely (Multi)Polygon in lon/lat (WGS-84), cells merged by rows."""
    import shapely
    from shapely.geometry import box

    boxes = []
    half = band.resolution_deg / 2
    for r in np.nonzero(band.mask.any(axis=1))[0]:
        row = band.mask[r].astype(np.int8)
        edges = np.diff(np.concatenate(([0], row, [0])))
        starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
        for s, e in zip(starts, ends):
            boxes.append(box(round(band.lons[s] - half, 6), round(band.lats[r] - half, 6),
                             round(band.lons[e - 1] + half, 6), round(band.lats[r] + half, 6)))
    if not boxes:
        return shapely.geometry.MultiPolygon()
    return shapely.unary_union(boxes)  # boxes of adjacent rows meet at T-junctions: not a "coverage"


def countries_crossed(band: ShadowBand, geocoder, max_samples: int = 50_000) -> list[tuple[str, str]]:
    """(code, name) of the countries whose land holds band cells, by cell centre (sampled evenly
    when the band is large), sorted by name; open water and territorial seas are left out (a cell at sea
    off a coast is water, whoever's; cells on the shore or in harbour water count as land)."""
    lats, lons = band.cell_centres()
    if lats.size == 0:
        return []
    if lats.size > max_samples:
        pick = np.linspace(0, lats.size - 1, max_samples).astype(int)
        lats, lons = lats[pick], lons[pick]
    found = {}
    for place in geocoder.reverse_many(lats.tolist(), lons.tolist()):
        if place.country_code and not place.at_sea:
            found[place.country_code] = place.country
    return sorted(found.items(), key=lambda item: item[1])


def band_geojson(band: ShadowBand, countries: list[tuple[str, str]] | None = None) -> dict:
    """A GeoJSON FeatureCollection (WGS-84 lon/lat) with the band and what it was computed from."""
    from shapely.geometry import mapping

    properties = {
        "time_utc": band.time_utc.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
        "sun_elevation_deg": round(band.elevation_deg, 4),
        "elevation_tolerance_deg": band.elevation_tolerance_deg,
        "time_tolerance_min": band.time_tolerance_min,
        "sun_azimuth_deg": None if band.azimuth_deg is None else round(band.azimuth_deg, 3),
        "resolution_deg": band.resolution_deg,
        "subsolar_lat": round(band.subsolar.lat, 4),
        "subsolar_lon": round(band.subsolar.lon, 4),
        "area_km2": round(band.area_km2(), 1),
        "notes": list(band.notes),
    }
    if countries is not None:
        properties["countries"] = [{"code": code, "name": name} for code, name in countries]
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": mapping(band_polygons(band)), "properties": properties}]}


def parse_utc_time(text: str) -> datetime:
    """ISO 8601 with an offset or Z; a time without an offset is refused (it would be a guess)."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {text!r} (example: 2024-06-21T11:50:00Z)") from None
    if when.tzinfo is None:
        raise ValueError("the time has no UTC offset: add Z or +HH:MM (a local time alone would be a guess)")
    return when


def distance_to_band_km(band: ShadowBand, lat: float, lon: float) -> float | None:
    """How far a point is from the nearest band cell (0 inside); None for an empty band."""
    if band.contains(lat, lon):
        return 0.0
    lats, lons = band.cell_centres()
    if lats.size == 0:
        return None
    pick = np.linspace(0, lats.size - 1, min(lats.size, 20_000)).astype(int)
    phi1, lam1 = math.radians(lat), math.radians(lon)
    phi2, lam2 = np.radians(lats[pick]), np.radians(lons[pick])
    h = np.sin((phi2 - phi1) / 2) ** 2 + math.cos(phi1) * np.cos(phi2) * np.sin((lam2 - lam1) / 2) ** 2
    best = int(np.argmin(h))
    return geodesic_km(lat, lon, float(lats[pick][best]), float(lons[pick][best]))


def exif_capture_time(text: str | None) -> datetime | None:
    """``DateTimeOriginal`` + ``OffsetTimeOriginal`` as findings store it ("2024-06-21T13:50:00+02:00",
    or EXIF's own "2024:06:21 13:50:00+02:00") to an aware datetime; None when missing, malformed,
    or without an offset (anything else would be a guess)."""
    import re

    match = re.fullmatch(r"\s*(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})([+-]\d{2}:\d{2}|Z)\s*", text or "")
    if not match:
        return None
    y, mo, d, h, mi, s, offset = match.groups()
    try:
        return parse_utc_time(f"{y}-{mo}-{d}T{h}:{mi}:{s}{offset}")
    except ValueError:
        return None
