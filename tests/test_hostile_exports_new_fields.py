"""The hostile payload corpus in this morning's new fields, through every export and report format.

New fields: pixel forensics (#37: the check table's notes carry the EXIF Make and Model, the summary rows,
the clone pairs), video (#34: container Make/Model/Software, capture-time tag, keyframe method and
predictions, the telemetry track, file names of clips and keyframe rows) and the team server (#36: the
login's name and e-mail in ``analysed_by`` and as the report's analyst). Every payload of
``tests.hostile_corpus.TEXT_PAYLOADS`` plus spreadsheet formulas goes into every one of them, and:
CSV neutralises formulas (a ``'`` before ``= + - @`` tab CR, also after a line break) and parses back to
the same cells; JSON and GeoJSON parse back to the strings as written; KML parses and its balloons hold
HTML-escaped text only; the HTML report has no element but its own and shows each payload as text; the PDF's
text (pdftotext) says what the file said."""
from __future__ import annotations

import csv
import html
import io
import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import PurePath

import pytest

from geoloc_core.case.exports.export import FORMULA_TRIGGERS, export
from geoloc_core.case.findings import Finding
from geoloc_core.case.pixel_findings import fill_pixel_fields
from geoloc_core.case.reports.report_content import ReportItem
from geoloc_core.case.reports.reporting import render_reports
from geoloc_core.case.video_media import keyframe_rows
from geoloc_core.evidence.filefacts import sha256_hex
from tests.hostile_corpus import TEXT_PAYLOADS, payload_file_name
from tests.test_report import _text_of_html

# spreadsheet formulas (OWASP CSV injection), beside the markup payloads
FORMULAS = {"formula_cmd": "=cmd|' /C calc'!A0", "formula_plus": "+SUM(1+1)*cmd|' /C calc'!A0",
            "formula_minus": "-2+3+cmd|' /C calc'!A0", "formula_at": "@SUM(1+1)*cmd|' /C calc'!A0",
            "formula_after_break": "title\n=HYPERLINK(\"http://evil.invalid\",\"x\")"}
PAYLOADS = {**TEXT_PAYLOADS, **FORMULAS}
# the new text fields an export writes as they are (every one of them filled with the payload)
VIDEO_TEXT = ("camera_make", "camera_model", "software", "capture_time_source", "keyframe_method",
              "clip_prediction_from")
TEAM_TEXT = ("analysed_by",)
REPORT_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "table", "tr", "td", "th", "p",
               "strong", "section", "div", "figure", "img", "figcaption"}


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _video_finding(n: int, key: str, payload: str) -> Finding:
    """A clip's finding as ``video_media.fill`` makes it, every text field the container or login gave it hostile."""
    return Finding(
        file=payload.replace("/", "\u2215") + ".mov",  # a formula leads the name sha256=f"{n:064x}", status="ok", media_kind="video",
        exif_lat=10.0 + n, exif_lon=20.0 + n, pred_lat=11.0 + n, pred_lon=21.0 + n, pred_radius_km=300.0,
        distance_km=150.0, verdict="consistent", keyframes=2, keyframe_times="[0.0, 1.5]",
        keyframe_predictions=json.dumps([{"time_s": 0.0, "lat": 11.0, "lon": 21.0, "radius50_km": 100,
                                          "radius90_km": 300, "note": payload}]),
        telemetry_track=json.dumps([[20.0 + n, 10.0 + n], [20.1 + n, 10.1 + n], [20.2 + n, 10.2 + n]]),
        message=f"capture time in com.apple.quicktime.creationdate unreadable ({payload})",
        **{field: payload for field in VIDEO_TEXT + TEAM_TEXT})


@pytest.fixture(scope="module")
def findings(geocoder):
    """Per payload: a clip (hand-made as video_media fills it) and a copy-move forgery whose EXIF Make and Model
    are the payload, with its pixel fields filled by the real checks (the quantisation note carries the Make)."""
    from geoloc_core.evidence.pixel_forensics.figures import pixel_figures
    from tests.forensic_images import forged_photo

    videos, photos = [], []
    for n, (key, payload) in enumerate(PAYLOADS.items()):
        videos.append(_video_finding(n, key, payload))
        videos += keyframe_rows(videos[-1], geocoder)  # scan --keyframe-rows: "<clip> @ 0.000 s"
        data, _, _ = forged_photo(seed=n % 3 + 1, size=(240, 180), make=payload, model=payload)
        photo = Finding(file=f"/cases/{payload_file_name(key, payload)}", sha256=sha256_hex(data), status="ok",
                        exif_lat=-10.0 - n, exif_lon=-20.0 - n, verdict="consistent", camera_make=payload,
                        camera_model=payload, analysed_by=payload)
        fill_pixel_fields(photo, pixel_figures(data, payload, payload).forensics)
        photos.append((photo, data))
    return videos, photos


def test_csv_neutralises_formulas_and_keeps_every_new_field(findings):
    videos, photos = findings
    rows = videos + [p for p, _ in photos]
    for fmt in ("csv", "csv-excel"):
        text = export(rows, fmt)
        parsed = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline="")))
        assert len(parsed) == len(rows), fmt  # a line break inside a payload never starts a row
        for row in parsed:
            for column, cell in row.items():
                if re.fullmatch(r"-?\d+(\.\d+)?(e-?\d+)?", cell):
                    continue  # a number stays a number
                assert not cell.startswith(FORMULA_TRIGGERS), (fmt, column, cell)
                assert not re.search(r"[\r\n\v\f\x85\u2028\u2029][=+\-@\t]", cell), (fmt, column, cell)
        fields = ("camera_make", "camera_model") if fmt == "csv-excel" else VIDEO_TEXT + TEAM_TEXT
        for finding, row in zip(rows, parsed):
            for field in fields:
                value = getattr(finding, field)
                if value:
                    unquoted = re.sub(r"(^|(?<=[\r\n]))'(?=[=+\-@\t])", "", row[field])
                    assert unquoted == value, (fmt, field)  # the cell says what the file said, one ' aside
    full = list(csv.DictReader(io.StringIO(export(rows, "csv"), newline="")))
    assert [r["pixel_forensics"] for r in full[len(videos):]] == [p.pixel_forensics for p, _ in photos]


def test_json_and_geojson_keep_every_payload_as_written(findings):
    videos, photos = findings
    rows = videos + [p for p, _ in photos]
    records = json.loads(export(rows, "json"))
    for finding, record in zip(rows, records):
        for field in VIDEO_TEXT + TEAM_TEXT + ("file", "message", "keyframe_predictions", "pixel_forensics"):
            assert record[field] == getattr(finding, field), field
    collection = json.loads(export(rows, "geojson"))
    tracks = [f for f in collection["features"] if f["properties"]["role"] == "track"]
    assert len(tracks) == len(PAYLOADS) and all(f["geometry"]["type"] == "LineString" for f in tracks)
    for video, track in zip([v for v in videos if v.media_kind == "video"], tracks):
        assert track["properties"]["camera_make"] == video.camera_make
        assert track["geometry"]["coordinates"] == json.loads(video.telemetry_track)


def test_kml_parses_and_every_balloon_is_escaped_text(findings):
    videos, photos = findings
    rows = videos + [p for p, _ in photos]
    text = export(rows, "kml")
    root = ET.fromstring(text.encode("utf-8"))  # parses: nothing a payload wrote broke the XML
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    names = [e.text or "" for e in root.iterfind(".//k:Folder/k:name", ns)]
    assert names == [PurePath(r.file).name for r in rows]  # a <name> is plain text: as written
    descriptions = [e.text or "" for e in root.iterfind(".//k:Placemark/k:description", ns)]
    values = [e.text or "" for e in root.iterfind(".//k:Data/k:value", ns)]
    for balloon in descriptions + values:  # Google Earth renders these as HTML: only geoloc's <br> is markup
        assert not re.search(r"<(?!br>)[a-zA-Z/!?$]", balloon), balloon[:200]
    tracks = [p for p in root.iterfind(".//k:Placemark", ns)
              if p.find("k:name", ns) is not None and p.find("k:name", ns).text.startswith("Telemetry track: ")]
    assert len(tracks) == len(PAYLOADS)
    everything = html.unescape("\n".join(descriptions + values))
    for key, payload in PAYLOADS.items():
        assert payload in everything or payload.replace("/", "\u2215") in everything, key
    notes = [html.unescape(d) for d in descriptions if "Pixel forensics" in d]
    assert len(notes) >= len(photos)


@pytest.fixture(scope="module")
def reports(findings, worker):
    videos, photos = findings
    items = ([ReportItem(v, source_url="", note="") for v in videos]
             + [ReportItem(p, original=(lambda data=data: data)) for p, data in photos])
    analyst = " ".join(PAYLOADS.values())  # the login's name, as a hostile provider gave it
    return render_reports(items, "Case", analyst, "every file", worker=worker)


def test_html_report_shows_every_payload_as_text_and_no_markup(reports, findings):
    assert reports.problems == []
    document = reports.html
    parsed = _text_of_html(document)
    assert parsed.tags_seen <= REPORT_TAGS, parsed.tags_seen - REPORT_TAGS
    assert set(re.findall(r'<img [^>]*src="([^":]+):', document)) == {"data"}
    text = parsed.text
    for key, payload in PAYLOADS.items():
        flat = _squash(payload.replace("\n", "\\n"))
        assert flat in _squash(text), key  # the analyst line, Make/Model, the notes: literal
    _, photos = findings
    pixel_tables = [s.table for f in reports.report.files for s in f.sections
                    if s.title.startswith("Pixel forensics") and s.table]
    assert len(pixel_tables) == len(photos)
    for (key, payload), table in zip(PAYLOADS.items(), pixel_tables):
        [note] = [row[2] for row in table if row[0] == "JPEG quantisation tables"]
        camera = f"{payload} {payload}".replace("\n", "\\n")  # the report shows a line break as \n
        assert camera in note, (key, note)  # the camera as EXIF named it, not a Python repr of it


def test_pdf_text_says_what_the_files_said(reports, tmp_path):
    (tmp_path / "r.pdf").write_bytes(reports.pdf)
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", str(tmp_path / "r.pdf"), "-"], capture_output=True,
                            text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    text = _squash(result.stdout)
    for key, payload in PAYLOADS.items():
        flat = _squash(payload.replace("\n", "\\n"))
        assert flat in text or flat.replace(" ", "") in text.replace(" ", ""), key


def test_a_file_name_that_is_not_utf8_is_written_by_every_format(tmp_path):
    """On Linux a file name is bytes: one that is not UTF-8 (a clip copied off a camera card with a Latin-1 name)
    reaches the findings as Python's surrogate escapes, which no UTF-8 file can hold. Every format writes it, the
    scan CLI too: JSON and GeoJSON as their own \\u escape (read back, the same string), CSV and KML as text."""
    import os
    import sys

    from tests.imagegen import image_bytes

    name = os.fsdecode(b"clip \xff\xfe =cmd.mov")
    finding = _video_finding(1, "not_utf8", "x")
    finding.file = name
    for fmt in ("csv", "csv-excel", "json", "geojson", "kml"):
        export([finding], fmt).encode("utf-8")  # a lone surrogate would raise here
    assert json.loads(export([finding], "json"))[0]["file"] == name
    assert json.loads(export([finding], "geojson"))["features"][0]["properties"]["file"] == name
    assert "clip \\udcff\\udcfe =cmd.mov" in export([finding], "csv")

    folder = tmp_path / "card"
    folder.mkdir()
    with open(os.path.join(os.fsencode(folder), b"photo \xff.jpg"), "wb") as handle:
        handle.write(image_bytes())
    out = tmp_path / "scan.csv"
    result = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(folder), "--format", "csv", "--out",
                             str(out)], capture_output=True, text=True, timeout=300,
                            env={k: v for k, v in os.environ.items() if k != "GEOLOC_MODEL"})  # metadata only
    assert result.returncode == 0, result.stderr[-2000:]
    assert "photo \\udcff.jpg" in out.read_text(encoding="utf-8")
