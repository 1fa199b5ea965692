"""The shadow band (``places.shadows``) on the offline map, with the points it is read against.

Separate from ``maps`` because it draws a computed area, not findings: nothing here
comes from a file, so there are no popups to escape; labels are fixed strings.
"""
from __future__ import annotations

import folium

from .layers import EXIF_COLOR, PREDICTION_COLOR, base_map

BAND_COLOR = "#e6a100"


def shadow_band_map(collection: dict, exif_point: tuple[float, float] | None = None,
                    predicted: tuple[float, float, float | None] | None = None,
                    online_tiles: bool = False) -> folium.Map:
    """``collection``: ``places.shadows.band_geojson``; ``predicted``: lat, lon, 90 % radius in km."""
    fmap = base_map(online_tiles)
    folium.GeoJson(collection, name="Where the sun stood so",
                   style_function=lambda _: {"fillColor": BAND_COLOR, "color": BAND_COLOR, "weight": 0.5,
                                             "fillOpacity": 0.45}).add_to(fmap)
    bounds = []
    if exif_point is not None:
        folium.CircleMarker(list(exif_point), radius=6, color=EXIF_COLOR, fill=True, fill_opacity=0.9,
                            tooltip="EXIF GPS").add_to(fmap)
        bounds.append(list(exif_point))
    if predicted is not None:
        lat, lon, radius = predicted
        folium.CircleMarker([lat, lon], radius=6, color=PREDICTION_COLOR, fill=True, fill_opacity=0.9,
                            tooltip="Prediction").add_to(fmap)
        if radius:
            folium.Circle([lat, lon], radius=radius * 1000, color=PREDICTION_COLOR, fill=False, dash_array="6 6",
                          tooltip="Model's 90 % region").add_to(fmap)
        bounds.append([lat, lon])
    geometry = collection["features"][0]["geometry"]
    if geometry.get("coordinates"):
        from shapely.geometry import shape

        west, south, east, north = shape(geometry).bounds
        bounds += [[south, west], [north, east]]
    if bounds:
        fmap.fit_bounds([[min(b[0] for b in bounds), min(b[1] for b in bounds)],
                         [max(b[0] for b in bounds), max(b[1] for b in bounds)]])
    return fmap
