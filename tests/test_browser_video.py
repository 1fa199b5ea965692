"""A video in Chromium (#34): Verify takes an uploaded clip and shows its filmstrip (keyframes with their
times and predictions), the container's claims and the verdict; hostile container text stays text.
Screenshots: test-artifacts/verify_video.png (the page) and verify_video_filmstrip.png (claims and filmstrip)."""
from __future__ import annotations

import pytest

from tests.hostile_corpus import TEXT_PAYLOADS
from tests.test_browser import ARTIFACTS, _shot, browser, page, server  # noqa: F401 (fixtures)
from tests.videogen import cut_clip

pytestmark = pytest.mark.browser
CLAIMS = {"com.apple.quicktime.location.ISO6709": "+48.8584+002.2945+035.000/",
          "com.apple.quicktime.creationdate": "2024-05-01T13:20:30+0200",
          "com.apple.quicktime.make": "Apple", "com.apple.quicktime.model": TEXT_PAYLOADS["html_img"]}


def test_verify_shows_the_filmstrip_of_an_uploaded_video(page, server, tmp_path):
    clip = tmp_path / "street clip.mov"
    clip.write_bytes(cut_clip([25, 60, 90], 120, fmt="mov", size=(320, 180), metadata=CLAIMS))
    page.locator("input[type=file]").first.set_input_files(str(clip))
    page.get_by_text("Filmstrip").first.wait_for(timeout=120_000)
    page.get_by_text("Verdict:").first.wait_for(timeout=60_000)
    # all four drawn: every() of no picture yet was true at once, and the list below was read empty (a full run)
    page.wait_for_function("() => { const k = [...document.querySelectorAll('img')]"
                           ".filter(i => i.alt.startsWith('Keyframe at'));"
                           " return k.length >= 4 && k.every(i => i.complete && i.naturalWidth > 0); }", timeout=60_000)
    alts = page.eval_on_selector_all("img", "els => els.map(e => e.alt).filter(a => a.startsWith('Keyframe at'))")
    assert alts == ["Keyframe at 0.00 s", "Keyframe at 1.00 s", "Keyframe at 2.40 s", "Keyframe at 3.60 s"]
    page.wait_for_timeout(1000)
    _shot(page, "verify_video")
    page.eval_on_selector("img[alt='Keyframe at 3.60 s']", "e => e.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "verify_video_filmstrip.png"))  # the viewport: claims and filmstrip
    body = page.inner_text("body")
    assert "4 keyframes" in body and "What the container claims" in body and "France" in body
    assert "★" in body  # the keyframe the clip's prediction is
    assert TEXT_PAYLOADS["html_img"] in body  # the model tag shown literally
    assert page.dialogs == [] and page.offsite == []
