"""Exports as the analyst opens them: a spreadsheet, a JSON reader, a GIS tool.

Each format is read back with its own parser (csv, json) and compared field by field, so a dropped column,
a swapped coordinate, a lost header or a serial number leaking into a shared export fails here.
"""
from __future__ import annotations

import csv
import io
import json
import math

import pytest

from geoloc_core.case.exports.export import (FORMATS, column_order, export, spreadsheet_safe, to_csv, to_geojson, to_json,
                                     without_serials, write_csv)
from geoloc_core.case.findings import CORE_COLUMNS, Finding


def _finding(**kw) -> Finding:
    base = dict(file="IMG_0001.jpg", sha256="ab" * 32, file_type="jpeg", status="ok", exif_lat=40.7128,
                exif_lon=-74.0060, pred_lat=40.6892, pred_lon=-74.0445, distance_km=4.1, verdict="consistent",
                camera_make="Apple", note="Café – seen near the pier")
    base.update(kw)
    return Finding(**base)


def test_csv_header_and_columns_follow_the_documented_order():
    text = to_csv([_finding()])
    header, row = text.splitlines()
    assert next(csv.reader(io.StringIO(header))) == column_order()  # every text cell is quoted (#11)
    assert column_order()[: len(CORE_COLUMNS)] == list(CORE_COLUMNS)
    assert sorted(column_order()) == sorted(Finding.columns()) and len(set(column_order())) == len(column_order())
    assert text.endswith("\n") and "\r\n" not in text  # one line ending everywhere
    parsed = next(csv.DictReader(io.StringIO(text)))
    assert parsed["file"] == "IMG_0001.jpg" and parsed["note"] == "Café – seen near the pier"
    assert float(parsed["exif_lat"]) == 40.7128 and float(parsed["exif_lon"]) == -74.006


def test_csv_appends_without_a_second_header():
    buffer = io.StringIO()
    write_csv([_finding()], buffer)
    write_csv([_finding(file="IMG_0002.jpg")], buffer, header=False)
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert [r["file"] for r in rows] == ["IMG_0001.jpg", "IMG_0002.jpg"]


def test_missing_and_non_finite_numbers_are_empty_cells_not_text():
    text = to_csv([_finding(exif_lat=None, exif_lon=None, distance_km=math.nan, pred_radius_km=math.inf)])
    row = next(csv.DictReader(io.StringIO(text)))
    assert (row["exif_lat"], row["exif_lon"], row["distance_km"], row["pred_radius_km"]) == ("", "", "", "")
    assert row["pred_lat"] == "40.6892" and row["country_match"] == ""


def test_negative_numbers_and_booleans_stay_as_they_are():
    assert spreadsheet_safe(-74.006) == -74.006 and spreadsheet_safe(True) is True and spreadsheet_safe(0) == 0
    row = next(csv.DictReader(io.StringIO(to_csv([_finding(country_match=False, exif_present=True)]))))
    assert row["exif_lon"] == "-74.006" and row["country_match"] == "False" and row["exif_present"] == "True"


@pytest.mark.parametrize("text", ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_every_formula_trigger_is_neutralised(text):
    assert spreadsheet_safe(text) == "'" + text
    if "\r" in text:
        return  # quoting of control characters inside CSV cells is issue #11's (hardening)
    row = next(csv.DictReader(io.StringIO(to_csv([_finding(camera_make=text)]))))
    assert row["camera_make"] == "'" + text


@pytest.mark.parametrize("text", ["Apple", "a=b", "x-1", "", "'quoted"])
def test_ordinary_text_is_left_alone(text):
    assert spreadsheet_safe(text) == text


def test_json_keeps_every_field_and_non_ascii_text():
    finding = _finding()
    text = to_json([finding])
    assert "Café – seen" in text  # not escaped to \\u sequences: readable in any editor
    assert text.startswith("[\n  {\n")  # indented for a human reader
    assert json.loads(text) == [finding.to_dict()]
    assert json.loads(export([finding], "json")) == [dict(finding.to_dict(), camera_serial="")]


def test_geojson_points_and_the_line_between_them_are_lon_lat():
    finding = _finding()
    text = to_geojson([finding])
    assert "Café" in text and text.startswith("{\n  \"type\"")
    collection = json.loads(text)
    assert collection["type"] == "FeatureCollection"
    exif, predicted, line = collection["features"]
    assert exif == {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-74.006, 40.7128]},
                    "properties": {**finding.to_dict(), "role": "exif"}}
    assert predicted["geometry"] == {"type": "Point", "coordinates": [-74.0445, 40.6892]}
    assert predicted["properties"]["role"] == "predicted"
    assert line["geometry"] == {"type": "LineString", "coordinates": [[-74.006, 40.7128], [-74.0445, 40.6892]]}
    assert line["properties"]["role"] == "distance" and line["type"] == "Feature"


def test_geojson_with_only_one_point_has_no_line():
    only_exif = json.loads(to_geojson([_finding(pred_lat=None, pred_lon=None)]))["features"]
    assert [f["properties"]["role"] for f in only_exif] == ["exif"]
    nothing = json.loads(to_geojson([_finding(exif_lat=None, exif_lon=None, pred_lat=None, pred_lon=None)]))
    assert nothing == {"type": "FeatureCollection", "features": []}


def test_serials_are_removed_from_copies_only():
    with_serial, without = _finding(camera_serial="F2LXK0QJ"), _finding()
    copies = without_serials([with_serial, without])
    assert [c.camera_serial for c in copies] == ["", ""]
    assert copies[1] is without and with_serial.camera_serial == "F2LXK0QJ"
    assert copies[0].file == with_serial.file and copies[0].exif_lat == with_serial.exif_lat
    for fmt in FORMATS:
        assert "F2LXK0QJ" not in export([with_serial], fmt)
        assert "F2LXK0QJ" in export([with_serial], fmt, include_serials=True)


def test_each_format_is_what_it_says_and_unknown_formats_are_refused():
    findings = [_finding()]
    assert FORMATS == ("csv", "csv-excel", "json", "geojson", "kml")
    assert export(findings, "csv") == to_csv(findings)
    assert export(findings, "csv-excel") == to_csv(findings, excel=True)
    assert export(findings, "json") == to_json(findings)
    assert export(findings, "geojson") == to_geojson(findings)
    assert export(findings, "kml").startswith("<?xml")
    with pytest.raises(ValueError, match=r"^unknown export format 'kmz'; choose one of csv, csv-excel, json, geojson, kml$"):
        export(findings, "kmz")
