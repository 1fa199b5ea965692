from __future__ import annotations

import json
import math

import pytest

from geoloc_core.learning.metrics import THRESHOLDS_KM, compute_metrics, distances_km

PARIS, LONDON, NYC, SYDNEY = (48.8566, 2.3522), (51.5074, -0.1278), (40.7128, -74.0060), (-33.8688, 151.2093)


def test_known_city_pairs_both_conventions():
    d = distances_km([PARIS[0], NYC[0]], [PARIS[1], NYC[1]], [LONDON[0], LONDON[0]], [LONDON[1], LONDON[1]])
    assert d[0] == pytest.approx(343.9, abs=0.5)  # geodesic Paris-London
    assert d[1] == pytest.approx(5585.2, abs=2)  # geodesic NYC-London
    h = distances_km([PARIS[0]], [PARIS[1]], [LONDON[0]], [LONDON[1]], "haversine")
    assert h[0] == pytest.approx(343.5, abs=0.5)
    assert distances_km([NYC[0]], [NYC[1]], [SYDNEY[0]], [SYDNEY[1]])[0] == pytest.approx(15988, abs=15)


def test_antimeridian_and_poles():
    assert distances_km([0], [179.9], [0], [-179.9], "haversine")[0] == pytest.approx(2 * math.pi * 6371 * 0.2 / 360, rel=1e-6)
    assert distances_km([89.999], [0], [89.999], [180], "haversine")[0] < 0.3
    assert distances_km([90], [0], [-90], [0], "haversine")[0] == pytest.approx(math.pi * 6371, rel=1e-9)
    assert distances_km([90], [0], [-90], [0])[0] == pytest.approx(20003.9, abs=0.5)  # WGS-84 meridian pole to pole


def test_thresholds_inclusive_vs_exclusive_and_geoscore():
    # a point exactly 25 km (haversine, R=6371) north of the truth
    dlat = math.degrees(25.0 / 6371.0)
    metrics_h = compute_metrics([0.0], [0.0], [dlat], [0.0], convention="haversine")
    assert metrics_h.within_pct["city"] == 0.0  # OSV-5M: d < t
    d_geo = distances_km([0.0], [0.0], [dlat], [0.0])[0]
    metrics_g = compute_metrics([0.0, 0.0], [0.0, 0.0], [dlat, 0.0], [0.0, 0.0])
    assert metrics_g.within_pct["city"] == (100.0 if d_geo <= 25 else 50.0)
    assert metrics_g.within_pct["street"] == 50.0
    perfect = compute_metrics([10, 20], [30, 40], [10, 20], [30, 40])
    assert perfect.geoscore == pytest.approx(5000) and perfect.median_km == 0
    far = compute_metrics([0], [0], [0], [180], convention="haversine")
    assert far.geoscore == pytest.approx(5000 * math.exp(-math.pi * 6371 / 1492.7), rel=1e-6)


def test_coverage_and_outputs():
    m = compute_metrics([0, 0, 0, 0], [0, 0, 0, 0], [0, 1, 2, 3], [0, 0, 0, 0], radius90_km=[1, 200, 250, 300])  # errors 0, 111, 221, 332 km
    assert m.coverage90_pct == 75.0
    table = m.to_markdown("mine", "im2gps3k")
    assert "| street 1 km | city 25 km | region 200 km | country 750 km | continent 2500 km |" in table
    assert "GeoCLIP (published) | 14.11 | 34.47 | 50.65 | 69.67 | 83.82" in table
    assert "WGS-84 geodesic" in table
    data = json.loads(m.to_json())
    assert data["convention"] == "geodesic" and set(data["within_pct"]) == {n for n, _ in THRESHOLDS_KM}
