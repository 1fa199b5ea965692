"""The opt-in Nominatim path as an analyst depends on it: what is sent, what is cached, what is shown when the
service fails or answers partly, and that a failure is always said next to the offline result.

A recording fake stands in for geopy's Nominatim (no network in tests) and for the offline geocoder, so these
tests do not depend on the offline country data.
"""
from __future__ import annotations

import pytest

from geoloc_core.places.geocoding import NOMINATIM_USER_AGENT, NominatimGeocoder, Place, continent_for

EIFFEL = (48.8584, 2.2945)


class _Offline:
    """The offline fallback: records the points it is asked about."""

    def __init__(self, note: str = ""):
        self.calls: list[tuple[float, float]] = []
        self.note = note

    def reverse(self, lat: float, lon: float) -> Place:
        self.calls.append((lat, lon))
        return Place("France", "FR", "Europe", "Paris, Ile-de-France, FR", 4.2, note=self.note)

    def reverse_many(self, lats, lons):
        return [self.reverse(a, b) for a, b in zip(lats, lons)]


class _Location:
    def __init__(self, address, raw_address):
        self.address = address
        self.raw = {"address": raw_address} if raw_address is not None else {}


class _Nominatim:
    """Answers every query with one location and records the queries."""

    def __init__(self, location=None, error: Exception | None = None):
        self.location, self.error = location, error
        self.queries: list[tuple[tuple, dict]] = []

    def reverse(self, *args, **kwargs):
        self.queries.append((args, kwargs))
        if self.error is not None:
            raise self.error
        return self.location


def _online(service, offline=None) -> tuple[NominatimGeocoder, _Offline]:
    offline = offline or _Offline()
    return NominatimGeocoder(fallback=offline, geolocator=service, min_delay_seconds=0), offline


def test_the_query_sends_the_point_in_english_at_city_zoom():
    service = _Nominatim(_Location("Tour Eiffel, Paris, France", {"country": "France", "country_code": "fr"}))
    online, offline = _online(service)
    place = online.reverse(*EIFFEL)
    assert service.queries == [((EIFFEL,), {"language": "en", "zoom": 10})]
    assert offline.calls == [EIFFEL]  # offline is always computed: it is the fallback
    assert place == Place("France", "FR", "Europe", "Tour Eiffel, Paris, France", 0.0, at_sea=False, note="",
                          source="nominatim")


def test_cache_key_is_the_point_rounded_to_five_decimals():
    service = _Nominatim(_Location("Paris", {"country": "France", "country_code": "fr"}))
    online, _ = _online(service)
    first = online.reverse(48.858400, 2.294500)
    assert online.reverse(48.858404, 2.294496) is first  # 0.4 m away: the same point to Nominatim
    assert len(service.queries) == 1
    online.reverse(48.858410, 2.294500)  # 1 m north: a new query
    online.reverse(48.858400, 2.294510)  # 1 m east: a new query
    assert len(service.queries) == 3


def test_a_failure_is_said_next_to_the_offline_result_and_retried_next_time():
    online, _ = _online(_Nominatim(error=RuntimeError("network down")))
    place = online.reverse(*EIFFEL)
    assert place.source == "offline" and place.country_code == "FR"
    assert place.note == "online geocoder failed (RuntimeError); offline result shown"
    noted, _ = _online(_Nominatim(error=RuntimeError("x")), _Offline(note="country taken from the nearest place"))
    assert noted.reverse(*EIFFEL).note == ("country taken from the nearest place; online geocoder failed "
                                           "(RuntimeError); offline result shown")
    service = _Nominatim(error=RuntimeError("network down"))
    retry, _ = _online(service)
    retry.reverse(*EIFFEL)
    retry.reverse(*EIFFEL)
    assert len(service.queries) == 2  # failures are not cached


def test_no_answer_gives_the_offline_result_uncached():
    service = _Nominatim(None)
    online, offline = _online(service)
    place = online.reverse(*EIFFEL)
    assert place.source == "offline" and place.note == "" and place.nearest_place == "Paris, Ile-de-France, FR"
    online.reverse(*EIFFEL)
    assert len(service.queries) == 2 and len(offline.calls) == 2


def test_a_partial_answer_is_completed_from_offline():
    online, _ = _online(_Nominatim(_Location(None, {})))
    place = online.reverse(*EIFFEL)
    assert (place.country, place.country_code, place.continent) == ("France", "FR", "Europe")
    assert place.nearest_place is None and place.nearest_place_km == 4.2  # no address: the offline distance stays
    assert place.source == "nominatim"
    no_raw, _ = _online(_Nominatim(_Location("somewhere", None)))
    assert no_raw.reverse(*EIFFEL).country_code == "FR"
    only_country, _ = _online(_Nominatim(_Location("Bern", {"country": "Switzerland", "country_code": ""})))
    place = only_country.reverse(46.948, 7.4474)
    assert (place.country, place.country_code, place.continent) == ("Switzerland", "FR", "Europe")


@pytest.mark.parametrize("point,continent", [((55.7558, 37.6173), "Europe"), ((55.0084, 82.9357), "Asia")])
def test_the_continent_of_an_online_answer_uses_the_points_longitude(point, continent):
    online, _ = _online(_Nominatim(_Location("Russia", {"country": "Russia", "country_code": "ru"})))
    place = online.reverse(*point)
    assert place.country_code == "RU" and place.continent == continent


def test_continent_for_russia_splits_at_the_urals_and_the_antimeridian():
    assert continent_for("RU", 59.99) == "Europe" and continent_for("RU", 60.0) == "Asia"
    assert continent_for("RU", -168.0) == "Europe" and continent_for("RU", -169.0) == "Asia"  # Chukotka
    assert continent_for(None, 10.0) is None and continent_for("ZZ", 10.0) is None
    assert continent_for("FR", 2.3) == "Europe"


def test_reverse_many_answers_each_point_in_order():
    service = _Nominatim(_Location("x", {"country": "France", "country_code": "fr"}))
    online, _ = _online(service)
    places = online.reverse_many([48.1, 49.2], [2.1, 3.2])
    assert len(places) == 2 and [q[0][0] for q in service.queries] == [(48.1, 2.1), (49.2, 3.2)]


def test_rate_limit_and_identity_follow_the_usage_policy():
    online = NominatimGeocoder(fallback=_Offline())  # geopy's real client, never called here
    assert online._geolocator.headers["User-Agent"] == NOMINATIM_USER_AGENT and online._geolocator.timeout == 10
    limiter = online._reverse
    assert (limiter.min_delay_seconds, limiter.max_retries, limiter.swallow_exceptions) == (1.0, 1, False)
    assert NominatimGeocoder(fallback=_Offline(), min_delay_seconds=2.5)._reverse.min_delay_seconds == 2.5


def test_the_offline_geocoder_prints_nothing_on_stdout(capfd):
    """`scan` writes its JSON lines to stdout: the GeoNames package's loading chatter must not reach it."""
    from geoloc_core.places.geocoding import OfflineGeocoder

    geocoder = OfflineGeocoder()
    places = geocoder.reverse_many([48.8584, 0.0], [2.2945, -30.0])
    assert places[0].country_code == "FR" and places[1].at_sea
    captured = capfd.readouterr()
    assert captured.out == ""
    # the same fresh instance (its constructor builds the Kosovo and convention tables; the shared fixture is built
    # once per process): Pristina, Belgrade, Bouvet, Heard, Oslo, Simferopol, Taipei, the Golan
    points = [(42.6629, 21.1655), (44.8176, 20.4633), (-54.42, 3.36), (-53.08, 73.50), (59.9139, 10.7522),
              (44.95, 34.10), (25.03, 121.56), (33.00, 35.73), (41.9029, 12.4534)]
    places = geocoder.reverse_many([p[0] for p in points], [p[1] for p in points])
    assert [p.country_code for p in places] == ["XK", "RS", "BV", "HM", "NO", "UA", "TW", "IL", "VA"]
    assert places[8].region is None and places[1].region == "Central Serbia"  # the Vatican has no admin-1 region
    assert places[0].note.startswith("Kosovo: ") and places[1].note == "" and places[4].note == ""
    assert places[5].note.startswith("Crimea: ") and places[6].note.startswith("Taiwan: ")
    assert places[7].note.startswith("Golan Heights: ") and places[2].continent == "Antarctica"


@pytest.mark.parametrize("point,code,name", [((1.2903, 103.8519), "SG", "Singapore"), ((35.8989, 14.5146), "MT", "Malta"),
                                             ((42.5063, 1.5218), "AD", "Andorra"), ((43.7384, 7.4246), "MC", "Monaco")])
def test_small_states_are_named_in_words(geocoder, point, code, name):
    place = geocoder.reverse(*point)
    assert (place.country_code, place.country) == (code, name)  # a name an analyst can cite, not the ISO code
    assert place.nearest_place.endswith(f", {code}") and ", , " not in place.nearest_place


def test_a_point_inside_an_outline_needs_no_note_and_open_water_names_the_nearest_land(geocoder):
    paris = geocoder.reverse(48.8584, 2.2945)
    assert paris.country == "France" and paris.note == "" and paris.nearest_place.endswith(", Ile-de-France, FR")
    sea = geocoder.reverse(0.0, -30.0)
    assert sea.nearest_place and sea.note == f"open water; nearest land: {sea.nearest_place}, {sea.nearest_place_km:,.0f} km"


class _OfflineWithRegion(_Offline):
    def reverse(self, lat: float, lon: float) -> Place:
        place = super().reverse(lat, lon)
        place.region, place.region_source = "Ile-de-France", "offline admin-1"
        return place


def test_the_region_comes_from_nominatims_state_else_from_offline_with_its_source():
    online, _ = _online(_Nominatim(_Location("Paris", {"country": "France", "country_code": "fr",
                                                      "state": "Île-de-France"})), _OfflineWithRegion())
    place = online.reverse(*EIFFEL)
    assert (place.region, place.region_source) == ("Île-de-France", "Nominatim (OpenStreetMap)")
    without, _ = _online(_Nominatim(_Location("Paris", {"country": "France", "country_code": "fr"})),
                         _OfflineWithRegion())
    place = without.reverse(*EIFFEL)
    assert (place.region, place.region_source) == ("Ile-de-France", "offline admin-1")
