"""#29 in a real browser: while a zero-shot model embeds the prompts the first image needs, the Verify page
shows what it prepares, how far it is and how long it should take (a watcher thread redraws the line while
the script waits for the model), never only a frozen spinner. The text tower is slowed in the server (its
own sitecustomize) so the line stays long enough to be seen on a busy machine."""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from tests.imagegen import gps_exif
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _shot, _start_server, _stop_server
from tests.tiny_models import save_tiny_clip, synthetic_country_image, write_synthetic_places

pytestmark = pytest.mark.browser

SLOW_TEXT_TOWER = '''import runpy, time
runpy.run_path({netguard!r})  # the test guard first: nothing may leave the machine
import transformers.models.clip.modeling_clip as clip
_forward = clip.CLIPEncoderLayer.forward
def forward(self, *args, **kwargs):
    time.sleep(0.05)
    return _forward(self, *args, **kwargs)
clip.CLIPEncoderLayer.forward = forward
import geoloc_core.model.shared_prefix as shared
_layer = shared._layer
def layer(*args, **kwargs):
    time.sleep(0.05)
    return _layer(*args, **kwargs)
shared._layer = layer
'''


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory):
    clip = save_tiny_clip(tmp_path_factory.mktemp("progress_clip"))
    write_synthetic_places(clip / "places.csv")
    (clip / "zeroshot.json").write_text(json.dumps({"places_csv": "places.csv", "cities_csv": "places.csv"}),
                                        encoding="utf-8")
    site = tmp_path_factory.mktemp("slow_site")
    netguard = Path(__file__).resolve().parent / "netguard" / "sitecustomize.py"
    (site / "sitecustomize.py").write_text(SLOW_TEXT_TOWER.format(netguard=str(netguard)), encoding="utf-8")
    data = tmp_path_factory.mktemp("progress-data")
    before = os.environ.get("GEOLOC_CACHE_DIR")
    os.environ["GEOLOC_CACHE_DIR"] = str(data / "cache")
    try:
        process, url, log = _start_server(data, clip, site=site)
    finally:
        os.environ.pop("GEOLOC_CACHE_DIR") if before is None else os.environ.update(GEOLOC_CACHE_DIR=before)
    yield url, data
    _stop_server(process, log)


def test_the_first_image_shows_what_is_prepared_while_it_waits(slow_server, tmp_path):
    from playwright.sync_api import sync_playwright

    url, data = slow_server
    buffer = io.BytesIO()
    synthetic_country_image("XA", seed=9, size=96).save(buffer, "JPEG", quality=95, exif=gps_exif(60.5, 11.0))
    photo = tmp_path / "redonia.jpg"
    photo.write_bytes(buffer.getvalue())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
        page.goto(url, wait_until="networkidle")
        page.get_by_text("Drop a photo").wait_for(timeout=300_000)
        page.locator("input[type=file]").first.set_input_files(str(photo))
        line = page.get_by_text("Preparing zero-shot prompts (", exact=False)
        line.first.wait_for(timeout=300_000)
        shown = line.first.inner_text()
        _shot(page, "zero-shot-prompt-progress")
        page.get_by_text("Zero-shot prompts prepared for this run").wait_for(timeout=300_000)
        body = page.inner_text("body")
        browser.close()
    assert " of " in shown and ("prompts/s, about" in shown or "measuring the speed" in shown), shown
    assert "Preparing zero-shot prompts" not in body  # gone once the answer is there
    assert "kept on disk for later images" in body
    assert not (data / "net.log").exists() or not (data / "net.log").read_text().strip()
