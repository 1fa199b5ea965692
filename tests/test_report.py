"""Case reports and evidence bundles: every file's SHA-256 and verdict in the HTML and in the PDF's
text (pdftotext), hostile strings shown literally in both, `sha256sum -c` on an extracted bundle,
the export audit trail in the case log, the offline map picture, `scan --report/--bundle`, and the
HTML report in a real Chromium (no request, no script error)."""
from __future__ import annotations

import hashlib
import html
import io
import json
import re
import sqlite3
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import piexif
import pytest
from PIL import Image

from geoloc_core.case.analyzer import Analyzer
from geoloc_core.case.reports.bundle import MANIFEST, build_bundle
from geoloc_core.case.log.caselog import MIGRATIONS, CaseLog, EvidenceStore
from geoloc_core.case.findings import Finding
from geoloc_core.case.reports.report_content import ModelInfo, ReportItem, build_report, model_info, visible
from geoloc_core.case.reports.report_html import render_html
from geoloc_core.case.reports.report_map import EXIF_RGB, PREDICTION_RGB, marker_pixel, render_map_png
from geoloc_core.case.reports.report_pdf import render_pdf
from geoloc_core.evidence.sources import collect_sources
from tests.hostile_corpus import corpus_items
from tests.imagegen import gps_exif, image_bytes

ROOT = Path(__file__).resolve().parents[1]
# payloads of the hostile corpus and of the browser tests, plus markup that must stay text
HOSTILE_NAMES = [n for n in corpus_items() if not n.isascii() or re.search(r"[=+@\n ]", n)]
XSS_NAME = "<img src=x onerror=alert(1)>.jpg"
PAYLOADS = ["<script>alert('exif')</script><img src=x onerror=alert(2)>", "${alert(3)}`x`</script>",
            "![p](http://127.0.0.1:9/x) [a](javascript:alert(4)) :red[x] &amp; &lt;b&gt;", "\u202egpj.exe"]


def _text_of_html(document: str) -> str:
    """The text a browser shows (tags dropped, entities decoded), for "appears literally" checks."""
    class Text(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []
            self.tags: list[str] = []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)

        def handle_data(self, data):
            self.parts.append(data)

    parser = Text()
    parser.feed(document)
    parser.text, parser.tags_seen = " ".join(parser.parts), set(parser.tags)
    return parser


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory, tiny_model_dir, geocoder, worker):
    """A folder with hostile names and EXIF text, analysed with the tiny model (predictions with radii)."""
    from geoloc_core.model.inference import load_predictor

    folder = tmp_path_factory.mktemp("report_scan")
    items = corpus_items()
    for name in HOSTILE_NAMES + ["good_paris.jpg", "empty.jpg", "document.jpg"]:
        (folder / name).write_bytes(items[name][0])
    (folder / XSS_NAME).write_bytes(image_bytes(exif=gps_exif(40.6892, -74.0445, **{
        "0th": {piexif.ImageIFD.Software: PAYLOADS[0].encode(), piexif.ImageIFD.Make: PAYLOADS[1].encode(),
                piexif.ImageIFD.Model: PAYLOADS[2].encode()}})))
    predictor = load_predictor(tiny_model_dir)
    sources = collect_sources([folder])
    analyzer = Analyzer(geocoder=geocoder, predictor=predictor, worker=worker)
    findings = list(analyzer.analyze_stream(sources))
    report_items = [ReportItem(f, acquired_utc=f.analysed_at_utc, source_url=PAYLOADS[2], note=PAYLOADS[1] + "\nline 2",
                               original=s.read) for f, s in zip(findings, sources)]
    report = build_report(report_items, "Case " + PAYLOADS[0], PAYLOADS[3] + " analyst", "every file",
                          [model_info(predictor)])
    return report_items, report, render_html(report), render_pdf(report)


def test_html_report_has_every_hash_and_verdict_and_shows_hostile_strings_literally(scanned):
    items, report, document, _ = scanned
    parsed = _text_of_html(document)
    for item in items:
        f = item.finding
        assert f.sha256 and f.sha256 in parsed.text
        assert f.verdict and f.verdict in parsed.text
        assert visible(Path(f.file).name) in parsed.text
    assert any(i.finding.pred_radius_km for i in items) and "90 % region radius" in parsed.text
    assert "A model is a witness, not proof" in parsed.text
    for payload in PAYLOADS[:3]:
        assert payload in parsed.text  # as text, in the EXIF rows, the note and the source URL
    assert "\\u202egpj.exe analyst" in parsed.text  # the bidi override is shown, not obeyed
    assert "line\\nbreak and space.jpg" in parsed.text and "unicode ünïcödé 名前 .jpg" in parsed.text
    # no markup from a file survives as markup: no script, no element but the report's own
    assert "<script" not in document.lower() and "<img src=x" not in document
    assert parsed.tags_seen <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "table", "tr",
                                "td", "th", "p", "strong", "section", "div", "figure", "img", "figcaption"}
    assert re.findall(r'<img [^>]*src="([^":]+):', document) and \
        set(re.findall(r'<img [^>]*src="([^":]+):', document)) == {"data"}


def test_pdf_text_has_every_hash_and_verdict_and_the_hostile_strings(scanned, tmp_path):
    items, report, _, pdf = scanned
    (tmp_path / "report.pdf").write_bytes(pdf)
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", str(tmp_path / "report.pdf"), "-"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    text = _squash(result.stdout)
    for item in items:
        assert item.finding.sha256 in text, item.finding.file
        assert f"Verdict: {item.finding.verdict}" in text, item.finding.file
    for literal in [XSS_NAME, "=HYPERLINK(\"evil\",\"x\").jpg", "line\\nbreak and space.jpg",
                    "unicode ünïcödé 名前 .jpg",
                    PAYLOADS[0], "\\u202egpj.exe analyst", "A model is a witness, not proof"]:
        assert literal in text, literal
    assert "${alert(3)}`x`</script>" in text and "javascript:alert(4)" in text
    info = subprocess.run(["pdfinfo", str(tmp_path / "report.pdf")], capture_output=True, text=True, timeout=60)
    assert int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1)) > len(items)  # a summary plus a page per file


def test_bundle_verifies_with_sha256sum_and_fails_after_one_byte_changes(scanned, tmp_path):
    items, report, document, pdf = scanned
    bundle = build_bundle(items, report, document, pdf)
    assert bundle.sha256 == hashlib.sha256(bundle.data).hexdigest()
    with zipfile.ZipFile(io.BytesIO(bundle.data)) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "x")
    assert all(re.fullmatch(r"[A-Za-z0-9_./-]+", n) and ".." not in n for n in names)  # hostile names never paths
    manifest = (tmp_path / "x" / MANIFEST).read_text()
    assert {line.split("  ", 1)[1] for line in manifest.splitlines()} == set(names) - {MANIFEST}
    originals = [n for n in names if n.startswith("originals/")]
    assert len(originals) == len({i.finding.sha256 for i in items})  # every original, once
    assert {"report.html", "report.pdf", "findings.csv", "findings.json", "findings.geojson"} <= set(names)
    ok = subprocess.run(["sha256sum", "-c", MANIFEST], cwd=tmp_path / "x", capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    changed = next(n for n in originals if (tmp_path / "x" / n).stat().st_size > 0)
    data = bytearray((tmp_path / "x" / changed).read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one byte
    (tmp_path / "x" / changed).write_bytes(bytes(data))
    bad = subprocess.run(["sha256sum", "-c", MANIFEST], cwd=tmp_path / "x", capture_output=True, text=True)
    assert bad.returncode != 0 and f"{changed}: FAILED" in bad.stdout
    assert bad.stdout.count(": OK") == len(names) - 2  # every other file still checks
    findings = json.loads((tmp_path / "x" / "findings.json").read_text())
    assert {f["sha256"] for f in findings} == {i.finding.sha256 for i in items}


def test_report_states_the_model_record_and_the_thresholds_in_force():
    from geoloc_core.case.verification import VerdictThresholds
    from geoloc_core.learning.metrics import compute_metrics

    metrics = compute_metrics([48.85, -33.86, 35.68], [2.29, 151.21, 139.76], [48.0, -30.0, 35.7], [2.0, 150.0, 139.7],
                              radius90_km=[200.0, 300.0, 50.0])
    info = ModelInfo("geoloc-test (backbone x)", {"train_csv": "mp16.csv", "train_images": 4_700_000},
                     {"validation": json.loads(metrics.to_json())})
    finding = Finding(file="a.jpg", sha256="ab" * 32, model="geoloc-test (backbone x)", verdict="consistent")
    other = Finding(file="b.jpg", sha256="cd" * 32, model="other model", verdict="plausible")
    report = build_report([ReportItem(finding), ReportItem(other)], "c", "a", "s", [info],
                          VerdictThresholds(unlikely_factor=3.5, fallback_consistent_km=40.0))
    text = _squash(_text_of_html(render_html(report)).text)
    assert '"train_images": 4700000' in text and "mp16.csv" in text
    assert f"{metrics.within_pct['city']:.2f} %" in text and f"{metrics.median_km:,.1f}" in text
    assert "within 3.5x its radius" in text and "within 40 km" in text  # the thresholds in force, not the defaults
    assert "other model" in text and "not available in this report" in text  # a model not loaded is named, not invented


def test_bundle_leaves_out_an_original_that_no_longer_matches_its_hash():
    finding = Finding(file="a.jpg", sha256=hashlib.sha256(b"original").hexdigest(), file_type="jpeg")
    report = build_report([ReportItem(finding)], "c", "a", "one")
    bundle = build_bundle([ReportItem(finding, original=lambda: b"changed")], report, render_html(report), b"%PDF")
    with zipfile.ZipFile(io.BytesIO(bundle.data)) as archive:
        assert not [n for n in archive.namelist() if n.startswith("originals/")]
        assert "no longer matches" in archive.read("README.txt").decode()
    assert bundle.originals_included == 0 and len(bundle.originals_missing) == 1


def test_caselog_migrates_to_schema_3_and_keeps_an_audit_trail_of_exports(tmp_path):
    path = tmp_path / "old.sqlite3"
    connection = sqlite3.connect(path, isolation_level=None)
    for version in (1, 2):  # a case log written by the previous geoloc
        for statement in MIGRATIONS[version]:
            connection.execute(statement)
    connection.execute("INSERT INTO cases (name, created_at) VALUES ('old', 'x')")
    connection.execute("INSERT INTO findings (case_id, sha256, file, verdict, data, created_at, note) VALUES "
                       "(1, 'ab', 'a.jpg', 'consistent', ?, 'x', 'kept note')", (json.dumps({"file": "a.jpg"}),))
    connection.execute("PRAGMA user_version=2")
    connection.close()
    log = CaseLog(path)
    assert log.schema_version >= 3  # later migrations (e.g. #13's assessment columns) follow
    (stored,) = log.findings(1)
    assert stored.note == "kept note" and stored.source_url == ""
    log.set_source_url(stored.id, "  https://example.invalid/post?id=1<script>  ")
    assert log.latest_finding(1, "ab").source_url == "https://example.invalid/post?id=1<script>"
    assert log.findings(1)[0].finding.source_url == "https://example.invalid/post?id=1<script>"
    log.record_export(1, "bundle", "b.zip", "f" * 64, 123, "Ana", [stored.id])
    log.record_export(1, "csv", "b.csv", "e" * 64, 7, "Ana")
    (bundle, table) = log.exports(1)
    assert (bundle.kind, bundle.sha256, bundle.analyst, bundle.finding_ids, bundle.case_name) == \
        ("bundle", "f" * 64, "Ana", [stored.id], "old")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", bundle.created_at) and table.kind == "csv"
    log.delete_case(1, analyst="Ana")
    # deleting a case takes its export records (#31); the log's audit trail keeps that they were there
    assert log.exports() == []
    assert [(r.case_id, r.case_name, r.kind, r.exports, r.analyst) for r in log.deletions()] == [
        (None, "old", "case", 2, "Ana")]


def test_map_picture_puts_the_points_where_they_are():
    finding = Finding(file="a.jpg", exif_lat=48.8584, exif_lon=2.2945, pred_lat=50.11, pred_lon=8.68,
                      pred_radius50_km=150.0, pred_radius_km=420.0)
    image = Image.open(io.BytesIO(render_map_png(finding))).convert("RGB")
    assert image.size == (720, 360)

    def near(which, rgb):
        x, y = marker_pixel(finding, which)
        return sum(abs(a - b) for a, b in zip(image.getpixel((x, y)), rgb)) < 60

    assert near("exif", EXIF_RGB) and near("prediction", PREDICTION_RGB)
    ex, _ = marker_pixel(finding, "exif")
    px, _ = marker_pixel(finding, "prediction")
    assert ex < px  # Paris is west of Frankfurt
    across = Finding(file="b.jpg", exif_lat=-17.7, exif_lon=178.0, pred_lat=-18.0, pred_lon=-178.5,
                     pred_radius50_km=300.0, pred_radius_km=900.0)
    image = Image.open(io.BytesIO(render_map_png(across))).convert("RGB")
    (ex, ey), (px, py) = marker_pixel(across, "exif"), marker_pixel(across, "prediction")
    assert 0 < ex < px < 720 and px - ex < 100  # drawn side by side across the antimeridian, not 356° apart
    assert render_map_png(Finding(file="c.jpg")) is None


def test_scan_writes_reports_and_a_bundle_whose_hash_is_printed(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "paris.jpg").write_bytes(image_bytes(exif=gps_exif(48.8584, 2.2945)))
    (folder / XSS_NAME).write_bytes(image_bytes(color=(200, 10, 10)))
    out = tmp_path / "out"
    out.mkdir()
    result = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(folder), "--out", str(out / "f.csv"),
                             "--report", str(out / "r.html"), "--report", str(out / "r.pdf"), "--bundle",
                             str(out / "b.zip"), "--analyst", "Ana <b>", "--case", "Op <i>", "--no-progress"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
    digest = hashlib.sha256((out / "b.zip").read_bytes()).hexdigest()
    assert f"bundle {out / 'b.zip'} sha256 {digest}" in result.stderr
    assert (out / "b.zip.sha256").read_text() == f"{digest}  b.zip\n"
    check = subprocess.run(["sha256sum", "-c", "b.zip.sha256"], cwd=out, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    text = _text_of_html((out / "r.html").read_text(encoding="utf-8")).text
    assert "Analyst Ana <b>" in _squash(text) and "Case Op <i>" in _squash(text) and XSS_NAME in text
    assert (out / "r.pdf").read_bytes().startswith(b"%PDF-")
    with zipfile.ZipFile(out / "b.zip") as archive:
        assert archive.read("report.html").decode() == (out / "r.html").read_text(encoding="utf-8")
    wrong = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(folder), "--out", str(out / "g.csv"),
                            "--report", str(out / "r.txt")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2 and "must end in .html or .pdf" in wrong.stderr and not (out / "g.csv").exists()


@pytest.mark.browser
def test_html_report_in_chromium_makes_no_request_and_no_script_error(scanned, tmp_path):
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    _, _, document, _ = scanned
    path = tmp_path / "report.html"
    path.write_text(document, encoding="utf-8")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        requests, errors, dialogs = [], [], []
        page.on("request", lambda r: requests.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_timeout(500)
        body = page.inner_text("body")
        scripts = page.evaluate("() => document.scripts.length")
        images = page.evaluate("() => [...document.images].map(i => [i.src.slice(0, 11), i.naturalWidth])")
        page.emulate_media(media="print")
        page.pdf(path=str(tmp_path / "printed.pdf"), format="A4")  # "prints cleanly": nothing lost in print
        browser.close()
    assert [r for r in requests if r != path.as_uri()] == []
    assert errors == [] and dialogs == [] and scripts == 0
    assert images and all(src.startswith("data:image/") and width > 0 for src, width in images)  # every picture drew
    assert XSS_NAME in body and PAYLOADS[0] in body
    printed = subprocess.run(["pdftotext", "-enc", "UTF-8", str(tmp_path / "printed.pdf"), "-"], capture_output=True,
                             text=True, timeout=120).stdout
    assert all(row[2] in printed for row in scanned[1].summary[1:])  # every SHA-256 on paper, unbroken


def test_app_verify_and_case_log_make_reports_and_record_every_export(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("GEOLOC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GEOLOC_MODEL", raising=False)
    photo = image_bytes(size=(320, 240), exif=gps_exif(48.8584, 2.2945))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.file_uploader(key="verify_upload").upload(XSS_NAME, photo, "image/jpeg").run()
    assert not at.exception
    log = CaseLog(tmp_path / "data" / "caselog.sqlite3")
    case_id = log.cases()[0][0]
    (stored,) = log.findings(case_id)
    at.text_input(key=f"verify_provenance_url_{stored.id}").input("https://example.invalid/p?<b>=1").run()
    at.text_area(key=f"verify_provenance_note_{stored.id}").input("seen on <i>channel</i>").run()
    at.button(key=f"verify_provenance_save_{stored.id}").click().run()
    (stored,) = log.findings(case_id)
    assert (stored.source_url, stored.note) == ("https://example.invalid/p?<b>=1", "seen on <i>channel</i>")
    at.session_state["analyst_name"] = "Ana <script>"  # the sidebar's field (AppTest drops sidebar widgets on reruns)
    at.button(key="verify_report_make").click().run()
    assert not at.exception
    records = log.exports(case_id)
    assert [r.kind for r in records] == ["report-html", "report-pdf", "bundle"]
    assert [(r.analyst, r.finding_ids) for r in records] == [("Ana <script>", [stored.id])] * 3
    _, outputs, shown_sha, _ = at.session_state["verify_report"]
    bundle = outputs[2][2]
    assert shown_sha == records[2].sha256 == hashlib.sha256(bundle).hexdigest()
    assert any(c.value == shown_sha for c in at.code)  # shown to the analyst
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        assert f"originals/{stored.finding.sha256}.jpeg" in archive.namelist()  # the uploaded bytes, re-hashed
        text = _squash(_text_of_html(archive.read("report.html").decode()).text)
    assert "https://example.invalid/p?<b>=1" in text and "seen on <i>channel</i>" in text and "Ana <script>" in text
    assert 'src="data:image/jpeg;base64,' in archive_html(bundle)  # the thumbnail is inline
    # what the sidebar's "Keep a copy of each original file" does (AppTest loses sidebar widget values on reruns)
    EvidenceStore(tmp_path / "data" / "evidence").put(stored.finding.sha256, photo)
    at.switch_page("app_pages/cases.py").run()
    at.session_state["analyst_name"] = "Ana <script>"
    at.button(key="case_report_make").click().run()
    assert not at.exception
    assert [r.kind for r in log.exports(case_id)][3:] == ["report-html", "report-pdf", "bundle"]
    with zipfile.ZipFile(io.BytesIO(at.session_state["case_report"][1][2][2])) as archive:  # from the evidence store
        assert archive.read(f"originals/{stored.finding.sha256}.jpeg") == photo
    assert any(records[2].sha256 in frame.value.to_string() for frame in at.dataframe)  # the audit trail on screen


def archive_html(bundle: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        return archive.read("report.html").decode()


@pytest.mark.browser
def test_app_in_chromium_downloads_a_bundle_whose_hash_the_case_log_records(tiny_model_dir, tmp_path):
    """The whole flow as an analyst does it: name, photo, source URL and note, report and bundle, downloads."""
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _start_server

    data = tmp_path / "data"
    data.mkdir()
    photo = tmp_path / "paris.jpg"
    photo.write_bytes(image_bytes(size=(800, 600), exif=gps_exif(48.8584, 2.2945)))
    process, url, server_log = _start_server(data, tiny_model_dir)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1400, "height": 2400}, accept_downloads=True).new_page()
            offsite = []
            page.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:")) else offsite.append(r.url))
            page.goto(url, wait_until="networkidle")
            page.get_by_text("Drop a photo").wait_for(timeout=120_000)
            page.get_by_role("textbox", name="Analyst name").fill("Ana <b>Lyst</b>")
            page.get_by_role("textbox", name="Analyst name").press("Enter")
            page.wait_for_timeout(1000)
            page.locator("input[type=file]").first.set_input_files(str(photo))
            page.get_by_text("Verdict:").first.wait_for(timeout=120_000)
            page.get_by_role("textbox", name=re.compile("Source URL")).fill("https://example.invalid/post/1")
            page.get_by_role("textbox", name="Analyst's note").fill("posted 2024-06-01")
            page.get_by_role("button", name=re.compile("Save source URL")).click()
            page.get_by_text("Saved to the case log").wait_for(timeout=60_000)
            page.get_by_role("button", name="Make report and bundle").click()
            download = page.get_by_role("button", name=re.compile("Download evidence bundle"))
            download.wait_for(timeout=180_000)
            with page.expect_download() as bundle_info:
                download.click()
            bundle = Path(bundle_info.value.path()).read_bytes()
            with page.expect_download() as pdf_info:
                page.get_by_role("button", name="Download report (PDF)").click()
            pdf = Path(pdf_info.value.path()).read_bytes()
            with page.expect_download() as csv_info:
                page.get_by_role("button", name="Export CSV", exact=True).click()
            table = Path(csv_info.value.path()).read_bytes()
            page.wait_for_timeout(1000)
            body = page.inner_text("body")
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
        server_log.close()
    log = CaseLog(data / "caselog.sqlite3")
    records = {r.kind: r for r in log.exports()}
    assert set(records) == {"report-html", "report-pdf", "bundle", "csv"}
    assert records["bundle"].sha256 == hashlib.sha256(bundle).hexdigest() and records["bundle"].sha256 in body
    assert records["report-pdf"].sha256 == hashlib.sha256(pdf).hexdigest() and pdf.startswith(b"%PDF-")
    assert records["csv"].sha256 == hashlib.sha256(table).hexdigest()
    assert {r.analyst for r in records.values()} == {"Ana <b>Lyst</b>"}
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        text = _squash(_text_of_html(archive.read("report.html").decode()).text)
    assert "https://example.invalid/post/1" in text and "posted 2024-06-01" in text and "Ana <b>Lyst</b>" in text
    assert offsite == []
