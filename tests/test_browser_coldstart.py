"""Cold start in a real browser (#32): a page's own address opened the moment a new server answers.

For 2-18 s after `make run` the sidebar listed the raw page file names (``app batch cases model shadows verify``),
and a click on one crashed five times in six: Streamlit's automatic navigation of a ``pages/`` folder ran the
file without app.py. Every navigation label and every error box the browser ever draws is recorded in the page
itself (a MutationObserver), so a flash of the wrong navigation between two looks is caught too."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _shot, _start_server, _stop_server

pytestmark = pytest.mark.browser
TITLES = {"Verify an image or video", "Batch", "Case log", "Sun and shadows", "Model"}
RAW_NAMES = {"app", "batch", "cases", "model", "shadows", "verify"}
# Records, from the first byte of the page, each navigation label drawn (without its icon's ligature name) and
# each error box's text.
RECORDER = """
window.__nav = new Set(); window.__errors = [];
new MutationObserver(() => {
    document.querySelectorAll('[data-testid="stSidebarNav"] a').forEach(a => {
        const label = a.cloneNode(true);
        label.querySelectorAll('[data-testid="stIconMaterial"]').forEach(icon => icon.remove());
        window.__nav.add(label.textContent.trim());
    });
    document.querySelectorAll('[data-testid="stException"], [data-testid="stAlertContentError"]').forEach(
        e => window.__errors.includes(e.textContent) || window.__errors.push(e.textContent));
    if (document.body && document.body.textContent.includes('This app has encountered an error'))
        window.__errors.includes('app error') || window.__errors.push('app error');
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


@pytest.fixture
def fresh_server(tmp_path, tiny_model_dir):
    """A server that has just started: health answers, no session has run app.py yet."""
    process, url, log = _start_server(tmp_path, tiny_model_dir)
    yield url
    _stop_server(process, log)


def test_a_page_address_on_a_cold_server_shows_that_page_and_its_titles(fresh_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 1200}).new_page()
            page.add_init_script(RECORDER)
            page.goto(fresh_server + "/batch", wait_until="commit")
            # the Batch page's own heading and uploader, or an error box, whichever comes first (a cold start
            # imports the app and loads the model on 2 shared cores: a generous bound)
            page.wait_for_function("""() => window.__errors.length > 0 || (
                [...document.querySelectorAll('h1')].some(h => h.textContent.trim() === 'Batch')
                && document.querySelector('[data-testid="stFileUploader"]') !== null
                && document.querySelectorAll('[data-testid="stSidebarNav"] a').length === 5)""",
                                   timeout=300_000, polling=100)
            _shot(page, "coldstart_batch")
            errors = page.evaluate("() => window.__errors")
            seen = set(page.evaluate("() => [...window.__nav]"))
            shown = set(page.evaluate("""() => [...document.querySelectorAll('[data-testid="stSidebarNav"] a')].map(a => {
                const label = a.cloneNode(true);
                label.querySelectorAll('[data-testid="stIconMaterial"]').forEach(icon => icon.remove());
                return label.textContent.trim(); })"""))
            address = page.url
        finally:
            browser.close()
    assert errors == []
    assert not seen & RAW_NAMES, f"raw page file names were shown as the navigation: {sorted(seen)}"
    assert seen == TITLES and shown == TITLES
    assert urlsplit(address).path == "/batch"  # (with ?case=...&model=... the sidebar keeps in the address)
