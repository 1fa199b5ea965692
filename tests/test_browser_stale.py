"""Nothing stale on screen (#32), in real Chromium: once the page starts on a second upload, nothing of the
first file (its coordinates, its map) is drawn again, faded or not, so an analyst cannot copy the wrong
coordinates while the new file is analysed. (On Streamlit 1.67 the uploader's own intermediate run, with no
file, usually clears the page before the second run; tests/test_app_stale.py checks the ordering where that
run is overtaken, deterministically.)

Every state of the page is recorded by a MutationObserver in the page (it runs after each change of the DOM,
before the browser paints), so the test sees each intermediate screen, however short, without timing."""
from __future__ import annotations

import pytest

from tests.imagegen import gps_exif, image_bytes
from tests.test_browser import _map_frame, _start_server, _stop_server, browser  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser
AACHEN = (50.7753, 6.0839)  # the coordinates of the issue
KYIV = (50.4501, 30.5234)

# Records one sample per DOM change: which file's coordinates are in the page, whether anything is stale
# (Streamlit marks the elements of the previous run with data-stale while a new run has not redrawn them),
# and whether the new run has drawn anything below the uploader yet ("Analysing kyiv.jpg...", or its name).
RECORDER = """([oldText, newText, newName]) => {
  window.__samples = [];
  const sample = () => {
    const main = document.querySelector('[data-testid="stMain"]') || document.body;
    const containers = [...main.querySelectorAll('[data-testid="stElementContainer"]')];
    const fresh = c => c.getAttribute('data-stale') !== 'true';
    const maps = containers.filter(c => c.querySelector('iframe'));
    window.__samples.push({
      old: main.textContent.includes(oldText),
      now: main.textContent.includes(newText),
      staleOld: containers.some(c => !fresh(c) && c.textContent.includes(oldText)),
      staleMap: maps.some(c => !fresh(c)),
      newRun: containers.some(c => fresh(c) && c.textContent.includes('Analysing ' + newName))
        || [...main.querySelectorAll('h3')].some(h => h.textContent.includes(newName)
                                                      && fresh(h.closest('[data-testid="stElementContainer"]'))),
    });
  };
  new MutationObserver(sample).observe(document.body, {subtree: true, childList: true, attributes: true,
                                                       characterData: true});
  sample();
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_model_dir):
    data = tmp_path_factory.mktemp("stale-browser")
    process, url, log = _start_server(data, tiny_model_dir)
    yield {"url": url, "data": data}
    _stop_server(process, log)


def _open(browser, url: str, width: int = 1400):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 1800})
    page = context.new_page()
    page.goto(url, wait_until="networkidle")
    page.locator("input[type=file]").first.wait_for(state="attached", timeout=180_000)  # first run loads the model
    return context, page


def test_second_upload_never_shows_the_first_files_coordinates(browser, server, tmp_path):  # noqa: F811
    first, second = tmp_path / "aachen.jpg", tmp_path / "kyiv.jpg"
    first.write_bytes(image_bytes(size=(640, 480), exif=gps_exif(*AACHEN)))
    second.write_bytes(image_bytes(size=(640, 480), color=(200, 120, 40), exif=gps_exif(*KYIV)))
    old_text, new_text = f"{AACHEN[0]:.6f}, {AACHEN[1]:.6f}", f"{KYIV[0]:.6f}, {KYIV[1]:.6f}"
    context, page = _open(browser, server["url"])
    upload = page.locator("input[type=file]").first
    upload.set_input_files(str(first))
    page.get_by_text(old_text).first.wait_for(timeout=180_000)
    _map_frame(page)
    page.evaluate(RECORDER, [old_text, new_text, second.name])
    upload.set_input_files(str(second))
    page.get_by_text(new_text).first.wait_for(timeout=180_000)
    _map_frame(page)
    samples = page.evaluate("() => window.__samples")
    context.close()
    assert samples[0]["old"] and not samples[0]["now"]  # the recorder saw the first file's page
    assert samples[-1]["now"] and not samples[-1]["old"], samples[-1]
    started = next((i for i, s in enumerate(samples) if s["newRun"]), None)
    assert started is not None, "the second upload's run was never seen"
    shown_with_new = [s for s in samples[started:] if s["old"] or s["staleMap"]]
    assert not shown_with_new, (f"{len(shown_with_new)} screens showed the first file's coordinates or map while "
                                f"the second was analysed: {shown_with_new[:3]}")
    appeared = next(i for i, s in enumerate(samples) if s["now"])
    assert not any(s["old"] for s in samples[appeared:])
