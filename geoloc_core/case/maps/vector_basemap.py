"""Draw a local vector basemap (Mapbox Vector Tiles) under a folium map, in the browser, offline.

Why protomaps-leaflet: it is a Leaflet layer (the maps here are Leaflet/folium), draws with the
2D canvas (no WebGL, so it also works in VMs and headless browsers), fetches only the tile URLs it
is given, and ships as one 128 kB script in the npm package ``protomaps-leaflet`` (BSD-3-Clause),
vendored byte for byte under ``assets/vendor/`` (see its README) and served from the app's own
static folder. MapLibre GL would need WebGL and a style document.

Styling: a basemap in the Protomaps schema (layers ``earth``, ``roads``, ``places``, ...) gets the
library's own "light" flavour; any other schema (OpenMapTiles, an organisation's own) gets generic
rules per layer: areas filled (water blue), lines grey, names of points and lines as labels. Layer
names and the attribution come from the file, so they enter the page only as inert ``\\uXXXX``
string literals (:func:`maps.js_text_literal`); labels are drawn on a canvas, never as HTML; the
attribution is HTML-escaped first because Leaflet shows attributions as HTML.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

from branca.element import MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from .layers import js_text_literal

VENDOR_DIR = Path(__file__).resolve().parents[3] / "assets" / "vendor"  # the repository's assets/vendor
SCRIPT = "protomaps-leaflet-5.1.0.js"
PROTOMAPS_SCHEMA = {"earth", "roads", "places", "water"}
_WATER = re.compile(r"water|ocean|sea|lake|river", re.IGNORECASE)


def vendor_vector_assets(folder: str | Path) -> list[str]:
    """Copy the vendored renderer into the served folder (idempotent); returns the file names."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = (VENDOR_DIR / SCRIPT).read_bytes()
    target = folder / SCRIPT
    if not target.exists() or target.read_bytes() != data:
        target.write_bytes(data)
    return [SCRIPT]


def layer_style(name: str) -> str:
    """'water' for layers whose name says water, else 'land' (fill colours differ)."""
    return "water" if _WATER.search(name) else "land"


class VectorBasemap(JSCSSMixin, MacroElement):
    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (map, url, layers, attribution, maxDataZoom, protomapsSchema) {
            var P = protomapsL;
            var options = {url: url, maxDataZoom: maxDataZoom, attribution: attribution, pane: "tilePane"};
            if (protomapsSchema) {
                options.flavor = "light";
                options.lang = "en";
            } else {
                var paint = [], labels = [];
                var areas = function (z, f) { return f.geomType === 3; };
                var lines = function (z, f) { return f.geomType === 2; };
                var points = function (z, f) { return f.geomType === 1; };
                layers.forEach(function (layer) {
                    var water = layer[1] === "water";
                    paint.push({dataLayer: layer[0], filter: areas, symbolizer: new P.PolygonSymbolizer(
                        {fill: water ? "#aad3df" : "#e6e1d6", stroke: "#b8b2a6", width: 0.5})});
                    paint.push({dataLayer: layer[0], filter: lines, symbolizer: new P.LineSymbolizer(
                        {color: water ? "#7fb3c8" : "#8f8a80", width: 1.5})});
                    labels.push({dataLayer: layer[0], filter: points, symbolizer: new P.CenteredTextSymbolizer(
                        {labelProps: ["name:en", "name"], fill: "#222222", stroke: "#ffffff", width: 2,
                         font: "600 12px sans-serif"})});
                    labels.push({dataLayer: layer[0], filter: lines, symbolizer: new P.LineLabelSymbolizer(
                        {labelProps: ["name:en", "name"], fill: "#444444", stroke: "#ffffff", width: 2,
                         font: "11px sans-serif"})});
                });
                options.paintRules = paint;
                options.labelRules = labels;
                options.backgroundColor = "#f4f1ea";
            }
            window.geolocVectorBasemap = P.leafletLayer(options).addTo(map);
        })({{ this._parent.get_name() }}, {{ this.url_js }}, {{ this.layers_js }}, {{ this.attribution_js }},
           {{ this.max_zoom }}, {{ this.protomaps_schema }});
        {% endmacro %}
    """)

    def __init__(self, url: str, basemap, vendor_url_prefix: str):
        super().__init__()
        self._name = "VectorBasemap"
        self.default_js = [("protomapsL", vendor_url_prefix + SCRIPT)]
        self.url_js = js_text_literal(url)
        layers = basemap.vector_layers
        self.layers_js = "[" + ",".join(f"[{js_text_literal(n)},{js_text_literal(layer_style(n))}]"
                                        for n in layers) + "]"
        self.attribution_js = js_text_literal(html.escape(basemap.attribution))
        self.max_zoom = int(basemap.max_zoom)
        self.protomaps_schema = "true" if PROTOMAPS_SCHEMA <= set(layers) else "false"
