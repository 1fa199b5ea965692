"""The offline reverse geocoder as an analyst relies on it, at the places where a wrong answer is easy to miss:
the poles and the antimeridian, the edge of valid coordinates, microstates and exclaves, the territorial sea
(12 nautical miles) and the shore, Kosovo, Bouvet and Heard (no time zone of their own), regions where no town
is near, and the regions named from the admin-1 areas.

Written to kill the mutants `make mutation MODULES=geocoding` found alive after the borders rewrite (#12): each
test states an analyst's expectation and checks it against an independent reference (a brute-force distance on
the densified 1:10m outline, the installed package's version), never against
a copy of the implementation. Fresh instances are built where a constructor or a lazily built index is under test:
the shared ``geocoder`` fixture is built once per process (conftest.py).
"""
from __future__ import annotations

import csv
import importlib.metadata
import math
import re

import numpy as np
import pytest

from geoloc_core.places.geodesy import EARTH_RADIUS_KM, haversine_km
from geoloc_core.places.geocoding import GOLAN_NOTE, KOSOVO_NOTE, ZONE_NOTES, country_name
from geoloc_core.places.natural_earth import NaturalEarthCountries, chord_to_km, decode
from geoloc_core.places.osm_borders import OsmBorders, data_versions
from geoloc_core.places.regions import REGION_SOURCE, PlaceIndex, places_csv

PARIS = (48.8584, 2.2945)
PRISTINA = (42.6629, 21.1655)
BELGRADE = (44.8176, 20.4633)
BOUVET = (-54.42, 3.36)  # Bouvet Island: Norway's, no time zone of its own
HEARD = (-53.08, 73.50)  # Heard Island: Australia's, no time zone of its own
OSLO = (59.9139, 10.7522)


def _brute_coast_km(lat: float, lon: float, box_deg: float = 1.0) -> float:
    """Distance (km) to the nearest 1:10m outline of a country, by brute force: every outline near the point,
    densified to ~50 m, and the smallest haversine distance. No k-d tree, no shortest-line refinement."""
    import shapely

    land = _land()
    best = math.inf
    for shift in (-360.0, 0.0, 360.0):  # near the antimeridian, the outlines on the other side too
        box = shapely.box(lon + shift - box_deg, lat - box_deg, lon + shift + box_deg, lat + box_deg)
        near = land.geometries[shapely.intersects(land.geometries, box) & (land.codes != "-")]
        for outline in shapely.intersection(shapely.boundary(near), box):
            coords = shapely.get_coordinates(shapely.segmentize(outline, 0.0005))
            if len(coords):
                km = haversine_km(np.full(len(coords), lat), np.full(len(coords), lon), coords[:, 1], coords[:, 0])
                best = min(best, float(km.min()))
    return best


_LAND: list[NaturalEarthCountries] = []


def _land() -> NaturalEarthCountries:
    if not _LAND:
        _LAND.append(NaturalEarthCountries())
    return _LAND[0]


# --- countries ----------------------------------------------------------------------------------------------------

def test_country_names_are_written_out_and_an_unknown_code_is_shown_as_is():
    assert (country_name("FR"), country_name("XK"), country_name("BV")) == ("France", "Kosovo", "Bouvet Island")
    assert country_name("ZZ") == "ZZ"


def test_kosovo_is_decided_by_its_own_outline_inside_the_belgrade_time_zone(geocoder):
    pristina, belgrade, nis, prizren = geocoder.reverse_many([PRISTINA[0], BELGRADE[0], 43.3209, 42.2139],
                                                             [PRISTINA[1], BELGRADE[1], 21.8958, 20.7397])
    assert (pristina.country_code, pristina.country, pristina.continent) == ("XK", "Kosovo", "Europe")
    assert pristina.note == KOSOVO_NOTE and prizren.country_code == "XK"
    assert (belgrade.country_code, nis.country_code) == ("RS", "RS") and belgrade.note == nis.note == ""


def test_islands_without_a_time_zone_take_their_country_from_the_land_outline(geocoder):
    bouvet, heard, oslo = geocoder.reverse_many([BOUVET[0], HEARD[0], OSLO[0]], [BOUVET[1], HEARD[1], OSLO[1]])
    assert (bouvet.country_code, bouvet.country, bouvet.continent) == ("BV", "Bouvet Island", "Antarctica")
    assert (heard.country_code, heard.continent) == ("HM", "Antarctica") and not heard.at_sea
    assert oslo.country_code == "NO"  # Norway itself is not renamed: only land south of 50°S filed under Norway
    sea = geocoder.reverse(-54.0, 3.36)  # 47 km north of Bouvet: open water
    assert sea.country_code is None and sea.note.startswith("open water; nearest land: ")


@pytest.mark.parametrize("point,code,name", [
    ((41.9029, 12.4534), "VA", "Holy See (Vatican City State)"),
    ((43.9356, 12.4473), "SM", "San Marino"),
    ((47.1410, 9.5209), "LI", "Liechtenstein"),
    ((47.6965, 8.6903), "DE", "Germany"),  # Büsingen am Hochrhein: German exclave inside Switzerland
    ((-0.5228, 166.9315), "NR", "Nauru"),
])
def test_microstates_and_exclaves(geocoder, point, code, name):
    place = geocoder.reverse(*point)
    assert (place.country_code, place.country, place.at_sea) == (code, name, False)
    assert place.nearest_place_km < 5
    if code == "VA":  # no admin-1 subdivision: no region, and none borrowed from Rome
        assert (place.region, place.region_source, place.label) == (None, "", f"{name}, Europe")


def test_the_golan_note_is_given_only_on_the_golan(geocoder):
    golan, galilee, jerusalem = geocoder.reverse_many([33.00, 32.80, 31.78], [35.73, 35.50, 35.23])
    assert (golan.country_code, golan.note) == ("IL", GOLAN_NOTE)
    assert (galilee.country_code, galilee.note) == ("IL", "") and (jerusalem.country_code, jerusalem.note) == ("IL", "")


# --- the edge of valid coordinates, the poles and the antimeridian ---------------------------------------------

def test_the_poles_and_the_edge_of_valid_coordinates_are_geocoded(geocoder):
    north, south, east, west = geocoder.reverse_many([90.0, -90.0, 66.0, 66.0], [0.0, 0.0, 180.0, -180.0])
    assert north.at_sea and north.country_code is None and north.note.startswith("open water; nearest land: ")
    assert (south.country_code, south.continent, south.at_sea) == ("AQ", "Antarctica", False)
    # Chukotka on both sides of the antimeridian: the same land, the same answer
    assert (east.country_code, east.continent) == (west.country_code, west.continent) == ("RU", "Asia")
    assert east.nearest_place == west.nearest_place and east.region == west.region == "Chukotskiy Avtonomnyy Okrug"


def test_out_of_range_or_missing_coordinates_are_refused_without_losing_the_batch(geocoder):
    lats = [90.0001, -90.0001, 0.0, 0.0, math.nan, math.inf, 48.8584, 0.0, None, 48.8584, 46.2044]
    lons = [0.0, 0.0, 180.0001, -180.0001, 0.0, 0.0, math.nan, -math.inf, 2.2945, None, 6.1432]
    places = geocoder.reverse_many(lats, lons)
    for place in places[:-1]:
        assert place.note == "invalid coordinate: not geocoded"
        assert (place.country, place.country_code, place.continent, place.nearest_place, place.at_sea) == \
               (None, None, None, None, False)
    assert places[-1].country_code == "CH" and places[-1].region == "Geneva"


@pytest.mark.parametrize("lon", [180.0, -180.0])
def test_fiji_at_the_antimeridian_is_fijian_water_on_both_sides(geocoder, lon):
    place = geocoder.reverse(-16.75, lon)  # between Vanua Levu and Taveuni, on the 180th meridian
    assert (place.country_code, place.continent, place.at_sea) == ("FJ", "Oceania", True)
    true_km = _brute_coast_km(-16.75, lon)
    assert place.note == f"at sea, within {math.ceil(true_km)} km of the coast of Fiji"


# --- the territorial sea, the shore, open water ------------------------------------------------------------------

@pytest.mark.parametrize("point,code,country", [
    ((43.20, 5.30), "FR", "France"),  # off Marseille
    ((52.40, 4.30), "NL", "Netherlands"),  # off Zandvoort
    ((43.70, 7.45), "MC", "Monaco"),
    ((35.95, -5.60), "ES", "Spain"),  # Strait of Gibraltar, Spanish side
    ((35.90, -5.60), "MA", "Morocco"),  # Strait of Gibraltar, Moroccan side
    ((60.00, 24.80), "FI", "Finland"),  # Gulf of Finland off Espoo
])
def test_within_twelve_nautical_miles_the_note_gives_the_true_distance_rounded_up(geocoder, point, code, country):
    place = geocoder.reverse(*point)
    assert (place.country_code, place.country, place.at_sea) == (code, country, True)
    true_km = _brute_coast_km(*point)
    assert 2.0 <= true_km <= 22.3  # the point really is in the 12-nautical-mile belt, off the shore
    # "within N km": the distance rounded up, never below it (50 m allowed for the brute force's own spacing)
    match = re.fullmatch(rf"at sea, within (\d+) km of the coast of {country}", place.note)
    assert match, place.note
    assert int(match.group(1)) - 1 < true_km + 0.05 and true_km - 0.05 <= int(match.group(1))
    assert place.label == place.note and place.region_source == (REGION_SOURCE if place.region else "")
    if code == "FR":  # the belt belongs to the coast's region too: Marseille's waters are in Provence
        assert (place.region, place.region_source) == ("Provence-Alpes-Cote d'Azur", REGION_SOURCE)


def test_within_two_km_of_the_outline_the_place_is_on_the_shore_not_at_sea(geocoder):
    place = geocoder.reverse(-8.5211, 179.1983)  # Funafuti, Tuvalu: an atoll the 1:10m outline cannot resolve
    assert (place.country_code, place.at_sea) == ("TV", False)
    assert place.note == ("on the shore or in harbour water of Tuvalu (within 2 km of the 1:10m coastline, "
                          "which cannot tell them apart)")
    assert place.label == "Funafuti, Tuvalu, Oceania"


def test_open_water_beyond_the_territorial_sea_names_the_nearest_land_and_no_country(geocoder):
    place = geocoder.reverse(52.40, 3.60)  # ~65 km off the Dutch coast
    assert (place.country, place.country_code, place.continent, place.region, place.at_sea) == \
           (None, None, None, None, True)
    assert place.note == f"open water; nearest land: {place.nearest_place}, {place.nearest_place_km:,.0f} km"
    assert place.nearest_place.endswith(", NL") or place.nearest_place.endswith(", GB")


# --- distance to the coast and the land/sea decision, on a fresh Natural Earth layer ----------------------------

def _assert_coast_km(km: float, point: tuple[float, float]) -> None:
    true_km = _brute_coast_km(*point, box_deg=1.0 if point != (0.0, -30.0) else 12.0)
    if true_km < 5.0:  # close to land the outline itself is measured: metres matter
        assert km == pytest.approx(true_km, abs=0.05), point
    else:  # farther out, the nearest outline vertex: never nearer than the outline, a few km at most beyond it
        assert true_km - 0.05 <= km <= true_km + 3.0, point


@pytest.mark.parametrize("point", [(43.20, 5.30), (52.40, 4.30), (43.28, 5.33), (52.40, 3.60),
                                   (-16.75, 180.0), (-16.75, -180.0), (-16.75, 179.99), (-16.75, -179.99),
                                   (-17.00, -179.999),  # south of Taveuni: the nearest shore is across the line
                                   (0.0, -30.0)])
def test_distance_to_the_coast_matches_a_brute_force_distance(point):
    km, codes = _land().coast_km(np.array([point[0]]), np.array([point[1]]))
    _assert_coast_km(float(km[0]), point)
    assert len(codes) == 1 and codes[0] != "-"


def test_distance_to_the_coast_names_the_nearest_country_never_unassigned_land():
    fresh = NaturalEarthCountries()  # the coast index is built on first use: a fresh layer builds it here
    points = [(35.95, -5.60), (35.90, -5.60), (60.00, 24.80), (33.03, 35.73)]  # Gibraltar x2, Espoo, the Golan
    km, codes = fresh.coast_km(np.array([p[0] for p in points]), np.array([p[1] for p in points]))
    assert list(codes) == ["ES", "MA", "FI", "IL"]  # the Golan's own outline (no country) is no coast
    for value, point in zip(km[:3], points[:3]):
        _assert_coast_km(float(value), point)
    empty_km, empty_codes = fresh.coast_km(np.zeros(0), np.zeros(0))
    assert empty_km.shape == (0,) and empty_codes.shape == (0,)


def test_land_and_sea_from_the_natural_earth_outlines():
    fresh = NaturalEarthCountries()
    codes = fresh.codes_at(np.array([48.8584, 0.0, 33.03, 42.6629, -54.42]), np.array([2.2945, -30.0, 35.73, 21.1655,
                                                                                        3.36]))
    assert list(codes) == ["FR", "", "-", "XK", "NO"]  # Golan: land this edition assigns to no country
    assert len(fresh.codes_at(np.zeros(0), np.zeros(0))) == 0
    assert fresh.source.startswith("Natural Earth 1:10m admin-0 countries, German point of view")
    from geoloc_core.places.natural_earth import Admin1Faces

    assert Admin1Faces().source.startswith("Natural Earth 1:10m admin-0 (German view) cut by its 1:10m admin-1 lines")


def test_a_boundary_file_carrying_a_pickled_object_is_refused(tmp_path):
    """The layers are plain arrays; a replaced asset with a pickle inside (code run on load) is not opened."""
    hostile = tmp_path / "countries.npz"
    np.savez(hostile, deltas=np.zeros((2, 2), np.int32), offsets0=np.array([0, 2]), kind=np.array(1),
             codes=np.array([{"not": "an array of codes"}], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle"):
        decode(hostile)


# --- admin-1 lines and regions ------------------------------------------------------------------------------------

def test_no_region_is_claimed_where_no_town_of_the_country_is_near(geocoder):
    interior, wrangel, geneva = geocoder.reverse_many([72.0, 71.2, 46.2044], [-40.0, -179.5, 6.1432])
    assert (interior.country_code, interior.region, interior.region_source) == ("GL", None, "")
    assert interior.label == "Greenland, North America" and interior.nearest_place_km > 150
    assert (wrangel.country_code, wrangel.region) == ("RU", None)  # Pevek, the nearest town, is 414 km away
    assert (geneva.region, geneva.region_source) == ("Geneva", REGION_SOURCE)
    assert geneva.label == "Geneva, Switzerland, Europe"


def test_a_town_across_a_state_line_does_not_give_its_region(geocoder):
    # Portland's north shore: the nearest town is Vancouver, Washington, across the Columbia River
    oregon, washington = geocoder.reverse_many([45.5990, 45.6350], [-122.6700, -122.6700])
    assert oregon.nearest_place == washington.nearest_place == "Vancouver, Washington, US"
    assert (oregon.region, washington.region) == ("Oregon", "Washington")


def test_leave_one_out_skips_the_town_itself():
    index = _geneva_index()
    near = index.nearby(np.array([46.28402]), np.array([6.16166]), np.array(["CH"], dtype=object))
    assert near.name[0] == "Versoix, Geneva, CH" and near.km[0] < 0.01 and near.region[0] == "Geneva"
    skipped = index.nearby(np.array([46.28402]), np.array([6.16166]), np.array(["CH"], dtype=object),
                           skip_within_km=0.5)
    assert skipped.name[0] != "Versoix, Geneva, CH" and skipped.km[0] > 0.5
    assert skipped.region[0] == "Geneva"


_GENEVA_CSV: list = []


def _geneva_index() -> PlaceIndex:
    """A fresh PlaceIndex of the real GeoNames rows around Lake Geneva, read from a file of its own (the file is
    written once per process; the index is built anew each time, so its constructor is what is tested)."""
    if not _GENEVA_CSV:
        import tempfile
        from pathlib import Path

        with open(places_csv(), encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            lat, lon = header.index("lat"), header.index("lon")
            rows = [r for r in reader if 45.8 < float(r[lat]) < 46.8 and 5.8 < float(r[lon]) < 7.2]
        path = Path(tempfile.mkdtemp(prefix="geneva_places_")) / "places.csv"
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        _GENEVA_CSV.append(path)
    return PlaceIndex(_GENEVA_CSV[0])


def test_a_place_index_read_from_its_own_file_labels_and_regions_places():
    index = _geneva_index()
    lats = np.array([46.2044, 46.5197, 46.3, 46.18096])
    lons = np.array([6.1432, 6.6323, 6.5, 6.13921])
    near = index.nearby(lats, lons, np.array(["CH", "CH", "", "CH"], dtype=object))
    assert near.region[0] == "Geneva" and near.region[1] == "Vaud" and near.region[2] is None
    assert near.name[3] == "Carouge, Geneva, CH" and near.km[3] < 0.01 and near.country[3] == "CH"
    assert all(name.count(", ") >= 1 for name in near.name)
    assert near.km[0] == pytest.approx(float(haversine_km(46.2044, 6.1432, *_coords(index, near.name[0]))), rel=1e-6)


def _coords(index: PlaceIndex, label: str) -> tuple[float, float]:
    i = next(i for i in range(len(index.lat)) if index.label(i) == label)
    assert index.admin1(i) == label.split(", ")[1]
    return float(index.lat[i]), float(index.lon[i])


# --- helpers an analyst's note depends on -------------------------------------------------------------------------

def test_chord_length_converts_to_great_circle_km():
    km = chord_to_km(np.array([0.0, math.sqrt(2.0), 2.0, 2.0 + 1e-12]))
    quarter = math.pi * EARTH_RADIUS_KM / 2
    assert km == pytest.approx([0.0, quarter, 2 * quarter, 2 * quarter], rel=1e-9)


def test_the_boundary_data_release_is_named():
    text = data_versions()
    version = importlib.metadata.version("timezonefinder-data")
    match = re.fullmatch(rf"timezonefinder-data {re.escape(version)} \(timezone-boundary-builder (\d{{4}}[a-z])\)",
                         text)
    assert match, text


def test_osm_borders_answer_no_country_for_invalid_points_and_clip_polygons_to_the_box():
    import shapely

    borders = OsmBorders()
    codes, zones = borders.codes_at(np.array([51.43661, 95.0, 0.0]), np.array([4.92632, 0.0, -30.0]))
    assert list(codes) == ["BE", "", ""] and zones[1] == -1 and zones[0] >= 0
    west, south, east, north = 4.90, 51.42, 4.95, 51.45  # Baarle: Belgian enclaves in the Netherlands
    pieces = dict(borders.polygons_in_box(west, south, east, north))
    assert set(pieces) == {"BE", "NL"}
    for geometry in pieces.values():
        x0, y0, x1, y1 = shapely.bounds(geometry)
        assert west - 1e-9 <= x0 and x1 <= east + 1e-9 and south - 1e-9 <= y0 and y1 <= north + 1e-9
    assert pieces["BE"].contains(shapely.Point(4.92632, 51.43661))
    assert not pieces["NL"].contains(shapely.Point(4.92632, 51.43661))
    assert borders.polygons_in_box(-30.1, -0.1, -29.9, 0.1) == []  # mid-Atlantic: no country


def test_at_sea_off_crimea_both_notes_are_given(geocoder):
    place = geocoder.reverse(44.55, 33.30)  # off Sevastopol
    true_km = _brute_coast_km(44.55, 33.30)
    assert (place.country_code, place.at_sea) == ("UA", True)
    first, second = place.note.split("; ", 1)
    assert re.fullmatch(r"at sea, within (\d+) km of the coast of Ukraine", first)
    assert abs(int(first.split()[3]) - true_km) < 1.05 and second == ZONE_NOTES["Europe/Simferopol"]


def test_a_photo_at_a_towns_own_coordinates_gets_its_region_and_leave_one_out_does_not(geocoder):
    # Longyearbyen is the only Svalbard town in the table: exactly on it, its region; with it hidden, none
    place = geocoder.reverse(78.22334, 15.64689)
    assert (place.country_code, place.region) == ("SJ", "Svalbard") and place.nearest_place_km < 0.001
    hidden = geocoder.places.nearby(np.array([78.22334]), np.array([15.64689]), np.array(["SJ"], dtype=object),
                                    skip_within_km=0.5)
    assert hidden.region[0] is None and hidden.name[0] != "Longyearbyen, Svalbard, SJ"


def test_when_every_town_is_across_a_line_the_nearest_towns_region_is_given(tmp_path):
    """Sion and Zermatt (canton Valais) with no Valais town in the table: Lausanne (Vaud) is the nearest town
    to both, Bern (Bern) the next; both lie across an admin-1 line, so the nearest one answers, for each point."""
    path = tmp_path / "places.csv"
    rows = [["46.516", "6.63282", "Lausanne", "Vaud", "", "CH"], ["46.94809", "7.44744", "Bern", "Bern", "", "CH"]]
    rows += [[f"{-10 - i}", f"{-40 - i}", f"Filler {i}", "Nowhere", "", "BR"] for i in range(24)]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lat", "lon", "name", "admin1", "admin2", "cc"])
        writer.writerows(rows)
    index = PlaceIndex(path)
    sion, zermatt = (46.2331, 7.3606), (46.0207, 7.7491)
    near = index.nearby(np.array([sion[0], zermatt[0]]), np.array([sion[1], zermatt[1]]),
                        np.array(["CH", "CH"], dtype=object))
    assert list(near.name) == ["Lausanne, Vaud, CH", "Lausanne, Vaud, CH"]
    assert list(near.region) == ["Vaud", "Vaud"]
