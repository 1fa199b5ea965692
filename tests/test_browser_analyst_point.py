"""The analyst's own point in real Chromium (#32): a click on the Verify map fills the coordinates field
(streamlit-folium's last click, the round trip AppTest cannot drive), saving draws the point on the map as
the labelled diamond, and a note made of every payload of the corpus runs nothing and fetches nothing."""
from __future__ import annotations

import pytest

from tests.hostile_corpus import TEXT_PAYLOADS
from tests.imagegen import gps_exif, image_bytes
from tests.test_browser import ARTIFACTS, _map_frame, _recording, _start_server, _stop_server, browser  # noqa: F401

pytestmark = pytest.mark.browser
PARIS = (48.8584, 2.2945)
FIELD = "Coordinates (latitude, longitude)"


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_model_dir):
    data = tmp_path_factory.mktemp("analyst-point-browser")
    process, url, log = _start_server(data, tiny_model_dir)
    yield {"url": url, "data": data}
    _stop_server(process, log)


def test_a_map_click_fills_the_field_and_the_saved_point_is_drawn_with_an_inert_note(browser, server, tmp_path):  # noqa: F811
    photo = tmp_path / "paris.jpg"
    photo.write_bytes(image_bytes(size=(640, 480), exif=gps_exif(*PARIS)))
    context = browser.new_context(viewport={"width": 1400, "height": 2400})
    page = _recording(context.new_page(), server["url"])
    page.goto(server["url"], wait_until="networkidle")
    page.locator("input[type=file]").first.wait_for(state="attached", timeout=180_000)
    page.locator("input[type=file]").first.set_input_files(str(photo))
    field = page.get_by_label(FIELD, exact=True)
    field.wait_for(timeout=180_000)
    filled = (f"() => [...document.querySelectorAll('input')].some(i => i.getAttribute('aria-label') "
              f"=== {FIELD!r} && /^4[89]\\.\\d{{6}}, [23]\\.\\d{{6}}$/.test(i.value))")
    # wait for the page to finish its runs (the map reports itself once after it mounts), then click; a map
    # redrawn between the view change and the click gets the click elsewhere: take the new map and click again
    for attempt in range(3):
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=180_000)
        frame = _map_frame(page)
        frame.evaluate(f"() => window.map.setView([{PARIS[0] + 0.5}, {PARIS[1] + 0.5}], 8)")
        box = frame.locator(".leaflet-container").bounding_box()
        frame.locator(".leaflet-container").click(position={"x": box["width"] / 2, "y": box["height"] / 2})
        try:
            page.wait_for_function(filled, timeout=60_000)
            break
        except Exception:
            if attempt == 2:
                raise
    clicked = field.input_value()
    lat, lon = (float(v) for v in clicked.split(", "))
    assert abs(lat - (PARIS[0] + 0.5)) < 0.2 and abs(lon - (PARIS[1] + 0.5)) < 0.3, clicked
    note = " ".join(TEXT_PAYLOADS.values())
    page.get_by_label("How you found it (your note)", exact=True).fill(note)
    page.get_by_role("button", name="Save my point").click()
    page.get_by_text("is saved with this finding").wait_for(timeout=120_000)
    for _ in range(60):  # the map is drawn again with the point
        frame = _map_frame(page)
        if frame.evaluate("() => document.querySelectorAll('.geoloc-analyst').length") == 1:
            break
        page.wait_for_timeout(500)
    assert frame.evaluate("() => document.querySelectorAll('.geoloc-analyst').length") == 1
    frame.evaluate("() => { window.map.eachLayer(l => { if (l.getElement && l.getElement() && "
                   "l.getElement().classList.contains('geoloc-analyst')) { l.openPopup(); } }); }")
    popup = frame.locator(".leaflet-popup-content").inner_text(timeout=30_000)
    assert "Analyst's point (the analyst's own)" in popup and TEXT_PAYLOADS["html_img"] in popup
    assert TEXT_PAYLOADS["template_literal"] in popup and TEXT_PAYLOADS["script_close"] in popup
    body = page.inner_text("body")
    assert TEXT_PAYLOADS["html_img"] in body and "EXIF GPS vs the analyst's point" in body
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "verify_analyst_point.png"), full_page=True)
    assert page.dialogs == [] and frame.evaluate("() => document.querySelectorAll('img[src=x], svg[onload]').length") \
        == 0
    assert page.offsite == [], page.offsite
    context.close()
