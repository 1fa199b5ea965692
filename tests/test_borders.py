"""Countries right at borders, in territorial waters and across the antimeridian (issue #12).

``tests/data/border_points.csv`` is built by ``tools/build_border_points.py``: GeoNames
towns on both sides of 56 borders (the issue's city pairs and Baarle's enclaves among
them), every microstate and small island state, harbours, both sides of the
antimeridian and open ocean; each row names the source it was checked against. The
previous Natural Earth 1:110m geocoder got 75 of its 302 countries wrong.
"""
from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

BORDER_POINTS = Path(__file__).parent / "data" / "border_points.csv"


def _rows() -> list[dict]:
    with open(BORDER_POINTS, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_border_set_covers_what_the_issue_asks():
    rows = _rows()
    sides = defaultdict(set)
    for row in rows:
        if row["border"]:
            sides[row["border"]].add(row["country"])
            assert 1.0 <= float(row["km_inside"]) <= 5.0, row
        assert row["source"], row
    assert len(rows) >= 150
    assert sum(len(s) == 2 for s in sides.values()) >= 40
    names = {(r["name"], r["country"]) for r in rows}
    for pair in [("Goerlitz", "DE"), ("Zgorzelec", "PL"), ("Narva", "EE"), ("Ivangorod", "RU"), ("Valga", "EE"),
                 ("Valka", "LV"), ("Tornio", "FI"), ("Haparanda", "SE"), ("Gorizia", "IT"), ("Nova Gorica", "SI"),
                 ("Komarno", "SK"), ("Komarom", "HU"), ("Ruse", "BG"), ("Giurgiu", "RO"), ("Nogales", "US"),
                 ("Laredo", "US"), ("Nuevo Laredo", "MX"), ("Calexico", "US"), ("Mexicali", "MX"),
                 ("Baarle-Nassau", "NL"), ("Baarle-Hertog", "BE"), ("Frankfurt (Oder)", "DE")]:
        assert pair in names, pair
    kinds = {r["kind"] for r in rows}
    assert {"small_state", "harbour", "antimeridian", "open_water"} <= kinds
    antimeridian = [float(r["lon"]) for r in rows if r["kind"] == "antimeridian"]
    assert min(antimeridian) < -170 and max(antimeridian) > 170


def test_border_set_zero_wrong_countries_and_continents(geocoder):
    rows = _rows()
    places = geocoder.reverse_many([float(r["lat"]) for r in rows], [float(r["lon"]) for r in rows])
    wrong = [(r["name"], r["country"], p.country_code, r["source"]) for r, p in zip(rows, places)
             if (p.country_code or "") != r["country"] or (p.continent or "") != r["continent"]]
    assert wrong == []


@pytest.mark.parametrize("point,code", [
    ((46.2044, 6.1432), "CH"),  # Geneva: 1:110m said France
    ((50.7753, 6.0839), "DE"),  # Aachen: 1:110m said Belgium
    ((50.8514, 5.6910), "NL"),  # Maastricht: 1:110m said Belgium
    ((46.4008, 6.5897), "FR"),  # Évian: 1:110m said Switzerland
    ((31.7200, -106.4600), "MX"),  # Ciudad Juárez: 1:110m said United States
    ((42.3000, -83.0200), "CA"),  # Windsor: 1:110m said United States
])
def test_issue_cities(geocoder, point, code):
    assert geocoder.reverse(*point).country_code == code


def test_baarle_enclaves(geocoder):
    # The point of H1, Baarle-Hertog's largest Belgian enclave in the Netherlands, farthest from its line
    # (~190 m), and the same for the largest Dutch counter-enclave inside H1 (~65 m): OpenStreetMap
    # parcels, a few hundred metres across, that no 1:10m outline has.
    assert geocoder.reverse(51.43661, 4.92632).country_code == "BE"
    assert geocoder.reverse(51.43879, 4.92327).country_code == "NL"


def test_territorial_sea_names_the_coastal_country(geocoder):
    place = geocoder.reverse(52.40, 4.30)  # North Sea, ~16 km off Zandvoort
    assert place.country_code == "NL" and place.at_sea
    assert place.note.startswith("at sea, within 16 km of the coast of Netherlands")
    assert place.label == place.note


def test_beyond_the_territorial_sea_is_open_water(geocoder):
    place = geocoder.reverse(52.40, 3.60)  # ~65 km off the Dutch coast
    assert place.country is None and place.at_sea
    assert place.note.startswith("open water; nearest land: ")


@pytest.mark.parametrize("point,code,needle", [
    ((44.95, 34.10), "UA", "Crimea"),
    ((42.66, 21.16), "XK", "Kosovo"),
    ((27.15, -13.20), "EH", "Western Sahara"),
    ((31.90, 35.20), "PS", "Palestine"),
    ((25.03, 121.56), "TW", "Taiwan"),
    ((35.19, 33.36), "CY", "Northern Cyprus"),
    ((33.00, 35.73), "IL", "Golan"),
])
def test_political_conventions_are_stated_on_the_place(geocoder, point, code, needle):
    place = geocoder.reverse(*point)
    assert place.country_code == code and needle in place.note


def test_no_convention_note_where_none_applies(geocoder):
    assert geocoder.reverse(48.8584, 2.2945).note == ""


def test_map_draws_the_borders_that_decided(geocoder):
    """The offline map carries the exact OSM polygons around each point (Baarle's enclave lines),
    the same data that decided the country, beside the 1:10m world view."""
    import shapely

    from geoloc_core.case.findings import Finding
    from geoloc_core.case.maps.finding_maps import finding_map
    from geoloc_core.places.boundaries import fine_boundaries, world_outlines

    lat, lon = 51.43661, 4.92632  # inside Belgian enclave H1, surrounded by the Netherlands
    collection = fine_boundaries([(lat, lon)])
    shapes = {f["properties"]["iso_a2"]: shapely.geometry.shape(f["geometry"]) for f in collection["features"]}
    assert {"BE", "NL"} <= set(shapes)
    point = shapely.Point(lon, lat)
    inside = [code for code, shape in shapes.items() if shape.contains(point)]
    assert inside == [geocoder.reverse(lat, lon).country_code] == ["BE"]
    assert shapes["BE"].distance(point) == 0 and shapes["NL"].distance(point) < 0.005  # the enclave line, ~190 m
    html = finding_map(Finding(file="baarle.jpg", exif_lat=lat, exif_lon=lon)).get_root().render()
    assert html.count("L.geoJson(") == 2  # world view + the fine borders
    assert len(world_outlines()["features"]) > 200
