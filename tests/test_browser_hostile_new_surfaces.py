"""The hostile payload corpus on this morning's new surfaces, in real Chromium (tests/hostile_corpus.py).

* Pixel forensics (#37) on Verify: copy-move forgeries whose EXIF Make and Model are payloads (six joined in each
  field, three uploads cover them all); the check table's quantisation note names the camera as EXIF wrote it.
* Video (#34) on Verify: clips whose file name and QuickTime Make, Model, Software and Title are payloads; the
  result card, the container's claims and the filmstrip.
* Team server (#36): an OpenID Connect user whose name and e-mail are payloads (a provider's user names
  themself), signed in through the provider's own pages: the sidebar's "Signed in as", the Case log's analyst
  line, "Who works on this case" (owner, members, a hostile e-mail added), and the HTML report.

Everywhere: no dialog, no request off this server, no element made from a payload (INTERPRETED_JS), and the
payload shown as literal text. One server per surface kind, several uploads each. Screenshots under
test-artifacts/ (hostile-new-pixel.png, hostile-new-video.png, hostile-new-team.png) are for a person to look at."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.hostile_corpus import TEXT_PAYLOADS, payload_file_name
from tests.test_browser import (CHROMIUM, CHROMIUM_ARGS, INTERPRETED_JS, _recording, _shot, _start_server,
                                _stop_server)

pytestmark = pytest.mark.browser  # each test under 20 s here (the module about a minute with its servers)
ROOT = Path(__file__).resolve().parents[1]
KEYS = list(TEXT_PAYLOADS)
GROUPS = [" | ".join(TEXT_PAYLOADS[k] for k in KEYS[g::3]) for g in range(3)]  # every payload in one of three
# what Chromium's innerText shows of text: runs of white space as one space, no word joiners (ui.plaintext)
SHOWN_JS = "() => document.body.innerText.replaceAll('\\u2060', '').replace(/\\s+/g, ' ')"
INJECTED_JS = """() => document.querySelectorAll(
  'img[src="x"], svg[onload], a[href*="evil.invalid"], a[href^="javascript"], img[src*="evil.invalid"]').length
  + [...document.querySelectorAll('script')].filter(s => s.textContent.includes('alert(')).length"""


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_model_dir):
    data = tmp_path_factory.mktemp("hostile-new")
    process, url, log = _start_server(data, tiny_model_dir)
    yield {"url": url, "data": data}
    _stop_server(process, log)
    assert not (data / "net.log").exists() or (data / "net.log").read_text().strip() == "", \
        (data / "net.log").read_text()[:2000]  # the server itself connected nowhere


def _as_uploaded(name: str) -> str:
    """A file name as the server receives it from Chromium: the HTML standard's multipart/form-data encoding
    writes a double quote in a file name as %22 (the browser's doing, before geoloc sees a byte)."""
    return name.replace('"', "%22")


def _verify_page(browser, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 3400})
    page = _recording(context.new_page(), url)
    page.goto(url, wait_until="networkidle")
    page.locator("input[type=file]").first.wait_for(state="attached", timeout=180_000)
    return page


def _assert_inert(page) -> None:
    assert page.evaluate(INTERPRETED_JS) == [], page.evaluate(INTERPRETED_JS)
    assert page.evaluate(INJECTED_JS) == 0
    body = page.inner_text("body")
    assert "\U0001f604" not in body  # :smile: stayed text
    assert page.dialogs == [] and page.offsite == [], (page.dialogs, page.offsite)


def _wait_shown(page, text: str, timeout: int = 120_000) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(f"(t) => ({SHOWN_JS})().includes(t)", arg=_flat(text), timeout=timeout)
    except PlaywrightTimeout:
        raise AssertionError(f"never shown as text: {text!r}\npage text:\n{page.evaluate(SHOWN_JS)[:6000]}") from None


def test_pixel_forensics_notes_and_tables_show_every_payload_as_text(browser, server, tmp_path):
    from tests.forensic_images import forged_photo

    page = _verify_page(browser, server["url"])
    for group, make in enumerate(GROUPS):
        model = GROUPS[(group + 1) % 3]
        data, _, _ = forged_photo(seed=group + 1, size=(480, 360), make=make, model=model)
        photo = tmp_path / payload_file_name(f"pixel{group}", TEXT_PAYLOADS[KEYS[group]])
        photo.write_bytes(data)
        page.locator("input[type=file]").first.set_input_files(str(photo))
        page.get_by_text("Saved to case").first.wait_for(timeout=180_000)
        page.get_by_text("what it means, and its limits").first.wait_for(timeout=180_000)
        # the quantisation note in the check table: the camera as EXIF named it, Make then Model
        _wait_shown(page, f"EXIF names the camera \u201c{make} {model}\u201d")
        _wait_shown(page, _as_uploaded(photo.name))
        _assert_inert(page)
    page.get_by_text("what it means, and its limits").first.scroll_into_view_if_needed()
    page.wait_for_timeout(300)  # the last picture painted (the state itself was waited for above)
    _shot(page, "hostile-new-pixel")
    page.context.close()


def test_video_claims_and_filmstrip_show_every_payload_as_text(browser, server, tmp_path):
    from tests.videogen import cut_clip

    page = _verify_page(browser, server["url"])
    for group, text in enumerate(GROUPS):
        claims = {"com.apple.quicktime.make": text, "com.apple.quicktime.model": GROUPS[(group + 1) % 3],
                  "com.apple.quicktime.software": GROUPS[(group + 2) % 3], "com.apple.quicktime.title": text,
                  "com.apple.quicktime.location.ISO6709": "+48.8584+002.2945/",
                  "com.apple.quicktime.creationdate": "2024-05-01T13:20:30+0200"}
        clip = tmp_path / (payload_file_name(f"clip{group}", TEXT_PAYLOADS[KEYS[group]])[:-4] + ".mov")
        clip.write_bytes(cut_clip([10, 30], 50, fmt="mov", size=(160, 96), metadata=claims))
        page.locator("input[type=file]").first.set_input_files(str(clip))
        page.get_by_text("Saved to case").first.wait_for(timeout=180_000)
        page.get_by_text("What the container claims").first.wait_for(timeout=120_000)
        page.wait_for_function("() => { const k = [...document.querySelectorAll('img')]"
                               ".filter(i => i.alt.startsWith('Keyframe at'));"
                               " return k.length > 0 && k.every(i => i.complete && i.naturalWidth > 0); }",
                               timeout=60_000)  # some drawn: every() of none was true before the filmstrip came
        for shown in (text, GROUPS[(group + 1) % 3], GROUPS[(group + 2) % 3], _as_uploaded(clip.name)):
            _wait_shown(page, shown)
        _assert_inert(page)
    page.get_by_text("What the container claims").first.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    _shot(page, "hostile-new-video")
    page.context.close()


# ----- team server: a hostile identity from the provider ---------------------------------------------------
NAME = " | ".join(TEXT_PAYLOADS[k] for k in ("html_img", "script_close", "template_literal", "md_autolink"))
EMAIL = '<svg onload=alert("mail")>[x](javascript:alert(1))@evil.invalid'
COLLEAGUE = "=cmd|' /c calc'!a0<img src=x onerror=alert(2)>@evil.invalid"


@pytest.fixture(scope="module")
def team(tmp_path_factory, tiny_model_dir):
    from tests.oidc_provider import team_server

    folder = tmp_path_factory.mktemp("team-hostile")
    with team_server(folder, tiny_model_dir,
                     users={"mallory": {"email": EMAIL, "email_verified": True, "name": NAME}}) as url:
        yield {"url": url, "data": folder / "data"}
    net = folder / "net.log"
    assert not net.exists() or net.read_text().strip() == "", net.read_text()[:2000]  # nowhere but the provider


def test_a_hostile_login_name_and_email_stay_text(browser, team, tmp_path):
    from geoloc_core.case.log.caselog import CaseLog
    from tests.imagegen import gps_exif, image_bytes
    from ui.login import member_from_claims

    member = member_from_claims({"email": EMAIL, "email_verified": True, "name": NAME}, {})
    url = team["url"]
    context = browser.new_context(viewport={"width": 1400, "height": 2400}, accept_downloads=True)
    page = _recording(context.new_page(), url)
    page.goto(url)
    page.get_by_role("button", name="Log in").click(timeout=120_000)
    page.locator("input[name=login]").fill("mallory")
    page.locator("input[name=password]").fill("any")
    page.locator("button[type=submit]").click()
    page.get_by_text("Signed in as").wait_for(timeout=120_000)
    page.offsite.clear()  # the test provider's own sign-in page asks Google Fonts for its font: not geoloc's page
    _wait_shown(page, f"Signed in as {member.signature}")
    page.locator("input[type=file]").first.wait_for(state="attached", timeout=180_000)
    photo = tmp_path / "harbour.jpg"
    photo.write_bytes(image_bytes(size=(320, 240), exif=gps_exif(48.8584, 2.2945)))
    page.locator("input[type=file]").first.set_input_files(str(photo))
    page.get_by_text("Verdict:").first.wait_for(timeout=120_000)
    _assert_inert(page)
    log = CaseLog(team["data"] / "caselog.sqlite3")
    [(case_id, case_name, _)] = log.cases()
    assert [s.finding.analysed_by for s in log.findings(case_id)] == [member.signature]

    page.get_by_role("link", name="Case log").click()
    page.get_by_text("Report and evidence bundle").wait_for(timeout=120_000)
    _wait_shown(page, f"Analyst: {member.signature} (from your login)")
    _wait_shown(page, case_name)  # "Cases of <the e-mail>"
    page.get_by_text("Who works on this case").click(timeout=120_000)
    _wait_shown(page, f"Owner: {member.email}")
    page.get_by_label("Colleague's login e-mail").fill(COLLEAGUE)
    page.get_by_label("Colleague's login e-mail").press("Enter")
    page.get_by_role("button", name="Add to the case").click()
    _wait_shown(page, f"{COLLEAGUE} added to the case.")
    _wait_shown(page, f"Members: {COLLEAGUE}")
    assert log.case_members(case_id) == [COLLEAGUE]
    _assert_inert(page)
    _shot(page, "hostile-new-team")

    page.get_by_role("button", name="Make report and bundle").click()
    with page.expect_download(timeout=180_000) as download:
        page.get_by_role("button", name="Download report (HTML)").click(timeout=180_000)
    report = Path(download.value.path()).read_text(encoding="utf-8")
    report_page = _recording(context.new_page(), "file:")
    (tmp_path / "report.html").write_text(report, encoding="utf-8")
    report_page.goto((tmp_path / "report.html").as_uri(), wait_until="load")
    assert _flat(member.signature) in report_page.evaluate(SHOWN_JS)
    _assert_inert(report_page)
    _assert_inert(page)
    context.close()


def _open_row(page, row: int) -> None:
    """Tick one row of the Case log's table (a canvas grid: its row checkbox, by position) and wait for the card.
    The table is drawn again after a search's rerun: click once it stands, and again (a few times at most) if
    the click fell on the grid being replaced."""
    for attempt in range(5):
        grid = page.locator("[data-testid='stDataFrame']").first
        grid.wait_for(state="visible", timeout=60_000)
        page.wait_for_timeout(1000)  # the grid draws on its canvas after the element appears
        box = grid.bounding_box()
        if box is None:
            continue
        row_px = 35  # Streamlit's data grid: a 35 px header, then 35 px rows; the checkbox column comes first
        page.mouse.click(box["x"] + 18, box["y"] + row_px * (row + 1) + row_px / 2)
        try:
            page.get_by_text("1 selected of").wait_for(timeout=20_000)
            return
        except Exception:  # noqa: BLE001 - the click missed a grid being redrawn: look again
            continue
    raise AssertionError("the Case log's row could not be selected")


def test_reopened_pixel_and_video_findings_show_the_payloads_as_text(browser, server, tmp_path):
    """The Case log, a new session: a forgery and a clip whose Make and Model are payloads, each reopened
    from its row; the pixel section (views and check table made again from the kept original) and the
    filmstrip and container claims (keyframes read again) show every payload as text."""
    from tests.forensic_images import forged_photo
    from tests.videogen import cut_clip

    page = _verify_page(browser, server["url"])
    photo = tmp_path / "reopenpixel.jpg"
    photo.write_bytes(forged_photo(seed=4, size=(480, 360), make=GROUPS[0], model=GROUPS[1])[0])
    clip = tmp_path / "reopenclip.mov"
    clip.write_bytes(cut_clip([10, 30], 50, fmt="mov", size=(160, 96), metadata={
        "com.apple.quicktime.make": GROUPS[2], "com.apple.quicktime.model": GROUPS[0],
        "com.apple.quicktime.software": GROUPS[1]}))
    from geoloc_core.case.log.caselog import CaseLog

    log = CaseLog(server["data"] / "caselog.sqlite3")
    for upload in (photo, clip):
        page.locator("input[type=file]").first.set_input_files(str(upload))
        _wait_shown(page, upload.name)
        deadline = time.time() + 180
        while not log.findings(None, upload.stem):  # saved before the session goes away
            assert time.time() < deadline, f"{upload.name} was never saved"
            page.wait_for_timeout(500)  # polling the case log, bounded by the deadline
    page.context.close()

    page = _verify_page(browser, server["url"])  # a later session: everything from the case log
    page.get_by_role("link", name="Case log").click()
    search = page.get_by_label("Search file names, verdicts, notes and metadata")
    for name, expected, shot in ((photo.name, [f"EXIF names the camera \u201c{GROUPS[0]} {GROUPS[1]}\u201d"],
                                  "hostile-new-reopened-pixel"),
                                 (clip.name, GROUPS, "hostile-new-reopened-video")):
        search.fill(name.split(".")[0])
        search.press("Enter")
        try:
            page.wait_for_function("() => /\\b1 of \\d+ files? \\(1 of/.test(document.body.innerText)", timeout=60_000)
        except Exception:
            _shot(page, shot + "-failed")
            raise
        _open_row(page, 0)
        for text in expected:
            _wait_shown(page, text)
        _assert_inert(page)
        _shot(page, shot)
