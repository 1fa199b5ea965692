"""Team server (#36) in Chromium: a real OpenID Connect provider (tests/oidc, npm's oidc-provider) and the app
started as a team serves it (``python -m ui.serve`` with [auth] in secrets.toml). Alice logs in through the
provider's own pages, analyses a photo, and finds her name in the case log and in the report; Bob, in a fresh
browser context, cannot reach her case by the sidebar, by its URL (``?case=``) or by search."""
from __future__ import annotations

from pathlib import Path

import piexif
import pytest

from geoloc_core.case.log.caselog import CaseLog
from tests.imagegen import gps_exif, image_bytes
from tests.oidc_provider import team_server
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
ALICE, BOB = "Alice Analyst <alice@example.org>", "Bob Reporter <bob@example.org>"
SECRET_FILE = "harbour_fire_secret.jpg"


@pytest.fixture(scope="module")
def team(tmp_path_factory, tiny_model_dir):
    folder = tmp_path_factory.mktemp("team")
    with team_server(folder, tiny_model_dir) as url:
        yield {"url": url, "data": folder / "data", "folder": folder}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def _text(page) -> str:
    """The page's text as read: without the word joiners ui.plaintext puts after "@" (no autolinked e-mails)."""
    return page.inner_text("body").replace("\u2060", "")


def _wait_text(page, text: str, timeout: int = 120_000) -> None:
    page.wait_for_function("t => document.body.innerText.replaceAll('\\u2060', '').includes(t)", arg=text,
                           timeout=timeout)


def _log_in(browser, url: str, user: str, path: str = ""):
    """A fresh context: the app's login button, then the provider's own sign-in page."""
    context = browser.new_context(viewport={"width": 1400, "height": 2000}, accept_downloads=True)
    page = context.new_page()
    page.goto(url + path)
    page.get_by_role("button", name="Log in").click(timeout=120_000)
    page.locator("input[name=login]").wait_for(timeout=60_000)  # the provider's page, not geoloc's
    assert page.url.startswith(url.rsplit(":", 1)[0]) and not page.url.startswith(url)
    page.locator("input[name=login]").fill(user)
    page.locator("input[name=password]").fill("any")
    page.locator("button[type=submit]").click()
    page.get_by_text("Signed in as").wait_for(timeout=120_000)
    return context, page


def test_alice_logs_in_analyses_and_signs_bob_cannot_reach_her_case(browser, team, tmp_path):
    url = team["url"]
    page = browser.new_context().new_page()
    page.goto(url)
    page.get_by_role("button", name="Log in").wait_for(timeout=120_000)
    assert "Drop a photo" not in _text(page)  # nothing of the app before the login
    page.context.close()

    context, page = _log_in(browser, url, "alice")
    assert f"Signed in as {ALICE}" in _text(page)
    page.locator("input[type=file]").first.wait_for(state="attached", timeout=180_000)
    photo = tmp_path / SECRET_FILE
    photo.write_bytes(image_bytes(size=(640, 480), exif=gps_exif(48.8584, 2.2945, **{
        "0th": {piexif.ImageIFD.Make: b"Apple", piexif.ImageIFD.Model: b"iPhone 15"}})))
    page.locator("input[type=file]").first.set_input_files(str(photo))
    page.get_by_text("Verdict:").first.wait_for(timeout=120_000)
    log = CaseLog(team["data"] / "caselog.sqlite3")
    [(alice_case, alice_case_name, _)] = log.cases()
    assert log.case_owner(alice_case) == "alice@example.org"
    assert [s.finding.analysed_by for s in log.findings(alice_case)] == [ALICE]

    page.get_by_role("link", name="Case log").click()
    page.get_by_text("Report and evidence bundle").wait_for(timeout=120_000)
    body = _text(page)
    assert f"Analyst: {ALICE} (from your login)" in body and f"Analyst: {ALICE}." in body
    assert page.locator("input[aria-label='Analyst name']").count() == 0  # no free-text name in team mode
    page.get_by_role("button", name="Make report and bundle").click()
    with page.expect_download(timeout=180_000) as download:
        page.get_by_role("button", name="Download report (HTML)").click(timeout=180_000)
    report = Path(download.value.path()).read_text(encoding="utf-8")
    # the file behind the button (a Streamlit media URL) goes to a signed-in browser only, not to whoever has the URL
    assert page.context.request.get(download.value.url).status == 200
    stranger = browser.new_context()
    assert stranger.request.get(download.value.url).status == 403
    stranger.close()
    assert "Alice Analyst &lt;alice@example.org&gt;" in report and SECRET_FILE in report
    assert [r.analyst for r in log.exports(alice_case)] == [ALICE] * 3  # HTML, PDF, bundle
    _shot(page, "team-alice-case-log")
    alice_url = page.url
    context.close()

    # Bob: his own case, not Alice's, whichever way he asks
    context, page = _log_in(browser, url, "bob")
    _wait_text(page, "Case: Cases of bob@example.org")
    for address in (f"{url}/cases?case={alice_case}", alice_url):  # her case's id, and her own address as is
        page.goto(address)
        _wait_text(page, f"Signed in as {BOB}")
        _wait_text(page, "Case: Cases of bob@example.org")  # the URL's ?case= of Alice's was not taken
        body = _text(page)
        assert alice_case_name not in body and SECRET_FILE not in body
    page.get_by_role("link", name="Case log").click()
    search = page.get_by_label("Search file names, verdicts, notes and metadata")
    search.fill("harbour")
    search.press("Enter")
    page.get_by_text("No findings in this case yet.").wait_for(timeout=60_000)
    page.get_by_role("combobox").first.click()  # the sidebar's case list: only his
    options = page.get_by_role("option").all_inner_texts()
    assert options and alice_case_name not in options and all("bob" in o for o in options), options
    page.keyboard.press("Escape")
    body = _text(page)
    assert SECRET_FILE not in body and "alice" not in body.lower()
    _shot(page, "team-bob-cannot-see-alice")
    context.close()
    assert [c for c in log.cases() if c[0] == alice_case][0][2] == 1  # Alice's case untouched

    # Alice, the owner, adds Bob to her case; now he has it
    context, page = _log_in(browser, url, "alice")
    page.get_by_role("link", name="Case log").click()
    page.get_by_text("Who works on this case").click(timeout=120_000)
    page.get_by_label("Colleague's login e-mail").fill("Bob@Example.org")
    page.get_by_label("Colleague's login e-mail").press("Enter")
    page.get_by_role("button", name="Add to the case").click()
    _wait_text(page, "bob@example.org added to the case.")
    context.close()
    assert log.case_members(alice_case) == ["bob@example.org"]
    context, page = _log_in(browser, url, "bob", f"/cases?case={alice_case}")
    page.get_by_role("combobox").first.click()
    assert alice_case_name in page.get_by_role("option").all_inner_texts()
    context.close()
