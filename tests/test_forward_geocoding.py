"""Offline forward geocoding of written places (geoloc_core/places/forward_geocoding.py)."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from geoloc_core.places.forward_geocoding import default_forward_geocoder

CASES = Path(__file__).resolve().parent / "data" / "forward_geocoding_cases.csv"


@pytest.fixture(scope="module")
def geocoder():
    return default_forward_geocoder()


def test_city_country_strings_in_many_scripts_resolve_to_the_right_country(geocoder):
    rows = list(csv.DictReader(CASES.open(encoding="utf-8")))
    assert len(rows) >= 200
    results = [(row, geocoder.locate_text(row["text"])) for row in rows]
    right = [row for row, place in results if place.country_code == row["country_code"]]
    located = [row for row, place in results if place.country_code == row["country_code"] and place.point]
    wrong = [(row["text"], place.country_code, place.note) for row, place in results
             if place.country_code != row["country_code"]]
    print(f"\nforward geocoding: {len(right)}/{len(rows)} right country, {len(located)} with a point")
    assert len(right) / len(rows) >= 0.95, wrong


@pytest.mark.parametrize("text", ["Kyiv, Ukraine", "Kiev", "Київ, Україна", "Киев"])
def test_kyiv_in_every_spelling(geocoder, text):
    place = geocoder.locate_text(text)
    assert place.country_code == "UA" and place.point == pytest.approx((50.45, 30.52), abs=0.05)


@pytest.mark.parametrize("text,cc", [("München", "DE"), ("Munich, Germany", "DE"), ("北京", "CN"),
                                     ("北京, 中国", "CN"), ("القاهرة، مصر", "EG")])
def test_other_languages_and_separators(geocoder, text, cc):
    assert geocoder.locate_text(text).country_code == cc


@pytest.mark.parametrize("text,countries", [("Springfield", {"US"}), ("San José", {"US", "CR"})])
def test_ambiguous_names_give_candidates_and_a_note_never_a_guess(geocoder, text, countries):
    place = geocoder.locate_text(text)
    assert place.point is None and place.level is None
    assert len(place.candidates) >= 2 and countries <= {c.country_code for c in place.candidates}
    assert "ambiguous" in place.note and "no point chosen" in place.note


def test_ambiguous_inside_one_country_keeps_the_country(geocoder):
    place = geocoder.locate_text("Springfield, USA")
    assert place.point is None and place.country_code == "US" and place.level == "country"
    assert "ambiguous" in place.note


def test_region_or_country_settles_it(geocoder):
    illinois = geocoder.locate_text("Springfield, Illinois, USA")
    assert illinois.region == "Illinois" and illinois.point == pytest.approx((39.80, -89.64), abs=0.05)
    capital = geocoder.locate_text("San José, Costa Rica")
    assert capital.country_code == "CR" and capital.point is not None and "smaller place" in capital.note


def test_country_only_and_unknown_places(geocoder):
    country = geocoder.locate_text("Ukraine")
    assert country.country_code == "UA" and country.point is None and "only a country" in country.note
    unknown = geocoder.locate(city="Xqzzyville", country="France")
    assert unknown.country_code == "FR" and unknown.point is None and "no GeoNames place" in unknown.note
    nothing = geocoder.locate(city="<img src=x onerror=alert(1)>", country='=HYPERLINK("x")')
    assert nothing.country_code is None and nothing.point is None and "not recognised" in nothing.note


def test_us_state_after_a_city_is_read_as_a_region(geocoder):
    place = geocoder.locate_text("Atlanta, Georgia")
    assert place.country_code == "US" and "read as a region" in place.note


def test_country_code_fields(geocoder):
    assert geocoder.locate(city="Lviv", country_code="UA").country_code == "UA"
    assert geocoder.locate(country_code="DEU").country_code == "DE"
    both = geocoder.locate(city="Paris", country="France", country_code="DE")
    assert both.country_code == "FR" and "disagree" in both.note
