"""Every page at 1400 px and at 400 px (#32) in Chromium: screenshots of Verify, Batch, Case log and a report in
test-artifacts/ for a person to look at, and the defects seen in them measured: no label of a table broken
inside a word ("Claim ed lat", "Count ry"), no value cut short ("Russian Fede..."), nothing wider than the
window."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.imagegen import gps_exif, image_bytes
from tests.test_browser import ARTIFACTS, ROOT, _map_frame, _start_server, _stop_server, browser  # noqa: F401
from tests.test_claims_case import MOSCOW, photo

pytestmark = pytest.mark.browser
WIDTHS = (1400, 400)

# Words of table labels (th: the field names and column titles) that the browser broke across two lines.
# Each word's text range gives one rectangle per line it is drawn on; a word long enough to be a hash or a
# hostile value may wrap anywhere, so only words of up to 16 characters count.
BROKEN_LABEL_WORDS = """() => {
  const broken = [];
  for (const cell of document.querySelectorAll('.geoloc-text-table th')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.textContent.matchAll(/\\S+/g)) {
        if (match[0].length > 16) continue;
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (tops.size > 1) broken.push(match[0]);
      }
    }
  }
  return broken;
}"""
# Text wider than its box: cut short with an ellipsis, or drawn over its neighbour (a metric's value).
CUT_TEXT = """() => [...document.querySelectorAll('[data-testid="stMetricValue"], [data-testid="stMetricValue"] *, '
                                      + '[data-testid="stMetricLabel"] *, .geoloc-text-table td, .geoloc-text-table th')]
  .filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)
  .map(e => e.textContent.trim())"""
# Elements of the app wider than the window (a horizontal scroll bar on a phone).
TOO_WIDE = """() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stElementContainer"]')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .map(e => e.getAttribute('class') + ': ' + e.textContent.trim().slice(0, 60))"""


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_model_dir):
    data = tmp_path_factory.mktemp("layout-browser")
    process, url, log = _start_server(data, tiny_model_dir)
    yield {"url": url, "data": data}
    _stop_server(process, log)


def _page(browser, url: str, width: int):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 2600 if width > 640 else 6000})
    page = context.new_page()
    page.goto(url, wait_until="networkidle")
    page.locator("input[type=file]").first.wait_for(state="attached", timeout=180_000)  # first run loads the model
    return context, page


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _measure(page) -> dict:
    return {"broken": page.evaluate(BROKEN_LABEL_WORDS), "cut": page.evaluate(CUT_TEXT),
            "too wide": page.evaluate(TOO_WIDE)}


@pytest.mark.parametrize("width", WIDTHS)
def test_verify_with_a_written_claim_at_each_width(browser, server, tmp_path, width):  # noqa: F811
    path = tmp_path / "moscow-claim.jpg"
    path.write_bytes(photo(MOSCOW, photoshop__City="Kyiv", photoshop__Country="Ukraine",
                           dc__description="Kyiv, 12 March"))
    context, page = _page(browser, server["url"], width)
    page.locator("input[type=file]").first.set_input_files(str(path))
    page.get_by_text("Written claim").first.wait_for(timeout=180_000)
    _map_frame(page)
    _shot(page, f"layout-verify-{width}")
    measured = _measure(page)
    labels = page.locator(".geoloc-text-table th").all_inner_texts()
    context.close()
    assert "Claimed lat, lon (deg)" in labels and "Country" in labels
    assert measured == {"broken": [], "cut": [], "too wide": []}, measured


@pytest.mark.parametrize("width", WIDTHS)
def test_batch_and_case_log_at_each_width(browser, server, tmp_path, width):  # noqa: F811
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "sydney.jpg").write_bytes(image_bytes(size=(320, 240), exif=gps_exif(-33.8568, 151.2153)))
    (folder / "moscow-claim.jpg").write_bytes(photo(MOSCOW, photoshop__City="Kyiv", photoshop__Country="Ukraine"))
    (folder / "flat.png").write_bytes(image_bytes("PNG", size=(8, 8)))
    context, page = _page(browser, f"{server['url']}/batch", width)  # by address: on a phone the sidebar is shut
    page.locator("input[type=file][webkitdirectory]").set_input_files(str(folder))
    page.get_by_role("button", name=re.compile(r"Analyse \d+ upload")).click()
    page.get_by_text("Done:").wait_for(timeout=180_000)
    _map_frame(page)
    _shot(page, f"layout-batch-{width}")
    batch = _measure(page)
    page.goto(f"{server['url']}/cases", wait_until="networkidle")
    page.get_by_text("Search file names").first.wait_for(timeout=120_000)
    _map_frame(page)
    _shot(page, f"layout-case-log-{width}")
    case_log = _measure(page)
    context.close()
    assert batch == {"broken": [], "cut": [], "too wide": []}, batch
    assert case_log == {"broken": [], "cut": [], "too wide": []}, case_log


def test_report_at_each_width(browser, tmp_path, tiny_model_dir):  # noqa: F811
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "paris.jpg").write_bytes(image_bytes(size=(320, 240), exif=gps_exif(48.8584, 2.2945)))
    (folder / "moscow-claim.jpg").write_bytes(photo(MOSCOW, photoshop__City="Kyiv", photoshop__Country="Ukraine"))
    report = tmp_path / "report.html"
    done = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(folder), "--out", str(tmp_path / "f.csv"),
                           "--report", str(report), "--model", str(tiny_model_dir), "--no-progress"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    for width in WIDTHS:
        page = browser.new_page(viewport={"width": width, "height": 2600 if width > 640 else 6000})
        page.goto(report.as_uri(), wait_until="load")
        _shot(page, f"layout-report-{width}")
        wider = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        page.close()
        assert wider <= 0, f"the report is {wider} px wider than a {width} px window"
