"""The maps' fine borders (#17 found it): building zone polygons vertex by vertex in Python made a Batch map
of 36 points in France and Germany take 65-107 s on the 2-core machine; numpy rings and a small polygon
cache make it seconds, with exactly the same polygons."""
from __future__ import annotations

import time

import pytest
import shapely

from geoloc_core.places.boundaries import _borders, fine_boundaries


@pytest.mark.parametrize("boundary_id", [0, 5, 100, 300, 449])
def test_numpy_rings_give_exactly_timezonefinders_polygon(boundary_id):
    borders = _borders()
    rings = borders._finder.get_polygon(boundary_id, coords_as_pairs=True)
    assert borders._polygon(boundary_id).equals_exact(shapely.Polygon(rings[0], rings[1:]), 0)


def test_polygons_with_holes_keep_them():
    borders = _borders()
    with_holes = next(i for i in range(len(borders._finder.boundaries)) if len(borders._finder._hole_ids_of(i)))
    rings = borders._finder.get_polygon(with_holes, coords_as_pairs=True)
    polygon = borders._polygon(with_holes)
    assert len(polygon.interiors) == len(rings) - 1 >= 1
    assert polygon.equals_exact(shapely.Polygon(rings[0], rings[1:]), 0)


def test_fine_borders_for_a_batch_in_france_and_germany_take_seconds():
    points = [(46 + 0.4 * n, 2 + 0.6 * n) for n in range(18)] + [(46.3 + 0.4 * n, 2.5 + 0.6 * n) for n in range(18)]
    start = time.perf_counter()
    collection = fine_boundaries(points)
    elapsed = time.perf_counter() - start
    assert {f["properties"]["iso_a2"] for f in collection["features"]} == {"FR", "DE"}
    assert elapsed < 30, f"{elapsed:.1f} s (was 65-107 s before numpy rings)"
