from __future__ import annotations

import numpy as np
import pytest

from geoloc_core.places.geocoding import CONTINENTS, NominatimGeocoder, load_country_info
from geoloc_core.places.natural_earth import NaturalEarthCountries
from geoloc_core.places.osm_borders import zone_countries

KNOWN = [
    ((48.8584, 2.2945), "FR", "Europe"),
    ((40.6892, -74.0445), "US", "North America"),
    ((-33.8568, 151.2153), "AU", "Oceania"),
    ((-22.9519, -43.2105), "BR", "South America"),
    ((30.0444, 31.2357), "EG", "Africa"),
    ((35.6762, 139.6503), "JP", "Asia"),
    ((55.7558, 37.6173), "RU", "Europe"),
    ((55.0084, 82.9357), "RU", "Asia"),
    ((-77.8463, 166.6683), "AQ", "Antarctica"),
    ((42.6629, 21.1655), "XK", "Europe"),  # Kosovo: -99 in Natural Earth's copy
    ((60.1699, 24.9384), "FI", "Europe"),
    ((59.9139, 10.7522), "NO", "Europe"),  # Norway: -99 in some Natural Earth releases
    ((1.2903, 103.8519), "SG", "Asia"),  # small states missing from 1:110m
    ((35.8989, 14.5146), "MT", "Europe"),
    ((42.5063, 1.5218), "AD", "Europe"),
    ((43.7384, 7.4246), "MC", "Europe"),
    ((-17.7134, 178.0650), "FJ", "Oceania"),  # crosses the antimeridian
    ((64.1466, -21.9426), "IS", "Europe"),
]


@pytest.mark.parametrize("point,code,continent", KNOWN)
def test_known_points(geocoder, point, code, continent):
    place = geocoder.reverse(*point)
    assert place.country_code == code, place
    assert place.continent == continent
    assert not place.at_sea and place.nearest_place and place.nearest_place_km < 60


def test_open_water_names_nearest_land(geocoder):
    place = geocoder.reverse(0.0, -30.0)  # mid-Atlantic
    assert place.at_sea and place.country is None and place.continent is None
    assert place.note.startswith("open water; nearest land: ")
    assert place.nearest_place_km > 100 and f"{place.nearest_place_km:,.0f} km" in place.note


def test_shipped_assets_have_clean_codes_and_continents():
    info = load_country_info()
    codes = set(NaturalEarthCountries().codes) - {"-"} | set(zone_countries().values())
    assert all(len(c) == 2 and c.isalpha() and c.isupper() for c in codes)
    assert codes <= set(info), codes - set(info)
    assert {info[c]["continent"] for c in codes} <= set(CONTINENTS)


def test_bulk_matches_single(geocoder):
    rng = np.random.default_rng(1)
    lats, lons = rng.uniform(-60, 70, 200), rng.uniform(-180, 180, 200)
    bulk = geocoder.reverse_many(lats, lons)
    for i in range(0, 200, 37):
        assert bulk[i] == geocoder.reverse(lats[i], lons[i])
    assert geocoder.reverse_many([], []) == []


class _FailingNominatim:
    def reverse(self, *args, **kwargs):
        from geopy.exc import GeocoderUnavailable
        raise GeocoderUnavailable("no network")


class _FakeLocation:
    address = "Tour Eiffel, Paris, France"
    raw = {"address": {"country": "France", "country_code": "fr"}}


class _WorkingNominatim:
    calls = 0

    def reverse(self, *args, **kwargs):
        type(self).calls += 1
        return _FakeLocation()


def test_online_failure_falls_back_to_offline_with_a_note(geocoder):
    online = NominatimGeocoder(fallback=geocoder, geolocator=_FailingNominatim(), min_delay_seconds=0)
    place = online.reverse(48.8584, 2.2945)
    assert place.country_code == "FR" and place.source == "offline"
    assert "online geocoder failed (GeocoderUnavailable)" in place.note


def test_online_results_are_cached(geocoder):
    online = NominatimGeocoder(fallback=geocoder, geolocator=_WorkingNominatim(), min_delay_seconds=0)
    first = online.reverse(48.8584, 2.2945)
    second = online.reverse(48.8584, 2.2945)
    assert first.source == "nominatim" and first.country_code == "FR" and first.continent == "Europe"
    assert second is first and _WorkingNominatim.calls == 1
