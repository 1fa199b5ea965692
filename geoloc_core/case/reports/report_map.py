"""A still map picture of one finding, drawn offline for reports.

Why a picture and not the app's Leaflet map: a report must open anywhere, print, and
carry no script (the HTML report has none at all) and no tiles (no network). Pillow
draws the shipped Natural Earth country outlines, the EXIF point (red), the prediction
(blue) with its 50 % (solid) and 90 % (dashed) regions as true geodesic circles, the
other top candidates (hollow blue) and the great-circle line between the two points, on
an equirectangular view fitted around them. The picture holds no text from the file, so
nothing hostile can reach it.
"""
from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ...places.boundaries import world_outlines
from ...places.geodesy import EARTH_RADIUS_KM, geodesic_circle, latlon_to_unit, unit_to_latlon
from ..findings import Finding

EXIF_RGB = (214, 39, 40)
PREDICTION_RGB = (31, 119, 180)
CLAIM_RGB = (148, 103, 189)  # the place written in the file (#9467bd, as on the app's maps)
ANALYST_RGB = (17, 17, 17)  # the analyst's own point: a black diamond, as on the app's maps
LAND_RGB = (244, 241, 234)
SEA_RGB = (214, 230, 242)
BORDER_RGB = (150, 150, 150)
GRID_RGB = (190, 205, 220)
SUPERSAMPLE = 2  # drawn at twice the size and scaled down: Pillow draws without anti-aliasing
MIN_SPAN_DEG = 8.0  # never zoom closer than this: the surrounding countries give context
LARGE_REGION_KM = 3000.0  # a 90 % region this large would zoom the view out to a hemisphere


@lru_cache(maxsize=1)
def _country_rings() -> list[np.ndarray]:
    """Every outer and inner ring of the shipped outlines, as (lon, lat) arrays."""
    data = world_outlines()
    rings = []
    for feature in data["features"]:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        for polygon in polygons:
            rings.extend(np.asarray(ring, dtype=float) for ring in polygon)
    return rings


def great_circle(lat1: float, lon1: float, lat2: float, lon2: float, points: int = 64):
    """Points along the shorter great circle, longitudes unwrapped from ``lon1`` (no jump at ±180°)."""
    a, b = latlon_to_unit(lat1, lon1), latlon_to_unit(lat2, lon2)
    omega = math.acos(float(np.clip(np.dot(a, b), -1.0, 1.0)))
    if omega < 1e-9:
        return np.array([lat1, lat2]), np.array([lon1, lon1])
    t = np.linspace(0.0, 1.0, points)[:, None]
    lats, lons = unit_to_latlon((np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / math.sin(omega))
    return lats, np.degrees(np.unwrap(np.radians(lons)))


def _contains_pole(lat: float, radius_km: float) -> bool:
    return radius_km / EARTH_RADIUS_KM >= math.radians(90.0 - abs(lat))


@dataclass
class MapView:
    """An equirectangular window: degrees -> pixels (x scaled by cos of the central latitude)."""

    lon0: float
    lon1: float
    lat0: float
    lat1: float
    width: int
    height: int

    def xy(self, lat, lon) -> tuple[np.ndarray, np.ndarray]:
        x = (np.asarray(lon, float) - self.lon0) / (self.lon1 - self.lon0) * self.width
        y = (self.lat1 - np.asarray(lat, float)) / (self.lat1 - self.lat0) * self.height
        return x, y

    @property
    def centre_lon(self) -> float:
        return (self.lon0 + self.lon1) / 2


def view_for(finding: Finding, width: int = 720, height: int = 360) -> MapView:
    """A window holding the EXIF point, the prediction, its candidates and its (not huge) regions."""
    anchor = finding.pred_lon if finding.pred_lon is not None else finding.exif_lon
    lats: list[float] = []
    lons: list[float] = []

    def add(lat: float, lon: float) -> None:
        lats.append(lat)
        lons.append(anchor + ((lon - anchor + 180.0) % 360.0) - 180.0 if anchor is not None else lon)

    if finding.exif_lat is not None:
        add(finding.exif_lat, finding.exif_lon)
    if finding.claimed_lat is not None:
        add(finding.claimed_lat, finding.claimed_lon)
    if finding.analyst_point_lat is not None:
        add(finding.analyst_point_lat, finding.analyst_point_lon)
    if finding.pred_lat is not None:
        add(finding.pred_lat, finding.pred_lon)
        for candidate in candidates(finding)[:5]:
            add(candidate["lat"], candidate["lon"])
        for radius in (finding.pred_radius50_km, finding.pred_radius_km):
            if radius and radius <= LARGE_REGION_KM:
                ring_lats, ring_lons = geodesic_circle(finding.pred_lat, finding.pred_lon, radius, 36)
                for a, b in zip(ring_lats, ring_lons):
                    add(float(a), float(b))
    if not lats:
        return MapView(-180.0, 180.0, -90.0, 90.0, width, height)
    lat_pad = max(2.0, 0.1 * (max(lats) - min(lats)))  # markers stay clear of the edges and the legend
    lon_pad = max(2.0, 0.1 * (max(lons) - min(lons)))
    lat0, lat1 = max(-88.0, min(lats) - lat_pad), min(88.0, max(lats) + lat_pad)
    lon0, lon1 = min(lons) - lon_pad, max(lons) + lon_pad
    mid_lat = (lat0 + lat1) / 2
    stretch = max(math.cos(math.radians(mid_lat)), 0.2)  # degrees of longitude per degree of latitude on screen
    lat_span = max(lat1 - lat0, MIN_SPAN_DEG / 2, (lon1 - lon0) * stretch * height / width)
    lon_span = max(lon1 - lon0, MIN_SPAN_DEG, lat_span / stretch * width / height)
    lat_span = lon_span * stretch * height / width
    if lat_span > 170.0 or lon_span > 360.0:  # the whole world, centred on the points
        lon_span, lat_span = 360.0, 180.0
    mid_lon = (lon0 + lon1) / 2
    mid_lat = min(max(mid_lat, -90 + lat_span / 2), 90 - lat_span / 2)
    return MapView(mid_lon - lon_span / 2, mid_lon + lon_span / 2, mid_lat - lat_span / 2, mid_lat + lat_span / 2,
                   width, height)


def candidates(finding: Finding) -> list[dict]:
    """The prediction's top-k candidates ({lat, lon, weight}), best first; [] when none or unreadable."""
    if not finding.pred_candidates:
        return []
    try:
        items = json.loads(finding.pred_candidates)
        return [c for c in items if isinstance(c, dict) and {"lat", "lon", "weight"} <= set(c)]
    except (ValueError, TypeError):
        return []


def _grid_step(span: float) -> float:
    for step in (1, 2, 5, 10, 15, 30, 60):
        if span / step <= 8:
            return float(step)
    return 90.0


def render_map_png(finding: Finding, width: int = 720, height: int = 360) -> bytes | None:
    """PNG bytes of the finding's map picture; None when there is nothing to place on a map."""
    if finding.exif_lat is None and finding.pred_lat is None and finding.claimed_lat is None \
            and finding.analyst_point_lat is None:
        return None
    view = view_for(finding, width, height)
    s = SUPERSAMPLE
    big = MapView(view.lon0, view.lon1, view.lat0, view.lat1, width * s, height * s)
    image = Image.new("RGB", (big.width, big.height), SEA_RGB)
    draw = ImageDraw.Draw(image)
    _draw_grid(draw, big, s)
    shifts = [k * 360.0 for k in (-1, 0, 1) if big.lon0 < 180 + k * 360 and big.lon1 > -180 + k * 360]
    for ring in _country_rings():
        for shift in shifts:
            x, y = big.xy(ring[:, 1], ring[:, 0] + shift)
            if x.max() < 0 or x.min() > big.width or y.max() < 0 or y.min() > big.height:
                continue
            draw.polygon(list(zip(x.tolist(), y.tolist())), fill=LAND_RGB, outline=BORDER_RGB, width=s)
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    odraw = ImageDraw.Draw(overlay)
    if finding.pred_lat is not None:
        for radius, dashed in ((finding.pred_radius_km, True), (finding.pred_radius50_km, False)):
            if radius:
                _draw_region(odraw, big, finding.pred_lat, finding.pred_lon, radius, dashed, s)
    image = Image.alpha_composite(image.convert("RGBA"), overlay)
    draw = ImageDraw.Draw(image)
    if finding.exif_lat is not None and finding.pred_lat is not None:
        lats, lons = great_circle(finding.exif_lat, finding.exif_lon, finding.pred_lat, finding.pred_lon)
        x, y = big.xy(lats, lons - finding.exif_lon + _near(finding.exif_lon, big.centre_lon))
        _dashed(draw, list(zip(x.tolist(), y.tolist())), (60, 60, 60), 2 * s, 8 * s)
    if finding.pred_lat is not None:
        for candidate in candidates(finding)[1:5]:
            cx, cy = big.xy(candidate["lat"], _near(candidate["lon"], big.centre_lon))
            r = 6 * s
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=PREDICTION_RGB, width=2 * s, fill=(255, 255, 255))
        _marker(draw, big, finding.pred_lat, finding.pred_lon, PREDICTION_RGB, s)
    if finding.claimed_lat is not None:  # the place written in the file: a self-contradiction shows as two points
        _marker(draw, big, finding.claimed_lat, finding.claimed_lon, CLAIM_RGB, s)
    if finding.exif_lat is not None:
        _marker(draw, big, finding.exif_lat, finding.exif_lon, EXIF_RGB, s)
    if finding.analyst_point_lat is not None:  # on top: the analyst's conclusion is never hidden under a point
        x, y = big.xy(finding.analyst_point_lat, _near(finding.analyst_point_lon, big.centre_lon))
        r = 9 * s
        draw.polygon([(x, y - r), (x + r, y), (x, y + r), (x - r, y)], fill=ANALYST_RGB, outline=(255, 255, 255),
                     width=2 * s)
    picture = image.convert("RGB").reduce(SUPERSAMPLE)  # box filter: fast, and smooth enough for lines
    _legend(picture, finding)
    buffer = io.BytesIO()
    picture.quantize(colors=128, method=Image.Quantize.FASTOCTREE).save(buffer, "PNG")
    return buffer.getvalue()


def marker_pixel(finding: Finding, which: str, width: int = 720, height: int = 360) -> tuple[int, int]:
    """Where ``render_map_png`` puts the "exif", "claimed", "prediction" or "analyst" marker (for tests and
    captions)."""
    view = view_for(finding, width, height)
    lat, lon = {"exif": (finding.exif_lat, finding.exif_lon), "claimed": (finding.claimed_lat, finding.claimed_lon),
                "prediction": (finding.pred_lat, finding.pred_lon),
                "analyst": (finding.analyst_point_lat, finding.analyst_point_lon)}[which]
    x, y = view.xy(lat, _near(lon, view.centre_lon))
    return int(round(float(x))), int(round(float(y)))


def _near(lon, centre: float):
    """Longitude(s) shifted by whole turns to lie within 180 degrees of ``centre``."""
    return centre + ((np.asarray(lon, float) - centre + 180.0) % 360.0) - 180.0


def _marker(draw: ImageDraw.ImageDraw, view: MapView, lat: float, lon: float, rgb, s: int) -> None:
    x, y = view.xy(lat, _near(lon, view.centre_lon))
    r = 8 * s
    draw.ellipse([x - r, y - r, x + r, y + r], fill=rgb, outline=(255, 255, 255), width=2 * s)


def _draw_region(draw: ImageDraw.ImageDraw, view: MapView, lat: float, lon: float, radius_km: float, dashed: bool,
                 s: int) -> None:
    lats, lons = geodesic_circle(lat, lon, radius_km, 240)
    line = PREDICTION_RGB + (255,)
    if _contains_pole(lat, radius_km):  # the region is the cap between this ring and the pole
        lons = _near(lons, view.centre_lon)
        order = np.argsort(lons)
        lats, lons = lats[order], lons[order]
        pole = 90.0 if lat > 0 else -90.0
        x, y = view.xy(np.r_[lats, pole, pole], np.r_[lons, lons[-1], lons[0]])
        draw.polygon(list(zip(x.tolist(), y.tolist())), fill=PREDICTION_RGB + (28,))
        x, y = x[:-2], y[:-2]
    else:
        x, y = view.xy(lats, lons - lon + _near(lon, view.centre_lon))
        draw.polygon(list(zip(x.tolist(), y.tolist())), fill=PREDICTION_RGB + (28,))
    points = list(zip(x.tolist(), y.tolist()))
    segments = [[points[0]]]
    for (xa, _), point in zip(points, points[1:]):  # break the outline where it wraps around the map
        if abs(point[0] - xa) > view.width / 2:
            segments.append([])
        segments[-1].append(point)
    for segment in segments:
        if dashed:
            _dashed(draw, segment, line, 2 * s, 10 * s)
        elif len(segment) > 1:
            draw.line(segment, fill=line, width=2 * s)


def _dashed(draw: ImageDraw.ImageDraw, points: list[tuple[float, float]], fill, width: int, dash: float) -> None:
    """A polyline drawn as dashes of ``dash`` pixels (on, off, on, ...)."""
    travelled, on = 0.0, True
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        length = math.hypot(x1 - x0, y1 - y0)
        start = 0.0
        while start < length:
            step = min(dash - travelled, length - start)
            a, b = start / length, (start + step) / length
            if on:
                draw.line([(x0 + (x1 - x0) * a, y0 + (y1 - y0) * a), (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b)],
                          fill=fill, width=width)
            start += step
            travelled += step
            if travelled >= dash - 1e-9:
                travelled, on = 0.0, not on


def _draw_grid(draw: ImageDraw.ImageDraw, view: MapView, s: int) -> None:
    step = _grid_step(view.lat1 - view.lat0)
    for lat in np.arange(math.ceil(view.lat0 / step) * step, view.lat1, step):
        _, y = view.xy(lat, view.lon0)
        draw.line([(0, float(y)), (view.width, float(y))], fill=GRID_RGB, width=s)
    for lon in np.arange(math.ceil(view.lon0 / step) * step, view.lon1, step):
        x, _ = view.xy(view.lat0, lon)
        draw.line([(float(x), 0), (float(x), view.height)], fill=GRID_RGB, width=s)


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow built without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _legend(picture: Image.Image, finding: Finding) -> None:
    """Legend and attribution; every word here is geoloc's own, none comes from the file."""
    draw = ImageDraw.Draw(picture)
    font = _font(12)
    entries = []
    if finding.exif_lat is not None:
        entries.append((EXIF_RGB, "EXIF GPS"))
    if finding.claimed_lat is not None:
        entries.append((CLAIM_RGB, "place written in the file"))
    if finding.pred_lat is not None:
        entries.append((PREDICTION_RGB, "prediction"))
        if finding.pred_radius50_km:
            entries.append((None, "solid circle: 50 % region, dashed: 90 % region"))
    if finding.analyst_point_lat is not None:
        entries.append((ANALYST_RGB, "the analyst's point (diamond)"))
    x, y = 8, 8
    box_width = 16 + max(draw.textlength(text, font=font) for _, text in entries) + 16
    draw.rectangle([x - 4, y - 4, x + box_width, y + 18 * len(entries)], fill=(255, 255, 255), outline=BORDER_RGB)
    for rgb, text in entries:
        if rgb:
            draw.ellipse([x, y + 2, x + 10, y + 12], fill=rgb)
        draw.text((x + 16, y), text, fill=(30, 30, 30), font=font)
        y += 18
    note = "Country outlines: Natural Earth 1:10m (public domain); equirectangular, drawn offline"
    width = draw.textlength(note, font=font)
    draw.rectangle([picture.width - width - 10, picture.height - 18, picture.width, picture.height],
                   fill=(255, 255, 255))
    draw.text((picture.width - width - 5, picture.height - 16), note, fill=(90, 90, 90), font=font)
