"""Pixel forensics in findings, exports and the banner (#37): the checks' numbers reach every column and
view, stay empty (never "0" or "False") when the checks did not run, and a failure is a message in the row."""
from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from geoloc_core.case.analyzer import Analyzer
from geoloc_core.case.banner import compose_banner
from geoloc_core.case.exports.export import column_order, export
from geoloc_core.case.findings import Finding
from geoloc_core.case.pixel_findings import PIXEL_FIELDS, fill_pixel_fields
from geoloc_core.evidence.sources import FileSource
from tests.forensic_images import HOSTILE_MAKE, forged_photo, iou, jpeg, photo_like

KML = "{http://www.opengis.net/kml/2.2}"


@pytest.fixture(scope="module")
def forged():
    return forged_photo()


@pytest.fixture(scope="module")
def analysed(forged, worker, geocoder):
    """The forgery and a clean camera-like file analysed with pixel forensics, and the forgery without."""
    data, _, _ = forged
    clean = jpeg(photo_like(2, (400, 300)), camera_tables=True)
    with_pixels = Analyzer(geocoder=geocoder, worker=worker, pixel_forensics=True)
    without = Analyzer(geocoder=geocoder, worker=worker)
    return (list(with_pixels.analyze_stream([FileSource("forged.jpg", data=data), FileSource("clean.jpg", data=clean)]))
            + [without.analyze(FileSource("plain.jpg", data=data))])


def _pair_iou(finding: Finding, source, target) -> float:
    pairs = json.loads(finding.clone_boxes)
    return max([max(min(iou(p["source"], source), iou(p["target"], target)),
                    min(iou(p["source"], target), iou(p["target"], source))) for p in pairs] or [0.0])


def test_the_forgery_fills_every_pixel_field(analysed, forged):
    finding, clean, _ = analysed
    _, source, target = forged
    assert finding.status == "ok" and finding.camera_make == HOSTILE_MAKE
    assert finding.jpeg_quality_estimate == 90 and finding.quant_table_match == "IJG libjpeg quality 90"
    assert finding.double_compression is False and 0 <= finding.double_compression_score < 0.5
    assert finding.clone_regions >= 1 and _pair_iou(finding, source, target) >= 0.5
    assert finding.pixel_checks_flagged == "quantisation, copy-move"
    assert finding.pixel_forensics.startswith("warn: flagged by JPEG quantisation tables, copy-move (clone) (5 of 5")
    # the clean kind: a camera's own tables, nothing copied
    assert (clean.pixel_checks_flagged, clean.clone_regions, clean.clone_boxes) == ("", 0, "[]")
    assert clean.pixel_forensics == "ok: no pixel check flagged (5 of 5 checks ran)"
    assert clean.quant_table_match == "no known encoder" and clean.double_compression is False


def test_without_pixel_forensics_every_pixel_field_is_empty_in_every_export(analysed):
    plain = analysed[2]
    assert all(getattr(plain, name) in ("", None) for name in PIXEL_FIELDS)
    row = next(csv.DictReader(io.StringIO(export([plain], "csv"))))
    assert {name: row[name] for name in PIXEL_FIELDS} == {name: "" for name in PIXEL_FIELDS}
    record = json.loads(export([plain], "json"))[0]
    assert all(record[name] in ("", None) for name in PIXEL_FIELDS)
    assert compose_banner(plain).text.count("pixel forensics") == 0


def test_pixel_values_round_trip_through_csv_json_and_geojson(analysed):
    finding = analysed[0]
    header = column_order()
    start = header.index(PIXEL_FIELDS[0])  # one block after every column that existed before #37
    assert header[start:start + len(PIXEL_FIELDS)] == list(PIXEL_FIELDS) and start > header.index("check_blocks")
    row = next(csv.DictReader(io.StringIO(export([finding], "csv"))))
    assert int(row["jpeg_quality_estimate"]) == 90 and row["quant_table_match"] == finding.quant_table_match
    assert row["double_compression"] == "False" and float(row["double_compression_score"]) == finding.double_compression_score
    assert int(row["clone_regions"]) == finding.clone_regions
    assert json.loads(row["clone_boxes"]) == json.loads(finding.clone_boxes)
    assert row["pixel_checks_flagged"] == "quantisation, copy-move"
    record = json.loads(export([finding], "json"))[0]
    assert {name: record[name] for name in PIXEL_FIELDS} == {name: getattr(finding, name) for name in PIXEL_FIELDS}
    features = json.loads(export([finding], "geojson"))["features"]
    assert features and all(f["properties"]["clone_boxes"] == finding.clone_boxes
                            and f["properties"]["jpeg_quality_estimate"] == 90 for f in features)


def test_kml_carries_the_pixel_numbers_html_escaped(analysed):
    finding = analysed[0]
    finding = Finding(**{**finding.to_dict(), "quant_table_match": "<img src=x onerror=alert(1)>"})  # hostile log
    root = ET.fromstring(export([finding], "kml").encode("utf-8"))
    placemark = next(p for p in root.iter(f"{KML}Placemark") if p.find(f"{KML}name").text.startswith("EXIF GPS"))
    description = placemark.find(f"{KML}description").text
    assert "Copy-move region pairs: " in description and "JPEG tables match: &lt;img src=x" in description
    assert "<img" not in description  # the balloon shows it as text
    data = {d.get("name"): d.find(f"{KML}value").text for d in placemark.iter(f"{KML}Data")}
    assert data["clone_boxes"] == finding.clone_boxes.replace('"', "&quot;")  # html.escape'd, then XML
    assert data["quant_table_match"] == "&lt;img src=x onerror=alert(1)&gt;"


def test_banner_lists_the_pixel_checks_that_flagged(analysed):
    finding, clean, _ = analysed
    banner = compose_banner(finding)
    assert banner.level in ("warning", "error")
    assert ("pixel forensics flagged: JPEG quantisation tables: tables are IJG libjpeg quality 90 while EXIF names "
            "a camera | copy-move (clone): ") in banner.text
    assert "copied within the picture" in banner.text
    assert "pixel forensics" not in compose_banner(clean).text
    alone = Finding(file="x.jpg", verdict="cannot verify: no model", double_compression=True,
                    double_compression_score=0.91, pixel_checks_flagged="double compression",
                    pixel_forensics="warn: flagged by double compression")
    assert compose_banner(alone).text.endswith("· pixel forensics flagged: double compression: compressed twice "
                                               "(score 0.91)")
    assert compose_banner(alone).level == "warning"


def test_not_a_picture_says_so_and_keeps_the_numbers_empty(worker, geocoder):
    analyzer = Analyzer(geocoder=geocoder, worker=worker, pixel_forensics=True)
    document = analyzer.analyze(FileSource("report.jpg", data=b"%PDF-1.4\n" + bytes(200)))
    assert document.pixel_forensics.startswith("n/a: not a picture (PDF")
    assert all(getattr(document, name) in ("", None) for name in PIXEL_FIELDS if name != "pixel_forensics")


class _StallingPixels:
    """A worker that serves inspection but whose pixel call fails the way a hung or killed worker does."""

    size = 1

    def __init__(self, worker):
        self.worker = worker

    def call(self, fn, *args, timeout_s=None):
        from geoloc_core.evidence.isolation import IsolatedCallError
        if fn.__module__.endswith("pixel_forensics.analysis"):
            raise IsolatedCallError("gave up after 180 s (the parser hung on this file)")
        return self.worker.call(fn, *args, timeout_s=timeout_s)

    def close(self):
        pass


def test_a_pixel_failure_is_a_message_in_the_row_never_a_lost_row(forged, worker, geocoder):
    data, _, _ = forged
    analyzer = Analyzer(geocoder=geocoder, worker=_StallingPixels(worker), pixel_forensics=True)
    findings = list(analyzer.analyze_stream([FileSource("a.jpg", data=data), FileSource("b.jpg", data=data)]))
    assert [f.file for f in findings] == ["a.jpg", "b.jpg"]
    for finding in findings:
        assert finding.status == "ok" and finding.exif_lat is not None  # the rest of the finding is whole
        assert finding.pixel_forensics == "error: the pixel checks stopped: gave up after 180 s (the parser hung on this file)"
        assert "pixel forensics: the pixel checks stopped: gave up after 180 s" in finding.message
        assert finding.clone_regions is None and finding.pixel_checks_flagged == ""


def test_scanned_paths_are_read_by_the_worker_and_a_changed_file_is_refused(forged, worker, geocoder, tmp_path):
    """``scan`` hands the worker a path (no bytes through the pipe): the pixel checks read it there, and only
    when it still hashes to what was inspected."""
    from geoloc_core.case import pixel_findings
    from geoloc_core.evidence.pixel_forensics.isolated import analyse_pixels_at

    data, _, _ = forged
    path = tmp_path / "forged.jpg"
    path.write_bytes(data)
    finding = Analyzer(geocoder=geocoder, worker=worker, pixel_forensics=True).analyze(FileSource(path.name, path=path))
    assert finding.clone_regions >= 1 and "copy-move" in finding.pixel_checks_flagged
    changed = analyse_pixels_at(str(path), "0" * 64, worker=worker)
    assert changed.checks() == [] and "changed on disk" in changed.errors["file"]
    filled = Finding(file="x")
    pixel_findings.fill_pixel_fields(filled, changed)
    assert filled.pixel_forensics.startswith("error: the file changed on disk")


def test_check_errors_name_the_check_in_the_message():
    from geoloc_core.evidence.pixel_forensics import PixelForensics

    finding = Finding(file="x.jpg")
    fill_pixel_fields(finding, PixelForensics(errors={"noise": "the pixels could not be read (crafted)"}))
    assert finding.message == "pixel forensics (noise residual): the pixels could not be read (crafted)"
    assert finding.pixel_forensics == "error: no pixel check could run; could not run: noise residual"


def test_scan_runs_pixel_forensics_only_with_its_flag(forged, tmp_path, monkeypatch):
    from geoloc_core.cli import build_parser, main

    monkeypatch.delenv("GEOLOC_MODEL", raising=False)
    data, source, target = forged
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "forged.jpg").write_bytes(data)
    (tmp_path / "in" / "notes.jpg").write_bytes(b"%PDF-1.4\n" + bytes(200))
    rows = {}
    for flag in ([], ["--pixel-forensics"]):
        out = tmp_path / f"scan{len(flag)}.csv"
        assert main(["scan", str(tmp_path / "in"), "--out", str(out), "--no-progress", "--workers", "1", *flag]) == 0
        rows[bool(flag)] = {Path(r["file"]).name: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert all(row[name] == "" for row in rows[False].values() for name in PIXEL_FIELDS)
    forged_row, notes_row = rows[True]["forged.jpg"], rows[True]["notes.jpg"]
    assert forged_row["pixel_checks_flagged"] == "quantisation, copy-move" and int(forged_row["clone_regions"]) >= 1
    pair = json.loads(forged_row["clone_boxes"])[0]
    assert max(min(iou(pair["source"], source), iou(pair["target"], target)),
               min(iou(pair["source"], target), iou(pair["target"], source))) >= 0.5
    assert notes_row["pixel_forensics"].startswith("n/a: not a picture") and notes_row["clone_regions"] == ""
    assert "--pixel-forensics" in build_parser()._subparsers._group_actions[0].choices["scan"].format_help()


def test_reports_show_the_views_the_numbers_and_the_hostile_note_as_text(analysed, forged, worker, tmp_path):
    """HTML (autoescaped Jinja2) and PDF (fpdf2's text API): the pixel section with its numbers, each check's
    meaning, the three views as pictures; the EXIF Make in the quantisation note is text, never markup. A
    finding analysed without pixel forensics has no such section; one whose original is gone says why."""
    import re
    import subprocess

    from geoloc_core.case.reports.report_content import ReportItem
    from geoloc_core.case.reports.reporting import render_reports

    data, _, _ = forged
    finding, _, plain = analysed
    items = [ReportItem(finding, original=lambda: data), ReportItem(plain, original=lambda: data),
             ReportItem(Finding(**{**finding.to_dict(), "file": "gone.jpg"}), original=None)]
    files = render_reports(items, "case", "A. Analyst", "three files", worker=worker)
    assert files.problems == []
    first, second, third = files.report.files
    section = next(s for s in first.sections if s.title.startswith("Pixel forensics"))
    assert [c for c, _ in section.figures] == [c for c in (
        "The photo; copy-move pairs outlined, each pair in one colour and numbered alike",
        "Error levels (resaved at quality 90, x20): compare like surfaces with like",
        "Noise residual (3 x 3 median, x10): grain should be even over an untouched photo")]
    assert all(jpeg[:3] == b"\xff\xd8\xff" for _, jpeg in section.figures)
    rows = dict(section.rows)
    assert rows["JPEG quality (IJG-equivalent estimate)"] == "about 90" and rows["Copy-move region pairs"] == "1"
    assert section.table[0] == ["check", "measure", "result", "what it means, and its limits"]
    assert len(section.table) == 6 and HOSTILE_MAKE in " ".join(section.table[1])  # the note, as the file said it
    assert not any(s.title.startswith("Pixel forensics") for s in second.sections)
    gone = dict(next(s for s in third.sections if s.title.startswith("Pixel forensics")).rows)
    assert gone["Views"] == "not drawn: original not kept"
    document = files.html
    pixel_part = document[document.index("<h3>Pixel forensics"):document.index("File 2 of 3")]
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/jpeg;base64,', pixel_part)) == 3
    assert "&lt;img src=x onerror=alert(1)&gt;" in pixel_part and "<img src=x" not in document
    assert "what it means, and its limits" in pixel_part and "never flags" in pixel_part
    (tmp_path / "r.pdf").write_bytes(files.pdf)
    text = " ".join(subprocess.run(["pdftotext", "-enc", "UTF-8", str(tmp_path / "r.pdf"), "-"], capture_output=True,
                                   text=True, timeout=120).stdout.split())
    assert "Pixel forensics (what the pixels say about editing" in text and "Copy-move region pairs 1" in text
    assert "<img src=x onerror=alert(1)>" in text  # as text
    images = subprocess.run(["pdfimages", "-list", str(tmp_path / "r.pdf")], capture_output=True, text=True,
                            timeout=120).stdout.splitlines()[2:]
    pictures = [line for line in images if line.split()[2] == "image"]  # not the masks of transparent maps
    others = sum(bool(f.thumbnail_jpeg) + bool(f.map_png) for f in files.report.files)
    assert len(pictures) == others + 3  # the three views of file 1, beside the thumbnails and maps
