"""Boundary GeoJSON for the offline map: the same outlines the geocoder decided with.

Two layers, because one cannot be both small and exact:

* ``world_outlines()``: Natural Earth 1:10m countries (the land/sea layer of the
  decision), simplified to ~8 km for the world view (``assets/world_outlines.geojson``,
  0.55 MB, written by ``tools/build_boundary_assets.py``).
* ``fine_boundaries(points)``: the OpenStreetMap country polygons that decided each
  point's country, clipped to a box around it and simplified only by ~5 m, so at city
  zoom the analyst sees which side of a border (or of an enclave line) a point is on.
  They include the 12-nautical-mile territorial sea, as the decision does.
"""
from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Iterable

WORLD_OUTLINES = Path(__file__).resolve().parents[2] / "assets" / "world_outlines.geojson"
FINE_SIMPLIFY_DEG = 0.00005  # ~5 m
FINE_HALF_KM = 15.0
MAX_FINE_BOXES = 40  # a batch map keeps its HTML small: boxes beyond this are not drawn


def world_outlines() -> dict:
    """The world view (a fresh copy: callers may add to it)."""
    return json.loads(_world_text())


@lru_cache(maxsize=1)
def _world_text() -> str:
    return WORLD_OUTLINES.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _borders():
    from .osm_borders import OsmBorders

    return OsmBorders()


def _box(lat: float, lon: float, half_km: float) -> tuple[float, float, float, float]:
    dlat = half_km / 111.2
    dlon = half_km / (111.2 * max(0.05, math.cos(math.radians(lat))))
    return max(-180.0, lon - dlon), max(-90.0, lat - dlat), min(180.0, lon + dlon), min(90.0, lat + dlat)


def fine_boundaries(points: Iterable[tuple[float, float]], half_km: float = FINE_HALF_KM) -> dict:
    """OpenStreetMap country polygons (as used for the country decision) around each (lat, lon)."""
    import shapely

    from .geocoding import country_name

    cells, boxes = set(), []
    for lat, lon in points:
        if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
            continue
        cell = (round(lat * 4), round(lon * 4))  # one box per ~25 km cell
        if cell not in cells and len(boxes) < MAX_FINE_BOXES:
            cells.add(cell)
            boxes.append(_box(lat, lon, half_km))
    pieces: dict[str, list] = {}
    for box in boxes:
        for code, geometry in _borders().polygons_in_box(*box):
            pieces.setdefault(code, []).append(geometry)
    features = []
    for code, parts in sorted(pieces.items()):
        geometry = shapely.simplify(shapely.union_all(parts), FINE_SIMPLIFY_DEG)
        features.append({"type": "Feature", "properties": {"name": country_name(code), "iso_a2": code},
                         "geometry": json.loads(shapely.to_geojson(shapely.set_precision(geometry, 1e-6)))})
    return {"type": "FeatureCollection", "name": "countries_osm_fine", "features": features}
