"""Two witnesses in a real browser (headless Chromium via Playwright, against `streamlit run`): a zero-shot CLIP
checkpoint from GEOLOC_MODEL and a trained regressor entered as the second witness in the sidebar."""
from __future__ import annotations

import io
import json
import os

import pytest

from tests.imagegen import gps_exif
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _shot, _start_server, _stop_server
from tests.tiny_models import save_tiny_clip, synthetic_country_image, write_synthetic_places

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def witness_server(tmp_path_factory, tiny_model_dir):
    clip = save_tiny_clip(tmp_path_factory.mktemp("browser_clip"))
    write_synthetic_places(clip / "places.csv")  # a model folder names only its own files (#31)
    (clip / "zeroshot.json").write_text(json.dumps({"places_csv": "places.csv"}), encoding="utf-8")
    data = tmp_path_factory.mktemp("browser-witness-data")
    before = os.environ.get("GEOLOC_CACHE_DIR")
    os.environ["GEOLOC_CACHE_DIR"] = str(data / "cache")  # inherited by the server process
    try:
        process, url, log = _start_server(data, clip)
    finally:
        os.environ.pop("GEOLOC_CACHE_DIR") if before is None else os.environ.update(GEOLOC_CACHE_DIR=before)
    yield {"url": url, "regressor": str(tiny_model_dir)}
    _stop_server(process, log)


def test_result_card_shows_two_witnesses_and_country_probabilities(witness_server, tmp_path):
    from playwright.sync_api import sync_playwright

    buffer = io.BytesIO()
    synthetic_country_image("XA", seed=9, size=96).save(buffer, "JPEG", quality=95, exif=gps_exif(60.5, 11.0))
    photo = tmp_path / "redonia.jpg"
    photo.write_bytes(buffer.getvalue())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 2600}).new_page()
        page.goto(witness_server["url"], wait_until="networkidle")
        page.get_by_text("Drop a photo").wait_for(timeout=300_000)
        second = page.locator('input[aria-label="Second witness (optional)"]')
        second.fill(witness_server["regressor"])
        second.press("Enter")
        page.get_by_text("Second witness loaded.").wait_for(timeout=300_000)
        page.locator("input[type=file]").first.set_input_files(str(photo))
        page.get_by_text("Two witnesses", exact=True).wait_for(timeout=300_000)
        page.get_by_text("km apart").wait_for(timeout=30_000)
        for text in ("first (regressor)", "second (zero-shot)"):  # static tables fill in after the headings
            page.get_by_text(text, exact=True).wait_for(timeout=300_000)
        page.wait_for_timeout(1000)
        _shot(page, "two-witnesses")
        body = page.inner_text("body")
        browser.close()
    assert "first (regressor)" in body and "second (zero-shot)" in body
    assert "Country probabilities (zero-shot CLIP, uncalibrated)" in body
    assert "Redonia" in body and "(uncalibrated)" in body
