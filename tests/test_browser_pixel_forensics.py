"""Pixel forensics in real Chromium (#37): a copy-move forgery whose EXIF Make is an HTML and a Markdown
image payload, uploaded on Verify, shows the Pixel forensics section (the photo with the pair outlined,
the error-level and noise views, each check's measure and limits); the payload is shown as text, nothing
of it runs or loads. The screenshot (test-artifacts/pixel-forensics.png) is for a person to look at."""
from __future__ import annotations

import pytest

from tests.forensic_images import HOSTILE_MAKE, forged_photo
from tests.test_browser import _recording, _shot, _start_server, _stop_server, browser  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser
VIEWS = ("The photo; copy-move pairs outlined", "Error levels", "Noise residual")


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_model_dir):
    data = tmp_path_factory.mktemp("pixel-browser")
    process, url, log = _start_server(data, tiny_model_dir)
    yield {"url": url, "data": data}
    _stop_server(process, log)


def test_verify_shows_the_pixel_views_and_no_payload_runs_or_loads(browser, server, tmp_path):  # noqa: F811
    data, _, _ = forged_photo(size=(800, 600))
    photo = tmp_path / "forged.jpg"
    photo.write_bytes(data)
    context = browser.new_context(viewport={"width": 1400, "height": 3400})  # the card and the whole section
    page = _recording(context.new_page(), server["url"])
    page.goto(server["url"], wait_until="networkidle")
    page.locator("input[type=file]").first.wait_for(state="attached", timeout=180_000)
    page.locator("input[type=file]").first.set_input_files(str(photo))
    page.get_by_text("Pixel forensics: flagged by").wait_for(timeout=180_000)
    # every view has arrived and is drawn (decoded by the browser, not an empty box)
    page.wait_for_function(
        "(names) => names.every(n => [...document.querySelectorAll('img')].some(i => (i.alt || '').startsWith(n)"
        " && i.complete && i.naturalWidth > 0))", arg=list(VIEWS), timeout=120_000)
    page.get_by_text("what it means, and its limits").first.scroll_into_view_if_needed()
    page.wait_for_timeout(500)  # let the last picture paint before the screenshot (the state is already reached)
    _shot(page, "pixel-forensics")
    body = page.inner_text("body")
    assert "flagged by JPEG quantisation tables, copy-move (clone)" in body
    assert "what it means, and its limits" in body and "never flags" in body
    assert HOSTILE_MAKE in body  # the quantisation note and the EXIF table show the Make as the file wrote it
    assert page.evaluate("() => document.querySelectorAll('img[src=\"x\"], img[src*=\"make.png\"]').length") == 0
    assert page.evaluate("() => [...document.querySelectorAll('img')].filter(i => i.alt.startsWith("
                         "'The photo; copy-move')).length") == 1
    assert page.dialogs == [] and page.offsite == []
    context.close()
