"""Property-based tests for the conversions every distance and every training target rests on."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoloc_core.places.geodesy import (EARTH_RADIUS_KM, geodesic_km, haversine_km, latlon_to_unit, normalize_lon,
                             unit_to_latlon)
from geoloc_core.evidence.exif import read_exif

lats = st.floats(-90, 90, allow_nan=False)
lons = st.floats(-180, 180, allow_nan=False)


@given(lats, lons)
def test_unit_vector_round_trip(lat, lon):
    back_lat, back_lon = unit_to_latlon(latlon_to_unit(lat, lon))
    assert abs(back_lat - lat) < 1e-9
    if abs(lat) < 89.999999:  # longitude is undefined at the poles
        assert abs((back_lon - normalize_lon(lon) + 180) % 360 - 180) < 1e-7
        assert -180 <= back_lon < 180


@given(lats, lons, lats, lons, lats, lons)
def test_haversine_is_a_metric(a1, o1, a2, o2, a3, o3):
    d12, d21 = haversine_km(a1, o1, a2, o2), haversine_km(a2, o2, a1, o1)
    assert d12 == pytest.approx(d21, abs=1e-6)
    assert haversine_km(a1, o1, a1, o1) == pytest.approx(0, abs=1e-6)
    assert 0 <= d12 <= math.pi * EARTH_RADIUS_KM + 1e-6
    assert haversine_km(a1, o1, a3, o3) <= d12 + haversine_km(a2, o2, a3, o3) + 1e-6


def test_known_distances_antimeridian_and_poles():
    assert haversine_km(0, 179.5, 0, -179.5) == pytest.approx(111.2, abs=0.1)
    assert geodesic_km(0, 179.5, 0, -179.5) == pytest.approx(111.3, abs=0.1)
    assert haversine_km(90, 0, 90, 123) == pytest.approx(0, abs=1e-6)
    assert haversine_km(90, 0, -90, 0) == pytest.approx(math.pi * EARTH_RADIUS_KM)
    assert geodesic_km(40.7128, -74.0060, 51.5074, -0.1278) == pytest.approx(5585, abs=10)  # NYC-London
    assert normalize_lon(180) == -180 and normalize_lon(-540) == -180 and normalize_lon(190) == -170
    assert np.allclose(latlon_to_unit(0, 0), [1, 0, 0]) and np.allclose(latlon_to_unit(90, 0), [0, 0, 1])


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 89), st.integers(0, 59), st.integers(0, 10**7), st.integers(1, 10**6), st.booleans())
def test_exif_rational_parsing_is_exact(deg, minutes, sec_num, sec_den, south):
    from tests.imagegen import ASCII, RATIONAL, jpeg_with_raw_exif, rational_payload, raw_gps_tiff

    seconds = Fraction(sec_num, sec_den)
    expected = float(deg + Fraction(minutes, 60) + seconds / 3600)
    entries = [(1, ASCII, 2, b"S\x00" if south else b"N\x00"),
               (2, RATIONAL, 3, rational_payload((deg, 1), (minutes, 1), (sec_num, sec_den))),
               (3, ASCII, 2, b"E\x00"), (4, RATIONAL, 3, rational_payload((10, 1), (0, 1), (0, 1)))]
    facts = read_exif(jpeg_with_raw_exif(raw_gps_tiff(entries)))
    if expected > 90:
        assert facts.GPSLatitude is None and any("out of range" in w for w in facts.warnings)
    else:
        assert facts.GPSLatitude == pytest.approx(-expected if south else expected, abs=1e-12)
