"""The Natural Earth layers build their GEOS polygons on first use (#35 start-up, places/natural_earth.py
``RaggedGeometries``): the same polygons, the same envelopes and the same answers as building them all at
once with a tree of the polygons themselves, while a lookup builds only the areas it meets."""
from __future__ import annotations

import numpy as np
import pytest
import shapely

from geoloc_core.places.natural_earth import (NE_ADMIN1_FACES, NE_COUNTRIES, Admin1Faces, NaturalEarthCountries,
                                              containing, decode_lazily)
from geoloc_core.places.regions import _prepared_places


def _all_at_once(path):
    """The reference: every polygon from the whole ragged arrays in one call, a tree of the polygons."""
    outlines, _ = decode_lazily(path)
    geometries = shapely.from_ragged_array(outlines.kind, outlines.coords, outlines.offsets)
    shapely.prepare(geometries)
    return geometries, shapely.STRtree(geometries)


def _points(n: int, seed: int = 35) -> tuple[np.ndarray, np.ndarray]:
    """Random points on the globe, more of them over Europe's many small regions, and GeoNames towns."""
    rng = np.random.default_rng(seed)
    places = _prepared_places()
    towns = rng.choice(len(places["lat_e5"]), n // 4, replace=False)
    lats = np.concatenate([rng.uniform(-90, 90, n // 2), rng.uniform(35, 60, n // 4),
                           places["lat_e5"][towns] * 1e-5])
    lons = np.concatenate([rng.uniform(-180, 180, n // 2), rng.uniform(-10, 40, n // 4),
                           places["lon_e5"][towns] * 1e-5])
    return lats, lons


@pytest.mark.parametrize("layer, path", [(NaturalEarthCountries, NE_COUNTRIES), (Admin1Faces, NE_ADMIN1_FACES)])
def test_lazily_built_areas_answer_as_all_built_at_once(layer, path):
    geometries, tree = _all_at_once(path)
    lats, lons = _points(40_000)
    lazy = layer()
    found = lazy.index_at(lats, lons)
    assert np.array_equal(found, containing(tree, geometries, lats, lons))
    assert (found >= 0).sum() > 10_000  # the sample reaches land
    assert np.array_equal(lazy._outlines.bounds(), shapely.bounds(geometries))
    assert shapely.equals_exact(lazy.geometries, geometries, tolerance=0).all()


def test_a_lookup_builds_only_the_areas_it_meets():
    faces = Admin1Faces()
    towns = [(48.86, 2.35), (40.71, -74.0), (35.69, 139.69), (-33.87, 151.21), (50.45, 30.52)]
    found = faces.faces_at(np.array([t[0] for t in towns]), np.array([t[1] for t in towns]))
    assert (found >= 0).all()
    built = int(faces._outlines._have.sum())
    assert len(towns) <= built < len(faces) // 20, built


def test_countries_km_to_the_coast_is_unchanged_by_lazy_outlines():
    geometries, _ = _all_at_once(NE_COUNTRIES)
    lats, lons = _points(400, seed=7)
    km, codes = NaturalEarthCountries().coast_km(lats, lons)
    land = NaturalEarthCountries()
    land._outlines.all()  # everything built first: the other way round
    km_all, codes_all = land.coast_km(lats, lons)
    assert np.array_equal(km, km_all) and np.array_equal(codes, codes_all) and np.isfinite(km).all()
    assert len(geometries) == len(land)
