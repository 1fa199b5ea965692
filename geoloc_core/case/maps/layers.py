"""Folium maps of findings that render with no internet.

Base layer: the country outlines the geocoder decided with (``places.boundaries``): Natural
Earth 1:10m for the world view, the exact OpenStreetMap polygons around each point;
online tiles (OpenStreetMap) only when the user switches them on. Leaflet's own
scripts and styles normally come from CDNs; ``vendor_leaflet_assets`` writes the copies
that the pinned ``folium-offline`` package embeds into a folder the app serves itself,
and ``use_local_assets`` points every map element at them.

Popups and tooltips never pass text through HTML or a template. Folium's own ``Popup`` and
``Tooltip`` put their text inside JavaScript template strings (only backticks escaped, or none),
so HTML-escaping in Python is not enough: ``${...}`` or a backtick in a file name or a
``Software`` tag ran as script on render. ``SafeLabels`` instead hands every string to the page
as a JavaScript string literal in which every character other than a letter, digit or space is a
``\\uXXXX`` escape (so nothing downstream, Jinja, streamlit-folium's variable renaming or the
HTML parser, can find syntax in it), and builds the popup/tooltip with ``textContent``.
Verified by executing maps with the payload corpus in Chromium (tests/test_hostile.py).
"""
from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Sequence

import folium
import numpy as np
from branca.element import MacroElement
from jinja2 import Template

from ..findings import ANALYST_POINT_LABEL, Finding
from ...places.geodesy import latlon_to_unit, unit_to_latlon
from ...places.boundaries import fine_boundaries, world_outlines

EXIF_COLOR = "#d62728"
PREDICTION_COLOR = "#1f77b4"
SECOND_WITNESS_COLOR = "#2ca02c"  # green: the second witness
CLAIM_COLOR = "#9467bd"  # purple: the place written in the caption / IPTC / XMP
LINE_COLOR = "#444444"
CONSTRAINED_COLOR = "#ff7f0e"  # orange: the prediction after the analyst's constraint
# the analyst's own point (#32): a black diamond, a shape no other point has (the others are circles)
ANALYST_PIN_HTML = ('<div style="width:14px;height:14px;background:#111111;border:2px solid #ffffff;'
                    'box-shadow:0 0 3px #000000;transform:rotate(45deg)"></div>')
MAP_LAYERS = ("both", "exif", "predictions")  # the Batch / Case log toggle: what the points are
MAX_ZOOM = 18  # no tile layer sets one offline; Leaflet.markercluster refuses a map without it


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
    fmap.options["max_zoom"] = MAX_ZOOM
    folium.GeoJson(_countries(), name="Countries (offline, Natural Earth 1:10m)",
                   style_function=lambda _: {"fillColor": "#f4f1ea", "color": "#9a9a9a", "weight": 0.6,
                                             "fillOpacity": 1.0},
                   # context only: no tooltip and not interactive, because Chromium makes every SVG path
                   # with a (tooltip) focus listener a Tab stop: 186 presses to get past the map
                   interactive=False).add_to(fmap)
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


def js_text_literal(text: object) -> str:
    """``str(text)`` as a double-quoted JavaScript string literal that contains no character with a
    meaning in HTML, Jinja, template strings or regular expressions: everything but ASCII letters,
    digits and spaces becomes a ``\\uXXXX`` escape (astral characters as surrogate pairs).

    Use it for any analyst-controlled string placed into generated JavaScript; then show the value
    with ``textContent``, never ``innerHTML``."""
    out = []
    raw = str(text).encode("utf-16-le", "surrogatepass")
    for index in range(0, len(raw), 2):
        code = raw[index] | raw[index + 1] << 8
        char = chr(code)
        out.append(char if (char.isascii() and (char.isalnum() or char == " ")) else f"\\u{code:04x}")
    return '"' + "".join(out) + '"'


class SafeLabels(MacroElement):
    """A popup (rows of field: value) and a tooltip for the parent layer, built in the page with
    ``textContent`` from inert string literals (see the module docstring)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (layer, rows, tip) {
            if (rows.length) {
                var box = document.createElement("div");
                rows.forEach(function (row) {
                    var key = document.createElement("b");
                    key.textContent = row[0];
                    box.appendChild(key);
                    box.appendChild(document.createTextNode(": " + row[1]));
                    box.appendChild(document.createElement("br"));
                });
                layer.bindPopup(box, {"maxWidth": 320});
            }
            if (tip !== null) {
                var label = document.createElement("span");
                label.textContent = tip;
                layer.bindTooltip(label, {"sticky": true});
            }
        })({{ this._parent.get_name() }}, {{ this.rows_js }}, {{ this.tip_js }});
        {% endmacro %}
    """)

    def __init__(self, rows: Sequence[tuple[str, object]] = (), tooltip: str | None = None):
        super().__init__()
        self._name = "SafeLabels"
        kept = [(k, v) for k, v in rows if v not in (None, "")]
        self.rows_js = "[" + ", ".join(f"[{js_text_literal(k)}, {js_text_literal(v)}]" for k, v in kept) + "]"
        self.tip_js = "null" if tooltip is None else js_text_literal(tooltip)


def labelled(layer, rows: Sequence[tuple[str, object]] = (), tooltip: str | None = None):
    layer.add_child(SafeLabels(rows, tooltip))
    return layer


def add_finding(target, finding: Finding, with_regions: bool = True, show: str = "both") -> list[list[float]]:
    """Draw one finding's points (and regions, line) on a map or cluster; returns bounds points.
    ``show``: "both", "exif" (EXIF GPS and the written place only) or "predictions" (the witnesses only);
    the line from a prediction to its EXIF point is drawn only with both."""
    if show not in MAP_LAYERS:
        raise ValueError(f"show must be one of {MAP_LAYERS}")
    bounds: list[list[float]] = []
    name = Path(finding.file).name
    exif, predictions = show in ("both", "exif"), show in ("both", "predictions")
    if finding.pred_lat is not None and predictions:
        if with_regions:
            for radius, dash, label in ((finding.pred_radius_km, "6 6", "90 %"), (finding.pred_radius50_km, None, "50 %")):
                if radius:
                    # not a Tab stop (a path with a tooltip is one in Chromium): the radii are in the
                    # prediction marker's popup below
                    folium.Circle([finding.pred_lat, finding.pred_lon], radius=radius * 1000.0,
                                  color=PREDICTION_COLOR, weight=1.5, dash_array=dash, fill=True,
                                  fill_opacity=0.08, interactive=False).add_to(target)
            if finding.pred_radius50_km:  # frame the 50 % region; the 90 % one may span a hemisphere
                bounds.extend(circle_bounds(finding.pred_lat, finding.pred_lon, finding.pred_radius50_km))
        labelled(folium.CircleMarker([finding.pred_lat, finding.pred_lon], radius=7, color="white", weight=2,
                                      fill=True, fill_color=PREDICTION_COLOR, fill_opacity=1.0),
                  [("Predicted location", name), ("lat, lon", f"{finding.pred_lat:.5f}, {finding.pred_lon:.5f}"),
                   ("country", finding.pred_country), ("verdict", finding.verdict),
                   ("50 % region radius", f"{finding.pred_radius50_km:,.0f} km" if finding.pred_radius50_km else ""),
                   ("90 % region radius", f"{finding.pred_radius_km:,.0f} km" if finding.pred_radius_km else "")],
                  tooltip=f"Predicted: {name}").add_to(target)
        bounds.append([finding.pred_lat, finding.pred_lon])
    if finding.exif_lat is not None and exif:
        labelled(folium.CircleMarker([finding.exif_lat, finding.exif_lon], radius=7, color="white", weight=2,
                                      fill=True, fill_color=EXIF_COLOR, fill_opacity=1.0),
                  [("EXIF GPS", name), ("lat, lon", f"{finding.exif_lat:.6f}, {finding.exif_lon:.6f}"),
                   ("country", finding.exif_country), ("camera", finding.camera_model),
                   ("software", finding.software), ("verdict", finding.verdict)],
                  tooltip=f"EXIF GPS: {name}").add_to(target)
        bounds.append([finding.exif_lat, finding.exif_lon])
    if finding.second_lat is not None and predictions:  # the second witness (zero-shot CLIP beside the regressor)
        labelled(folium.CircleMarker([finding.second_lat, finding.second_lon], radius=6, color="white", weight=2,
                                      fill=True, fill_color=SECOND_WITNESS_COLOR, fill_opacity=1.0),
                  [("Second witness", name), ("lat, lon", f"{finding.second_lat:.5f}, {finding.second_lon:.5f}"),
                   ("country", finding.second_country), ("verdict", finding.second_verdict)],
                  tooltip=f"Second witness ({finding.second_kind}): {name}").add_to(target)
        bounds.append([finding.second_lat, finding.second_lon])
    if finding.claimed_lat is not None and exif:
        labelled(folium.CircleMarker([finding.claimed_lat, finding.claimed_lon], radius=7, color="white", weight=2,
                                      fill=True, fill_color=CLAIM_COLOR, fill_opacity=1.0),
                  [("Claimed place (written)", finding.claimed_place_text), ("file", name),
                   ("source", finding.claim_source), ("GeoNames place", finding.claimed_place_found),
                   ("lat, lon", f"{finding.claimed_lat:.5f}, {finding.claimed_lon:.5f}"),
                   ("EXIF GPS vs claim", finding.claim_exif_check),
                   ("prediction vs claim", finding.claim_pred_verdict)],
                  tooltip=f"Claimed in the caption/IPTC: {name}").add_to(target)
        bounds.append([finding.claimed_lat, finding.claimed_lon])
    if finding.analyst_point_lat is not None:  # the analyst's conclusion: shown whichever points are chosen
        bounds.append(add_analyst_point(target, finding))
    if (finding.exif_lat is not None and finding.pred_lat is not None and finding.distance_km is not None
            and show == "both"):
        labelled(folium.PolyLine(great_circle_path(finding.exif_lat, finding.exif_lon, finding.pred_lat,
                                                    finding.pred_lon), color=LINE_COLOR, weight=2, dash_array="4 6"),
                  tooltip=f"{finding.distance_km:,.1f} km ({finding.band})").add_to(target)
    return bounds


def add_analyst_point(target, finding: Finding) -> list[float]:
    """The analyst's own point as a labelled black diamond (its HTML is geoloc's constant; the note and
    every other string reach the page only through ``SafeLabels``)."""
    lat, lon = finding.analyst_point_lat, finding.analyst_point_lon
    icon = folium.DivIcon(html=ANALYST_PIN_HTML, icon_size=(18, 18), icon_anchor=(9, 9), class_name="geoloc-analyst")
    labelled(folium.Marker([lat, lon], icon=icon),
             [(f"{ANALYST_POINT_LABEL} (the analyst's own)", Path(finding.file).name),
              ("lat, lon", f"{lat:.6f}, {lon:.6f}"), ("country", finding.analyst_point_country),
              ("placed by", finding.analyst_point_by), ("note", finding.analyst_point_note),
              ("EXIF GPS vs the analyst's point", finding.analyst_point_exif_verdict),
              ("written place vs the analyst's point", finding.analyst_point_claim_verdict)],
             tooltip=f"{ANALYST_POINT_LABEL}: {Path(finding.file).name}").add_to(target)
    return [lat, lon]


def circle_bounds(lat: float, lon: float, radius_km: float) -> list[list[float]]:
    dlat = min(89.0, math.degrees(radius_km / 6371.0))
    return [[max(-89.0, lat - dlat), lon], [min(89.0, lat + dlat), lon]]


def _country_tint(code: str) -> str:
    """A pale colour per country, so the two sides of a border differ at a glance."""
    tints = ("#f4f1ea", "#dfe9d8", "#e9dfd0", "#d9e3ec", "#eadbe3", "#e6e6cf")
    return tints[int(hashlib.sha1(code.encode()).hexdigest(), 16) % len(tints)]


def add_fine_boundaries(fmap: folium.Map, findings: Sequence[Finding]) -> None:
    """The exact borders that decided each point's country, for city zoom (see places.boundaries).
    Added before the markers, so it lies under them."""
    collection = fine_boundaries([(f.exif_lat, f.exif_lon) for f in findings if f.exif_lat is not None]
                                 + [(f.pred_lat, f.pred_lon) for f in findings if f.pred_lat is not None])
    if collection["features"]:
        folium.GeoJson(collection, name="Borders near the points (OpenStreetMap, as used for the country)",
                       style_function=lambda feature: {"fillColor": _country_tint(feature["properties"]["iso_a2"]),
                                                       "color": "#555555", "weight": 1.5, "fillOpacity": 0.45},
                       tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False)).add_to(fmap)


def fit_to(fmap: folium.Map, bounds: list[list[float]]) -> None:
    if not bounds:
        return
    lats = [b[0] for b in bounds]
    lons = [b[1] for b in bounds]
    pad = 2.0  # degrees: keep the surrounding country outlines in view for context
    fmap.fit_bounds([[min(lats) - pad, min(lons) - pad], [max(lats) + pad, max(lons) + pad]], max_zoom=7)
