"""Shadows that locate (#17): the band where the sun stood so, checked against astral.

astral is an independent implementation of the solar position; every expectation here
comes from it (or from geometry), never from the module under test.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from astral import Observer
from astral.sun import azimuth as astral_azimuth
from astral.sun import elevation as astral_elevation
from shapely.geometry import shape

from geoloc_core.cli import main
from geoloc_core.places import shadows

UTC = timezone.utc


def _astral(lat, lon, when):
    return astral_elevation(Observer(lat, lon), when, with_refraction=False)


def _lat_with_elevation(lon, when, target, south, north):
    """Bisection along a meridian on astral's elevation: an independent point of the locus."""
    lo, hi = south, north
    f_lo = _astral(lo, lon, when) - target
    for _ in range(60):
        mid = (lo + hi) / 2
        f_mid = _astral(mid, lon, when) - target
        if (f_mid > 0) == (f_lo > 0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return (lo + hi) / 2


@pytest.mark.parametrize("lat, lon, when", [
    (40.7128, -74.0060, datetime(2024, 7, 4, 16, 30, tzinfo=UTC)),   # New York, afternoon
    (-33.8688, 151.2093, datetime(2024, 12, 21, 2, 0, tzinfo=UTC)),  # Sydney, summer noon
    (78.22, 15.65, datetime(2024, 6, 21, 23, 0, tzinfo=UTC)),        # Svalbard, midnight sun
    (64.14, -21.94, datetime(2024, 1, 10, 13, 0, tzinfo=UTC)),       # Reykjavik, low winter sun
    (-17.7, 178.9, datetime(2023, 3, 1, 22, 15, tzinfo=UTC)),        # Fiji, by the antimeridian
])
def test_sun_elevation_and_azimuth_agree_with_astral(lat, lon, when):
    elevation, azimuth = shadows.sun_position(lat, lon, when)
    assert float(elevation) == pytest.approx(_astral(lat, lon, when), abs=0.05)
    assert (float(azimuth) - astral_azimuth(Observer(lat, lon), when) + 180) % 360 - 180 == pytest.approx(0, abs=0.1)


def test_elevation_from_shadow_and_bad_measurements():
    assert shadows.sun_elevation_from_shadow(1, 1) == pytest.approx(45)
    assert shadows.sun_elevation_from_shadow(1, 0.475) == pytest.approx(64.59, abs=0.01)
    with pytest.raises(ValueError, match="positive"):
        shadows.sun_elevation_from_shadow(1, 0)
    with pytest.raises(ValueError, match="UTC offset"):
        shadows.parse_utc_time("2024-06-21T11:50:00")


def test_points_where_the_sun_matches_are_inside_and_five_degrees_off_are_outside():
    when = datetime(2024, 3, 15, 9, 20, tzinfo=UTC)
    band = shadows.shadow_band(when, 30.0, elevation_tolerance_deg=1.0, resolution_deg=0.1)
    for lon in (20.0, 40.0, 60.0, 75.0):  # the sun is over 40 E: each meridian crosses 25..35 deg north of it
        lat = _lat_with_elevation(lon, when, 30.0, 0.0, 85.0)
        assert band.contains(lat, lon), (lat, lon)
        for off in (5.0, -5.0):
            lat_off = _lat_with_elevation(lon, when, 30.0 + off, 0.0, 85.0)
            assert not band.contains(lat_off, lon), (off, lat_off, lon)


def test_bearing_narrows_the_band_to_where_the_sun_stood_that_way():
    when = datetime(2024, 6, 21, 11, 50, tzinfo=UTC)
    elevation = shadows.sun_elevation_from_shadow(1, 0.475)
    ring = shadows.shadow_band(when, elevation, elevation_tolerance_deg=1.0)
    arc = shadows.shadow_band(when, elevation, elevation_tolerance_deg=1.0, shadow_bearing_deg=359)
    assert 0 < arc.area_km2() < ring.area_km2() / 10
    paris = (48.8566, 2.3522)
    assert abs(_astral(*paris, when) - elevation) < 1 and arc.contains(*paris)
    # on the same ring farther east it is already afternoon there: the sun stood south-west (shadow north-east)
    lat = _lat_with_elevation(15.0, when, elevation, 30.0, 85.0)
    assert ring.contains(lat, 15.0) and not arc.contains(lat, 15.0)
    assert astral_azimuth(Observer(lat, 15.0), when) > 200


def test_time_tolerance_widens_the_band_east_west():
    when = datetime(2024, 9, 1, 15, 0, tzinfo=UTC)
    exact = shadows.shadow_band(when, 20.0, elevation_tolerance_deg=0.5)
    loose = shadows.shadow_band(when, 20.0, elevation_tolerance_deg=0.5, time_tolerance_min=10)
    assert loose.area_km2() > exact.area_km2() * 1.5
    later = when + timedelta(minutes=8)
    lat = _lat_with_elevation(-110.0, later, 20.0, 10.0, 80.0)  # morning there: the sun climbs fast
    assert abs(_astral(lat, -110.0, when) - 20.0) > 0.7
    assert loose.contains(lat, -110.0) and not exact.contains(lat, -110.0)


def test_polar_day_and_night_are_handled():
    midnight = datetime(2024, 6, 21, 0, 0, tzinfo=UTC)
    band = shadows.shadow_band(midnight, 5.0, elevation_tolerance_deg=0.5)
    lat = _lat_with_elevation(0.0, midnight, 5.0, 60.0, 89.9)  # the midnight sun, north of the Arctic circle
    assert lat > 66 and band.contains(lat, 0.0)
    assert not band.contains(-75.0, 0.0)  # polar night: the sun is below the horizon all day
    assert (shadows.shadow_band(midnight, -20.0, elevation_tolerance_deg=0.5).contains(-75.0, 0.0)
            == (abs(_astral(-75.0, 0.0, midnight) + 20.0) <= 0.5))


def test_antimeridian_band_is_continuous_and_valid():
    when = datetime(2024, 3, 20, 3, 0, tzinfo=UTC)  # the sun over 135 E: the 30 deg ring crosses 180
    band = shadows.shadow_band(when, 30.0, elevation_tolerance_deg=1.0)
    lat = _lat_with_elevation(179.95, when, 30.0, 0.0, 80.0)
    assert band.contains(lat, 179.95) and band.contains(lat, -179.95)
    geometry = shape(shadows.band_geojson(band)["features"][0]["geometry"])
    assert geometry.is_valid and geometry.bounds[0] == pytest.approx(-180) and geometry.bounds[2] == pytest.approx(180)


def test_restrictions_to_a_circle_and_to_the_exif_utc_offset():
    when = datetime(2024, 6, 21, 11, 50, tzinfo=UTC)
    band = shadows.shadow_band(when, 64.59, elevation_tolerance_deg=1.5, resolution_deg=0.2)
    shadows.restrict_to_circle(band, 48.85, 2.35, 800)
    lats, lons = band.cell_centres()
    assert lats.size > 0 and all(abs(la - 48.85) < 8 for la in lats)
    assert band.contains(48.8566, 2.3522) and band.contains(50.0, -1.0)  # the Channel, near England
    shadows.restrict_to_utc_offset(band, timedelta(hours=2))  # CEST: France yes, UK (BST, +01:00) no
    assert band.contains(48.8566, 2.3522)
    assert not band.contains(50.6, -1.3)  # Isle of Wight: Europe/London is +01:00 in June
    assert any("UTC+02:00" in note for note in band.notes)


def test_cli_writes_the_band_as_geojson_and_names_countries(tmp_path, capsys):
    out = tmp_path / "band.geojson"
    code = main(["shadows", "--time", "2024-06-21T11:50:00Z", "--object-height", "1", "--shadow-length", "0.475",
                 "--shadow-bearing", "359", "--tolerance-deg", "1", "--out", str(out)])
    assert code == 0
    collection = json.loads(out.read_text())
    feature = collection["features"][0]
    geometry = shape(feature["geometry"])
    assert geometry.geom_type in ("Polygon", "MultiPolygon") and geometry.is_valid
    assert geometry.contains(shape({"type": "Point", "coordinates": [2.3522, 48.8566]}))
    assert "FR" in [c["code"] for c in feature["properties"]["countries"]]
    err = capsys.readouterr().err
    assert "km2" in err and "France (FR)" in err


def test_cli_refuses_a_time_without_offset_with_a_message(tmp_path, capsys):
    code = main(["shadows", "--time", "2024-06-21 11:50", "--sun-elevation", "40", "--out", str(tmp_path / "x")])
    assert code == 2
    err = capsys.readouterr().err
    assert "no UTC offset" in err and "Traceback" not in err
    assert main(["shadows", "--time", "2024-06-21T11:50Z", "--out", str(tmp_path / "x")]) == 2
    assert "--object-height" in capsys.readouterr().err


def test_exif_capture_time_needs_its_offset():
    assert shadows.exif_capture_time("2024-06-21T13:50:00+02:00") == datetime(2024, 6, 21, 11, 50, tzinfo=UTC)
    assert shadows.exif_capture_time("2024:06:21 08:00:00-04:00") == datetime(2024, 6, 21, 12, 0, tzinfo=UTC)
    assert shadows.exif_capture_time("2024-06-21T13:50:00") is None
    assert shadows.exif_capture_time("2024-13-45T13:50:00+02:00") is None
    assert shadows.exif_capture_time(None) is None


def test_countries_crossed_leaves_out_territorial_sea(geocoder):
    """#17 follow-up: a band cell in a country's territorial sea is water, not that country's land."""
    import numpy as np

    class Cells:  # two cell centres: one in the sea 8 km off Calais (French waters), one inland in Germany
        def cell_centres(self):
            return np.array([51.02, 50.11]), np.array([1.72, 8.68])

    sea = geocoder.reverse(51.02, 1.72)
    assert sea.at_sea and sea.country_code  # the premise: a territorial-sea cell with a country
    assert shadows.countries_crossed(Cells(), geocoder) == [("DE", "Germany")]
