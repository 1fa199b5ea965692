"""Folium maps of findings that render with no internet.

Base layer: the country outlines the geocoder decided with (``places.boundaries``): Natural
Earth 1:10m for the world view, the exact OpenStreetMap polygons around each point;
online tiles (OpenStreetMap) only when the user switches them on. Leaflet's own
scripts and styles normally come from CDNs; ``vendor_leaflet_assets`` writes the copies
that the pinned ``folium-offline`` package embeds into a folder the app serves itself,
and ``use_local_assets`` points every map element at them.

Everything shown in popups and tooltips (file names, EXIF strings, verdicts) is
HTML-escaped: a crafted ``Software`` tag or file name must not inject script.
"""
from __future__ import annotations

import hashlib
import html
import math
from pathlib import Path
from typing import Iterable, Sequence

import folium
import numpy as np
from folium.plugins import MarkerCluster

from .findings import Finding
from ..places.geodesy import latlon_to_unit, unit_to_latlon
from ..places.boundaries import fine_boundaries, world_outlines

EXIF_COLOR = "#d62728"
PREDICTION_COLOR = "#1f77b4"
LINE_COLOR = "#444444"


def _countries() -> dict:
    return world_outlines()


def _asset_name(url: str) -> str:
    stem = url.rstrip("/").rsplit("/", 1)[-1]
    return f"{hashlib.sha1(url.encode()).hexdigest()[:8]}-{stem}"


def vendor_leaflet_assets(folder: str | Path) -> list[str]:
    """Write every web resource folium references (Leaflet, MarkerCluster, ...) from the
    folium-offline package into ``folder``; returns the file names. Idempotent."""
    from offlinefolium.elements import _res  # URL -> embedded content

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for url, content in _res.items():
        target = folder / _asset_name(url)
        if not target.exists() or target.stat().st_size != len(content.encode("utf-8")):
            target.write_text(content, encoding="utf-8")
        names.append(target.name)
    return names


def use_local_assets(fmap: folium.Map, url_prefix: str) -> folium.Map:
    """Point the map's script/style links at ``url_prefix`` + vendored file name."""
    from offlinefolium.elements import _res

    def walk(element):
        yield element
        for child in getattr(element, "_children", {}).values():
            yield from walk(child)

    for element in walk(fmap):
        for attribute in ("default_js", "default_css"):
            links = getattr(element, attribute, None)
            if links:
                setattr(element, attribute, [(name, url_prefix + _asset_name(url)) if url in _res else (name, url)
                                             for name, url in links])
    return fmap


def base_map(online_tiles: bool = False, height: int | None = None) -> folium.Map:
    fmap = folium.Map(location=[20, 0], zoom_start=2, tiles=None, control_scale=True, world_copy_jump=True,
                      **({"height": height} if height else {}))
    folium.GeoJson(_countries(), name="Countries (offline, Natural Earth 1:10m)",
                   style_function=lambda _: {"fillColor": "#f4f1ea", "color": "#9a9a9a", "weight": 0.6,
                                             "fillOpacity": 1.0},
                   tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False)).add_to(fmap)
    if online_tiles:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap (online)", overlay=False).add_to(fmap)
        folium.LayerControl().add_to(fmap)
    return fmap


def great_circle_path(lat1: float, lon1: float, lat2: float, lon2: float, points: int = 64) -> list[list[float]]:
    """Points along the great circle, longitudes unwrapped so Leaflet draws across ±180° correctly."""
    a, b = latlon_to_unit(lat1, lon1), latlon_to_unit(lat2, lon2)
    omega = math.acos(float(np.clip(np.dot(a, b), -1.0, 1.0)))
    if omega < 1e-9:
        return [[lat1, lon1], [lat2, lon2]]
    t = np.linspace(0, 1, points)[:, None]
    path = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / math.sin(omega)
    lats, lons = unit_to_latlon(path)
    lons = np.degrees(np.unwrap(np.radians(lons)))
    return [[float(x), float(y)] for x, y in zip(lats, lons)]


def _popup(lines: Sequence[tuple[str, object]]) -> folium.Popup:
    body = "<br>".join(f"<b>{html.escape(str(k))}</b>: {html.escape(str(v))}" for k, v in lines if v not in (None, ""))
    return folium.Popup(body, max_width=320)


def _tooltip(text: str) -> folium.Tooltip:
    return folium.Tooltip(html.escape(text))


def add_finding(target, finding: Finding, with_regions: bool = True) -> list[list[float]]:
    """Draw one finding's points (and regions, line) on a map or cluster; returns bounds points."""
    bounds: list[list[float]] = []
    name = Path(finding.file).name
    if finding.pred_lat is not None:
        if with_regions:
            for radius, dash, label in ((finding.pred_radius_km, "6 6", "90 %"), (finding.pred_radius50_km, None, "50 %")):
                if radius:
                    folium.Circle([finding.pred_lat, finding.pred_lon], radius=radius * 1000.0, color=PREDICTION_COLOR,
                                  weight=1.5, dash_array=dash, fill=True, fill_opacity=0.08,
                                  tooltip=_tooltip(f"{label} region of the prediction: {radius:,.0f} km")).add_to(target)
            if finding.pred_radius50_km:  # frame the 50 % region; the 90 % one may span a hemisphere
                bounds.extend(_circle_bounds(finding.pred_lat, finding.pred_lon, finding.pred_radius50_km))
        folium.CircleMarker([finding.pred_lat, finding.pred_lon], radius=7, color="white", weight=2, fill=True,
                            fill_color=PREDICTION_COLOR, fill_opacity=1.0,
                            tooltip=_tooltip(f"Predicted: {name}"),
                            popup=_popup([("Predicted location", name),
                                          ("lat, lon", f"{finding.pred_lat:.5f}, {finding.pred_lon:.5f}"),
                                          ("country", finding.pred_country), ("verdict", finding.verdict)])).add_to(target)
        bounds.append([finding.pred_lat, finding.pred_lon])
    if finding.exif_lat is not None:
        folium.CircleMarker([finding.exif_lat, finding.exif_lon], radius=7, color="white", weight=2, fill=True,
                            fill_color=EXIF_COLOR, fill_opacity=1.0, tooltip=_tooltip(f"EXIF GPS: {name}"),
                            popup=_popup([("EXIF GPS", name),
                                          ("lat, lon", f"{finding.exif_lat:.6f}, {finding.exif_lon:.6f}"),
                                          ("country", finding.exif_country), ("camera", finding.camera_model),
                                          ("software", finding.software), ("verdict", finding.verdict)])).add_to(target)
        bounds.append([finding.exif_lat, finding.exif_lon])
    if finding.exif_lat is not None and finding.pred_lat is not None and finding.distance_km is not None:
        folium.PolyLine(great_circle_path(finding.exif_lat, finding.exif_lon, finding.pred_lat, finding.pred_lon),
                        color=LINE_COLOR, weight=2, dash_array="4 6",
                        tooltip=_tooltip(f"{finding.distance_km:,.1f} km ({finding.band})")).add_to(target)
    return bounds


def _circle_bounds(lat: float, lon: float, radius_km: float) -> list[list[float]]:
    dlat = min(89.0, math.degrees(radius_km / 6371.0))
    return [[max(-89.0, lat - dlat), lon], [min(89.0, lat + dlat), lon]]


def finding_map(finding: Finding, online_tiles: bool = False) -> folium.Map:
    fmap = base_map(online_tiles)
    _add_fine_boundaries(fmap, [finding])
    _fit(fmap, add_finding(fmap, finding))
    return fmap


def findings_map(findings: Iterable[Finding], online_tiles: bool = False, cluster_above: int = 30) -> folium.Map:
    """All points of a batch; clustered when there are many (no regions, to keep it readable)."""
    findings = list(findings)
    fmap = base_map(online_tiles)
    _add_fine_boundaries(fmap, findings)
    many = len(findings) > cluster_above
    target = MarkerCluster(name="findings").add_to(fmap) if many else fmap
    bounds: list[list[float]] = []
    for finding in findings:
        bounds.extend(add_finding(target, finding, with_regions=False))
    _fit(fmap, bounds)
    return fmap


def _country_tint(code: str) -> str:
    """A pale colour per country, so the two sides of a border differ at a glance."""
    tints = ("#f4f1ea", "#dfe9d8", "#e9dfd0", "#d9e3ec", "#eadbe3", "#e6e6cf")
    return tints[int(hashlib.sha1(code.encode()).hexdigest(), 16) % len(tints)]


def _add_fine_boundaries(fmap: folium.Map, findings: Sequence[Finding]) -> None:
    """The exact borders that decided each point's country, for city zoom (see places.boundaries).
    Added before the markers, so it lies under them."""
    collection = fine_boundaries([(f.exif_lat, f.exif_lon) for f in findings if f.exif_lat is not None]
                                 + [(f.pred_lat, f.pred_lon) for f in findings if f.pred_lat is not None])
    if collection["features"]:
        folium.GeoJson(collection, name="Borders near the points (OpenStreetMap, as used for the country)",
                       style_function=lambda feature: {"fillColor": _country_tint(feature["properties"]["iso_a2"]),
                                                       "color": "#555555", "weight": 1.5, "fillOpacity": 0.45},
                       tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False)).add_to(fmap)


def _fit(fmap: folium.Map, bounds: list[list[float]]) -> None:
    if not bounds:
        return
    lats = [b[0] for b in bounds]
    lons = [b[1] for b in bounds]
    pad = 2.0  # degrees: keep the surrounding country outlines in view for context
    fmap.fit_bounds([[min(lats) - pad, min(lons) - pad], [max(lats) + pad, max(lons) + pad]], max_zoom=7)
