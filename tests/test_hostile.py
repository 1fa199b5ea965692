"""Every item of the hostile corpus through every entry point: no crash, no hang, a specific
message per file, and every good file in the same batch still analysed."""
from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geoloc_core.learning.datasets import load_geo_csv
from geoloc_core.learning.feature_cache import CachedFeatureDataset, build_cache
from geoloc_core.model.preprocessing import load_image_processor
from geoloc_core.learning.trainer import load_image_for_model
from tests.hostile_corpus import build_corpus, corpus_items, video_items, zip_items
from tests.imagegen import image_bytes
from tests.tiny_models import build_tiny_model

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PER_FILE_BOUND_S = 20


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    return folder, build_corpus(folder)


def test_scan_cli_survives_the_corpus(corpus, tiny_model_dir, tmp_path):
    folder, expected = corpus
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(folder), "--model", str(tiny_model_dir),
                             "--out", str(tmp_path / "out.csv"), "--no-progress"], cwd=ROOT, capture_output=True,
                            text=True, timeout=PER_FILE_BOUND_S * len(expected))
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert time.monotonic() - started < PER_FILE_BOUND_S * len(expected)
    rows = {Path(r["file"].lstrip("'")).name: r for r in csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8"))}
    assert set(rows) == set(expected)
    for name, message in expected.items():
        row = rows[name]
        if message is None:
            assert row["status"] == "ok", (name, row["message"])
            # every good file still reaches the model, unless its pixels are uniform (no information)
            assert row["pred_lat"] != "" or "image too flat" in row["message"], (name, row["message"])
        else:
            assert message in row["message"], (name, row["message"])
    assert rows["good_paris.jpg"]["exif_country_code"] == "FR"
    assert rows["unicode ünïcödé 名前 .jpg"]["exif_country_code"] == "JP"
    assert (rows["good_clip.mov"]["media_kind"], rows["good_clip.mov"]["exif_country_code"]) == ("video", "FR")
    assert all(not r["file"].startswith(("=", "+", "@")) for r in rows.values())  # neutralised in the CSV


def test_app_batch_survives_the_corpus_and_zips(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOLOC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GEOLOC_MODEL", raising=False)
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.switch_page("app_pages/batch.py").run()
    uploader = at.file_uploader(key="batch_files")
    items = {**corpus_items(), **zip_items(), **video_items()}
    for name, (data, _) in items.items():
        uploader.upload(name, data)
    uploader.upload("../../etc/passwd.jpg", image_bytes(color=(7, 77, 177)))  # a hostile upload name
    at.run()
    at.button(key="batch_run").click().run()
    assert not at.exception
    frame = at.dataframe[0].value
    by_name = dict(zip(frame["file"], frame["message"]))
    statuses = dict(zip(frame["file"], frame["status"]))
    for name, (_, message) in (corpus_items() | video_items()).items():
        if message is None:
            assert statuses[name] == "ok", (name, by_name[name])
        else:
            assert message in by_name[name], (name, by_name[name])
    assert statuses["good.jpg"] == "ok"  # the good image inside traversal.zip
    assert statuses["passwd.jpg"] == "ok"  # names are labels only: uploads are never written to disk
    assert "unsafe path" in by_name["escape.jpg"]
    assert "zip bomb" in by_name["bomb.raw"]
    # per-entry failures are rows; the neighbours inside the same archive are analysed
    assert "unreadable zip entry (zlib.error" in by_name["broken.jpg"]
    assert statuses["good_before.jpg"] == statuses["good_after.jpg"] == "ok"
    assert "not valid UTF-8" in by_name["bad_\ufffd\ufffd.jpg"]
    assert statuses["first.jpg"] == statuses["last.jpg"] == "ok"


def test_app_single_page_survives_each_item(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOLOC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GEOLOC_MODEL", raising=False)
    at = AppTest.from_file(APP, default_timeout=120).run()
    for name, (data, message) in list((corpus_items() | video_items()).items()):
        at.file_uploader(key="verify_upload").clear().upload(name, data).run()
        assert not at.exception, name
        shown = "\n".join(t.value for t in at.text) + "\n".join(e.value for e in at.error)
        if message is not None:
            assert message in shown, (name, shown[:300])


def test_training_loader_skips_bad_rows_and_images(corpus, tiny_backbone_dir, tmp_path):
    folder, expected = corpus
    with (tmp_path / "data.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "lat", "lon"])
        writer.writerows([name, 10.0, 20.0] for name in expected)  # every corpus file, odd names included
        handle.write("\nmissing.jpg,1,1\ngood_paris.jpg,abc,2\ngood_paris.jpg,91,2\ngood_paris.jpg,1,-181\n"
                     "../../etc/passwd,1,1\n")
    records, report = load_geo_csv(tmp_path / "data.csv", folder)
    assert len(records) == len(expected) and len(report.skipped) == 5
    model = build_tiny_model(tiny_backbone_dir)
    processor = load_image_processor(tiny_backbone_dir, model.config.vision_config)
    cache = build_cache(model, processor, records, tmp_path / "cache", load_image_for_model, batch_size=8,
                        log=lambda _: None, progress=False)
    dataset = CachedFeatureDataset(cache)
    from geoloc_core.evidence.filefacts import inspect_bytes

    decodable = sum(inspect_bytes((folder / name).read_bytes()).error is None for name in expected)
    assert 15 <= decodable < len(expected)
    assert len(dataset) == decodable  # every decodable image kept, every broken one marked invalid


# ----- hostile strings in maps, executed in a real Chromium ---------------------------------------------

def _payload_findings(count_per_payload: int = 1) -> list:
    from geoloc_core.case.findings import Finding
    from tests.hostile_corpus import TEXT_PAYLOADS, payload_file_name

    findings = []
    for n, (key, payload) in enumerate(TEXT_PAYLOADS.items()):
        for copy in range(count_per_payload):
            findings.append(Finding(
                file=f"/cases/{payload_file_name(key, payload)}", exif_lat=-60 + 6 * n + 0.01 * copy,
                exif_lon=-150 + 15 * n + 0.01 * copy, pred_lat=-55 + 6 * n, pred_lon=-140 + 15 * n,
                pred_radius_km=500.0, pred_radius50_km=200.0, distance_km=1234.5, band=payload,
                verdict=payload, camera_model=payload, software=payload, exif_country=payload, pred_country=payload))
    return findings


def _open_in_chromium(html_text: str, folder: Path):
    """Load a rendered map page from disk in headless Chromium; record dialogs, page errors and every
    request that is not for a local file."""
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    page_file = folder / "map.html"
    page_file.write_text(html_text, encoding="utf-8")
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = browser.new_page()
    page.dialogs, page.offsite, page.errors = [], [], []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "about:")) else page.offsite.append(r.url))
    page.goto(page_file.as_uri(), wait_until="load")
    page.wait_for_timeout(500)
    return playwright, browser, page


LABELS_JS = """() => {
  const map = window[Object.keys(window).find(k => /^map_[0-9a-f]+$/.test(k))];
  const texts = [];
  let markers = 0;
  const visit = layer => {
    if (layer instanceof L.CircleMarker && !(layer instanceof L.Circle)) { markers += 1; }
    for (const part of [layer.getPopup && layer.getPopup(), layer.getTooltip && layer.getTooltip()]) {
      const c = part && part.getContent();
      if (typeof c === 'string') { texts.push('STRING:' + c); } else if (c && c.nodeType) { texts.push(c.textContent); }
    }
  };
  map.eachLayer(layer => {
    if (L.MarkerClusterGroup && layer instanceof L.MarkerClusterGroup) { layer.getLayers().forEach(visit); }
    else if (!(L.MarkerCluster && layer instanceof L.MarkerCluster)) { visit(layer); }
  });
  return {texts, markers, clusters: document.querySelectorAll('.marker-cluster').length,
          injected: document.querySelectorAll('img[src="x"], svg[onload], .leaflet-pane img, .leaflet-pane script').length,
          pwned: typeof window.__pwned !== 'undefined'};
}"""


@pytest.mark.browser
@pytest.mark.parametrize("clustered", [False, True], ids=["single-finding", "clustered-240-points"])
def test_map_labels_are_inert_text_in_chromium(tmp_path, clustered):
    """Every payload in a file name, EXIF Model/Software, country, band and verdict reaches popups and
    tooltips as literal text: no dialog, no request, no element, no page error; with >= 200 points the
    clustered map still draws (Leaflet.markercluster needs the map's maxZoom)."""
    from geoloc_core.case.maps.finding_maps import finding_map, findings_map
    from geoloc_core.case.maps.layers import use_local_assets, vendor_leaflet_assets
    from tests.hostile_corpus import TEXT_PAYLOADS

    vendor = tmp_path / "vendor"
    vendor_leaflet_assets(vendor)
    findings = _payload_findings(count_per_payload=14 if clustered else 1)
    if clustered:
        assert len(findings) >= 240
        fmap = findings_map(findings)
    else:
        fmap = finding_map(findings[0])
        for extra in findings[1:]:  # every payload on one page, regions and lines included
            from geoloc_core.case.maps.layers import add_finding
            add_finding(fmap, extra)
    html_text = use_local_assets(fmap, vendor.as_uri() + "/").get_root().render()
    playwright, browser, page = _open_in_chromium(html_text, tmp_path)
    try:
        if not clustered:  # open every popup and tooltip too: content must stay text when shown
            page.evaluate("() => { const map = window[Object.keys(window).find(k => /^map_[0-9a-f]+$/.test(k))];"
                          " map.eachLayer(l => { if (l.getPopup && l.getPopup()) { l.openPopup(); }"
                          " if (l.getTooltip && l.getTooltip()) { l.openTooltip(); } }); }")
            page.wait_for_timeout(300)
        result = page.evaluate(LABELS_JS)
    finally:
        browser.close()
        playwright.stop()
    assert page.errors == [], page.errors[:3]
    assert page.dialogs == [] and page.offsite == [], (page.dialogs, page.offsite)
    assert not result["pwned"] and result["injected"] == 0
    points = sum((f.exif_lat is not None) + (f.pred_lat is not None) for f in findings)
    assert result["markers"] == points
    if clustered:
        assert result["clusters"] > 0
    texts = "\n".join(result["texts"])
    assert "STRING:" not in texts  # no label is handed to Leaflet as an HTML string
    for key, payload in TEXT_PAYLOADS.items():
        assert payload in texts, key  # shown literally, character for character


MEMORY_PROBE = r"""
import resource, sys
from streamlit.testing.v1 import AppTest
from tests.hostile_corpus import big_blank_png
data = big_blank_png()
at = AppTest.from_file(sys.argv[1], default_timeout=300).run()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
at.file_uploader(key="verify_upload").upload("huge.png", data, "image/png").run()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
shown = [w.value for w in at.warning]
import json
print(json.dumps({"size": len(data), "before": before // 1024, "after": after // 1024, "shown": "|".join(shown),
                  "exception": bool(at.exception)}))
"""


@pytest.mark.slow
def test_verify_never_decodes_an_unvetted_upload_in_the_server(tmp_path):
    """A 0.5 MB PNG of 13000 x 13000 pixels: the server process's peak memory stays flat (the preview
    is made in the isolated worker, under the analysis's pixel limit) and the page says why."""
    env = {**__import__("os").environ, "GEOLOC_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    env.pop("GEOLOC_MODEL", None)
    result = subprocess.run([sys.executable, "-c", MEMORY_PROBE, APP], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    probe = __import__("json").loads(result.stdout.strip().splitlines()[-1])
    assert probe["size"] < 1_000_000 and not probe["exception"]
    assert probe["after"] - probe["before"] < 200, probe  # MiB of peak growth
    assert "Cannot show this file as an image" in probe["shown"] and "decompression bomb" in probe["shown"]


def test_markdown_literal_leaves_no_syntax_for_streamlit():
    """Backslash escapes for every ASCII punctuation; an invisible joiner where Streamlit/GFM rewrite
    text after parsing (shortcodes, bare URLs, www., e-mail)."""
    import re as regex

    from tests.hostile_corpus import TEXT_PAYLOADS
    from ui.plaintext import WORD_JOINER, markdown_literal

    for key, payload in TEXT_PAYLOADS.items():
        out = markdown_literal(payload)
        assert out.replace(WORD_JOINER, "").replace("\\", "") == " ".join(payload.replace("\\", "").splitlines()), key
        assert not regex.search(r"(?<!\\)[\[\]()<>`*_$#|!~{}]", out), key  # all syntax characters escaped
        assert not regex.search(r"https?://|www\.|:[\w+/-]+:|\w@\w", out.replace("\\", "")), key  # no linkify/shortcode
    assert markdown_literal("cannot verify: no model") == "cannot verify: no model"


RLO_NAME = "photo\u202egpj.exe"  # shows as "photoexe.jpg" when the override is honoured


def test_bidi_controls_are_shown_as_escapes_in_html_and_markdown():
    """Issue #31: a right-to-left override in a file name reordered it on screen (the reports already showed
    it as ``\\u202e``); the screen uses the reports' one function."""
    from geoloc_core.case.reports.report_content import visible
    from ui.plaintext import html_text, markdown_literal, text_table_html

    table = text_table_html([("File", RLO_NAME)], header=["Field", "Value"])
    assert "\u202e" not in table and "photo\\u202egpj.exe" in table
    assert html_text(RLO_NAME) == visible(RLO_NAME) == "photo\\u202egpj.exe"
    assert markdown_literal(RLO_NAME) == "photo\\\\u202egpj\\.exe"  # Markdown shows photo\u202egpj.exe
    for control in "\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c":
        assert control not in html_text(f"a{control}b") + markdown_literal(f"a{control}b")
    assert html_text("two\nlines") == "two\nlines"  # line breaks stay where the element keeps them


def test_verify_page_shows_a_bidi_override_as_an_escape(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOLOC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GEOLOC_MODEL", raising=False)
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.file_uploader(key="verify_upload").upload(RLO_NAME, image_bytes(color=(10, 20, 30))).run()
    assert not at.exception
    shown = [e.value for e in at.subheader] + [str(e.proto) for e in at.get("html")]
    assert any("photo\\\\u202egpj\\.exe" in value for value in shown[:len(at.subheader)]), shown[:3]
    assert not any("\u202e" in value for value in shown), [v for v in shown if "\u202e" in v][:1]


def test_st_text_shows_a_bidi_override_as_an_escape_too(tmp_path, monkeypatch):
    """``st.text`` renders no Markdown, but the browser still honours a right-to-left override: the case bar
    (the case's name), the notes, the Case log's file names and duplicate groups go through ``plain_text``."""
    from geoloc_core.case.log.caselog import CaseLog

    monkeypatch.setenv("GEOLOC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GEOLOC_MODEL", raising=False)
    case = CaseLog(tmp_path / "data" / "caselog.sqlite3").ensure_case(RLO_NAME)
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["case"] = str(case)
    at.run()
    assert not at.exception
    texts = [t.value for t in at.text]
    assert any("Case: photo\\u202egpj.exe" in t for t in texts), texts
    assert not any("\u202e" in t for t in texts)
