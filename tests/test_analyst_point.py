"""The analyst's own point (#32): pasted coordinates read strictly, the point verified against EXIF GPS and
the written place with the witnesses' rules, kept with the finding in the case log, and carried into every
export and the reports labelled as the analyst's, with a hostile note shown as text in each format."""
from __future__ import annotations

import csv
import io
import json
import sqlite3
import xml.etree.ElementTree as ET

import pytest

from geoloc_core.case.analyst_point import AnalystPoint, CoordinateError, clear_point, parse_coordinates, place_point
from geoloc_core.case.exports.export import CORE_COLUMNS, column_order, export
from geoloc_core.case.findings import Finding
from geoloc_core.case.log.caselog import MIGRATIONS, SCHEMA_VERSION, CaseLog
from geoloc_core.case.reports.report_content import ReportItem, build_report
from geoloc_core.case.reports.report_html import render_html
from geoloc_core.case.verification import CONSISTENT, CONTRADICTS, NO_GPS, PLAUSIBLE
from tests.hostile_corpus import TEXT_PAYLOADS

AACHEN = (50.7753, 6.0839)  # Aachen cathedral
NOTE = " ".join(TEXT_PAYLOADS.values())  # every payload of the corpus in the analyst's note


# ----- parsing ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("50.7753, 6.0839", AACHEN),
    ("50.7753,6.0839", AACHEN),
    ("50.7753 6.0839", AACHEN),
    ("50.7753; 6.0839", AACHEN),
    ("  50.7753 , 6.0839  ", AACHEN),
    ("50.7753 N, 6.0839 E", AACHEN),
    ("N 50.7753 E 6.0839", AACHEN),
    ("50.7753 n, 6.0839 e", AACHEN),
    ("-33.8568, 151.2153", (-33.8568, 151.2153)),
    ("33.8568 S, 151.2153 E", (-33.8568, 151.2153)),
    ("40.6892 N 74.0445 W", (40.6892, -74.0445)),
    ("50°46'31\"N 6°05'02\"E", (50.775278, 6.083889)),
    ("50°46′31″N, 6°05′02″E", (50.775278, 6.083889)),
    ("50º46'31''N 6º05'02''E", (50.775278, 6.083889)),
    ("50 46m 31s N 6 5m 2s E", (50.775278, 6.083889)),
    ("50°46.517' N, 6°5.034' E", (50.775283, 6.0839)),
    ("90, 180", (90.0, 180.0)),
    ("-90 -180", (-90.0, -180.0)),
])
def test_pasted_coordinates_in_common_formats_are_read(text, expected):
    lat, lon = parse_coordinates(text)
    assert lat == pytest.approx(expected[0], abs=1e-5) and lon == pytest.approx(expected[1], abs=1e-5)


@pytest.mark.parametrize("text, says", [
    ("", "no coordinates"),
    ("   ", "no coordinates"),
    ("hello", "not a coordinate pair"),
    ("50.7753", "not a coordinate pair"),
    ("(50.7753, 6.0839) and more", "not a coordinate pair"),
    # geopy's own from_string skips text before the numbers it finds: these read as 5.0, 2.0 / 6.0, 119.0 / 3.0, 5.0
    ("50 46 31 N 6 5 2 E", "not a coordinate pair"),
    ("50,7753 6,0839", "not a coordinate pair"),
    ("1e3, 5", "not a coordinate pair"),
    ("nan, 5", "not a coordinate pair"),
    ("inf, inf", "not a coordinate pair"),
    ("50.7753, 6.0839 " + "x" * 300, "too long"),
    ("1" * 400, "too long"),
    ("91, 0", "latitude 91 is outside -90 to 90"),
    ("-90.5, 0", "latitude -90.5 is outside -90 to 90"),
    ("50.7753, 200", "longitude 200 is outside -180 to 180"),  # geopy would wrap it to -160
    ("6.0839, 250.5", "longitude 250.5 is outside -180 to 180"),
    ("120, 50", "latitude first"),
    ("50°75'N 6°05'E", "minutes must be under 60"),
    ("50°46'61\"N 6°05'02\"E", "seconds must be under 60"),
    ("-33.86 S, 151.2 E", "a sign and a hemisphere letter"),
])
def test_garbage_and_out_of_range_are_refused_with_a_specific_message(text, says):
    with pytest.raises(CoordinateError, match=says):
        parse_coordinates(text)


def test_the_refusal_never_echoes_the_pasted_text():
    """The message is geoloc's own words: a pasted payload is not repeated in it (it is shown in the page)."""
    for payload in TEXT_PAYLOADS.values():
        with pytest.raises(CoordinateError) as caught:
            parse_coordinates(payload)
        assert payload not in str(caught.value)


# ----- verification --------------------------------------------------------------------------------------
def _finding(**values) -> Finding:
    base = dict(file="aachen.jpg", sha256="ab" * 32, exif_lat=50.7760, exif_lon=6.0830, exif_country="Germany",
                exif_country_code="DE", exif_continent="Europe", claimed_place_text="Aachen, Germany",
                claimed_city="Aachen", claimed_country="Germany", claimed_country_code="DE",
                claimed_lat=50.7766, claimed_lon=6.0834, verdict="cannot verify: no model")
    base.update(values)
    return Finding(**base)


def test_point_is_verified_against_exif_and_the_written_place_like_a_witness(geocoder):
    finding = place_point(_finding(), AnalystPoint(*AACHEN, note="Street View match", analyst="A. Analyst",
                                                   placed_at_utc="2026-12-07T21:00:00+00:00"), geocoder)
    assert (finding.analyst_point_lat, finding.analyst_point_lon) == AACHEN
    assert finding.analyst_point_country_code == "DE" and finding.analyst_point_country == "Germany"
    assert finding.analyst_point_exif_distance_km == pytest.approx(0.1, abs=0.05)
    assert finding.analyst_point_exif_band == "street" and finding.analyst_point_exif_verdict == CONSISTENT
    assert "the analyst's point" in finding.analyst_point_exif_reason and "street band" in \
        finding.analyst_point_exif_reason
    assert finding.analyst_point_claim_distance_km == pytest.approx(0.15, abs=0.05)
    assert finding.analyst_point_claim_band == "street" and finding.analyst_point_claim_verdict == CONSISTENT
    assert finding.analyst_point_claim_reason.startswith("the claimed place lies")
    # the tool's own verdict is untouched: the point is the analyst's, not a prediction
    assert finding.verdict == "cannot verify: no model" and finding.pred_lat is None


def test_a_point_far_from_exif_and_claim_is_said_to_contradict_them(geocoder):
    finding = place_point(_finding(), AnalystPoint(48.8584, 2.2945), geocoder)  # Paris
    assert finding.analyst_point_exif_distance_km == pytest.approx(346, abs=2)
    assert finding.analyst_point_exif_band == "country" and finding.analyst_point_exif_verdict == PLAUSIBLE
    assert "EXIF country Germany vs the analyst's point in France" in finding.analyst_point_exif_reason
    new_york = place_point(_finding(), AnalystPoint(40.6892, -74.0445), geocoder)
    assert new_york.analyst_point_exif_band == "beyond continent"
    assert new_york.analyst_point_exif_verdict == CONTRADICTS and new_york.analyst_point_claim_verdict == CONTRADICTS
    assert "claimed country Germany vs the analyst's point in United States" in new_york.analyst_point_claim_reason


def test_without_exif_gps_or_a_located_claim_it_says_what_cannot_be_verified(geocoder):
    bare = place_point(_finding(exif_lat=None, exif_lon=None, exif_country=None, exif_country_code=None,
                                claimed_place_text=None, claimed_lat=None, claimed_lon=None,
                                claimed_country_code=None), AnalystPoint(*AACHEN), geocoder)
    assert bare.analyst_point_exif_verdict == NO_GPS and bare.analyst_point_exif_distance_km is None
    assert "the analyst's point" in bare.analyst_point_exif_reason
    assert bare.analyst_point_claim_verdict == "cannot verify: no place written"
    country_only = place_point(_finding(claimed_lat=None, claimed_lon=None, claimed_country="France",
                                        claimed_country_code="FR"), AnalystPoint(*AACHEN), geocoder)
    assert country_only.analyst_point_claim_verdict == "country differs"
    assert "the analyst's point lies in Germany" in country_only.analyst_point_claim_reason
    unlocated = place_point(_finding(claimed_lat=None, claimed_lon=None, claimed_country_code=None),
                            AnalystPoint(*AACHEN), geocoder)
    assert unlocated.analyst_point_claim_verdict == "cannot verify: claimed place not located"


def test_clearing_the_point_empties_every_field(geocoder):
    finding = clear_point(place_point(_finding(), AnalystPoint(*AACHEN, note="x"), geocoder))
    assert all(getattr(finding, name) in (None, "") for name in Finding.columns() if name.startswith("analyst_point_"))


# ----- the case log ----------------------------------------------------------------------------------------
def test_point_is_stored_with_the_finding_and_reloaded(tmp_path, geocoder):
    log = CaseLog(tmp_path / "log.sqlite3")
    case = log.ensure_case("c")
    first = log.add(case, _finding())
    second = log.add(case, _finding(file="other.jpg", sha256="cd" * 32))
    placed = place_point(_finding(), AnalystPoint(*AACHEN, note=NOTE, analyst="A. Analyst",
                                                  placed_at_utc="2026-12-07T21:00:00+00:00"), geocoder)
    log.set_analyst_point([first], placed)
    reopened = CaseLog(tmp_path / "log.sqlite3")
    stored = {s.id: s.finding for s in reopened.findings(case)}
    assert (stored[first].analyst_point_lat, stored[first].analyst_point_lon) == AACHEN
    assert stored[first].analyst_point_note == NOTE and stored[first].analyst_point_by == "A. Analyst"
    assert stored[first].analyst_point_exif_verdict == CONSISTENT
    assert stored[second].analyst_point_lat is None  # only the finding it was placed on
    assert reopened.latest_finding(case, "ab" * 32).finding.analyst_point_note == NOTE
    assert [s.id for s in reopened.findings(case, "Street View")] == [] and \
        [s.id for s in reopened.findings(case, "A. Analyst")] == [first]  # the point is searchable
    reopened.set_analyst_point([first], clear_point(stored[first]))
    assert reopened.findings(case)[0].finding.analyst_point_lat is None


def test_a_point_in_the_tool_record_never_passes_for_the_analysts(tmp_path, geocoder):
    """The analyst's point lives in its own column: a finding saved with one in its record (data) reloads
    without it, as the note does."""
    log = CaseLog(tmp_path / "log.sqlite3")
    case = log.ensure_case("c")
    log.add(case, place_point(_finding(), AnalystPoint(*AACHEN), geocoder))
    assert log.findings(case)[0].finding.analyst_point_lat is None


def test_a_case_log_from_before_the_point_is_migrated_and_keeps_its_findings(tmp_path):
    path = tmp_path / "old.sqlite3"
    ours = next(v for v, statements in MIGRATIONS.items() if any("analyst_point" in s for s in statements))
    with sqlite3.connect(path) as connection:  # as geoloc before the analyst's point wrote it
        for version in range(1, ours):
            for statement in MIGRATIONS[version]:
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {ours - 1}")
        connection.execute("INSERT INTO cases (id, name, created_at) VALUES (1, 'old', 'x')")
        connection.execute("INSERT INTO findings (case_id, sha256, file, verdict, data, created_at) "
                           "VALUES (1, 'ab', 'a.jpg', '', '{\"file\": \"a.jpg\"}', 'x')")
    log = CaseLog(path)
    assert log.schema_version == SCHEMA_VERSION >= ours
    assert log.findings(1)[0].finding.file == "a.jpg" and log.findings(1)[0].finding.analyst_point_lat is None


# ----- exports ---------------------------------------------------------------------------------------------
@pytest.fixture
def pinned(geocoder) -> Finding:
    return place_point(_finding(pred_lat=50.9, pred_lon=6.9), AnalystPoint(*AACHEN, note=NOTE, analyst="A. Analyst",
                                                                           placed_at_utc="2026-12-07T21:00:00+00:00"),
                       geocoder)


def test_csv_carries_the_point_in_columns_after_the_fixed_ones(pinned):
    columns = column_order()
    assert columns[: len(CORE_COLUMNS)] == list(CORE_COLUMNS)
    ours = [c for c in columns if c.startswith("analyst_point_")]
    start = columns.index(ours[0])  # added after every column that existed before: positions keep working
    assert ours and columns[start:start + len(ours)] == ours and start > columns.index("constrained_lon")
    row = next(csv.DictReader(io.StringIO(export([pinned], "csv"))))
    assert float(row["analyst_point_lat"]) == AACHEN[0] and float(row["analyst_point_lon"]) == AACHEN[1]
    assert row["analyst_point_exif_verdict"] == CONSISTENT and row["analyst_point_by"] == "A. Analyst"
    assert row["analyst_point_note"] == NOTE  # no payload starts with a formula trigger; quoted, read back whole
    excel = next(csv.DictReader(io.StringIO(export([pinned], "csv-excel").lstrip("\ufeff"))))
    assert (float(excel["analyst_point_lat"]), float(excel["analyst_point_lon"])) == AACHEN


def test_a_formula_in_the_note_is_neutralised_in_the_csv(geocoder):
    finding = place_point(_finding(), AnalystPoint(*AACHEN, note='=HYPERLINK("http://evil.invalid","x")'), geocoder)
    row = next(csv.DictReader(io.StringIO(export([finding], "csv"))))
    assert row["analyst_point_note"] == "'" + '=HYPERLINK("http://evil.invalid","x")'


def test_geojson_has_a_point_feature_labelled_as_the_analysts(pinned):
    features = json.loads(export([pinned], "geojson"))["features"]
    analyst = [f for f in features if f["properties"]["role"] == "analyst"]
    assert len(analyst) == 1 and analyst[0]["geometry"] == {"type": "Point", "coordinates": [AACHEN[1], AACHEN[0]]}
    assert analyst[0]["properties"]["label"] == "Analyst's point"
    assert analyst[0]["properties"]["analyst_point_note"] == NOTE
    assert all(f["properties"]["role"] != "analyst" for f in json.loads(export([_finding()], "geojson"))["features"])


def test_kml_has_an_analysts_point_placemark_with_the_note_as_text(pinned):
    from tests.test_kml import NS, _as_html, _parse

    root = _parse(export([pinned], "kml"))
    placemarks = [p for p in root.iter(f"{{{NS['k']}}}Placemark")
                  if p.findtext("k:name", namespaces=NS).startswith("Analyst's point")]
    assert len(placemarks) == 1
    mark = placemarks[0]
    assert mark.findtext("k:styleUrl", namespaces=NS) == "#analyst"
    assert mark.findtext("k:Point/k:coordinates", namespaces=NS) == f"{AACHEN[1]:.6f},{AACHEN[0]:.6f}"
    balloon = _as_html(mark.findtext("k:description", namespaces=NS))
    assert balloon.tags <= {"br"}  # nothing of the note became markup in Google Earth's balloon
    assert NOTE.replace("\n", " ") in balloon.text.replace("\n", " ") or NOTE in balloon.text
    assert "EXIF GPS vs the analyst's point: consistent" in balloon.text
    data = {d.get("name"): d.findtext("k:value", namespaces=NS) for d in mark.iter(f"{{{NS['k']}}}Data")}
    assert _as_html(data["analyst_point_note"]).text == NOTE and not _as_html(data["analyst_point_note"]).tags


# ----- reports ---------------------------------------------------------------------------------------------
def test_html_report_has_an_analysts_point_section_with_the_note_as_text(pinned):
    from tests.test_report import _text_of_html

    document = render_html(build_report([ReportItem(pinned)], "case", "A. Analyst", "one file"))
    parsed = _text_of_html(document)
    assert "Analyst's point (the analyst's own, not geoloc's)" in parsed.text
    assert f"{AACHEN[0]:.6f}, {AACHEN[1]:.6f}" in parsed.text
    assert "EXIF GPS vs the analyst's point" in parsed.text and CONSISTENT in parsed.text
    for payload in TEXT_PAYLOADS.values():
        assert payload.split("\n")[0] in parsed.text  # shown as text (the report writes a line break as \n)
    assert "<script" not in document.lower() and "<img src=x" not in document and "<svg" not in document
    assert parsed.tags_seen <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "table", "tr",
                                "td", "th", "p", "strong", "section", "div", "figure", "img", "figcaption"}


def test_pdf_report_carries_the_point_and_its_note(pinned, tmp_path):
    import subprocess

    from geoloc_core.case.reports.report_pdf import render_pdf

    (tmp_path / "r.pdf").write_bytes(render_pdf(build_report([ReportItem(pinned)], "case", "A. Analyst", "one")))
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(tmp_path / "r.pdf"), "-"], capture_output=True,
                          text=True, timeout=120).stdout
    squashed = " ".join(text.split())
    assert "Analyst's point" in squashed and f"{AACHEN[0]:.6f}, {AACHEN[1]:.6f}" in squashed
    assert TEXT_PAYLOADS["script_close"] in squashed and TEXT_PAYLOADS["template_literal"] in squashed


def test_a_report_without_a_point_says_none_was_placed():
    from tests.test_report import _text_of_html

    parsed = _text_of_html(render_html(build_report([ReportItem(_finding())], "case", "", "one")))
    assert "no point placed by the analyst" in parsed.text


# ----- maps ------------------------------------------------------------------------------------------------
def test_report_map_picture_draws_the_point_as_a_diamond_where_it_is(pinned):
    from PIL import Image

    from geoloc_core.case.reports.report_map import ANALYST_RGB, marker_pixel, render_map_png

    far = place_point(_finding(), AnalystPoint(48.8584, 2.2945))  # Paris, clear of the EXIF point in Aachen
    image = Image.open(io.BytesIO(render_map_png(far))).convert("RGB")
    x, y = marker_pixel(far, "analyst")
    assert sum(abs(a - b) for a, b in zip(image.getpixel((x, y)), ANALYST_RGB)) < 60
    assert marker_pixel(far, "analyst")[0] < marker_pixel(far, "exif")[0]  # Paris is west of Aachen
    only = place_point(Finding(file="x.jpg"), AnalystPoint(*AACHEN))
    assert render_map_png(only) is not None  # the analyst's point alone is still a map


def test_app_map_draws_the_point_labelled_with_every_string_inert(pinned):
    from geoloc_core.case.maps.finding_maps import finding_map
    from geoloc_core.case.maps.layers import js_text_literal

    page = finding_map(pinned).get_root().render()
    assert "geoloc-analyst" in page and js_text_literal("Analyst's point: aachen.jpg") in page
    assert js_text_literal(NOTE) in page  # the note reaches the page only as an inert literal (textContent)
    for payload in TEXT_PAYLOADS.values():
        if any(c in payload for c in "<>`$"):
            assert payload not in page
