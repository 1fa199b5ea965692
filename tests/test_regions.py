"""Admin-1 regions (issue #12): in the Place, in exports, and right near internal borders.

``tests/data/region_points.csv`` (``tools/build_border_points.py regions``): 100 GeoNames
towns 1-5 km from a state/Land/state/oblast line in the US, Germany, India and Russia,
labelled with GeoNames' admin1 (two GeoNames errors corrected, with the source named).
Evaluated leave-one-out: the town itself is hidden from the place index, so the answer
comes from other towns and the admin-1 lines, as it would for a photo taken there.
"""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np

from geoloc_core.places.natural_earth import chord_to_km, unit_vectors
from geoloc_core.places.regions import REGION_SOURCE
from tests.imagegen import gps_exif, image_bytes

ROOT = Path(__file__).resolve().parents[1]
REGION_POINTS = Path(__file__).parent / "data" / "region_points.csv"
# Measured 93/100 (README "Borders and regions"); the issue's target is 98 and is not met yet:
# the remaining misses are Natural Earth 1:10m lines a kilometre off, Moscow's and St Petersburg's
# city limits drawn differently by GeoNames and Natural Earth, and the Puducherry enclave.
MIN_RIGHT = 93


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
    assert right >= MIN_RIGHT, (right, plain)
    assert right >= plain + 20


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
