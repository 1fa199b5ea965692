"""Where else could it be (#17) through Streamlit's AppTest: candidates beside the Verify map, the
constraint form and card, hand-off links only when switched on, and the Batch map's toggle."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_app import APP, PARIS_JPEG, TIMEOUT, _tables, _texts

HOSTILE_NAME = "<img src=x onerror=alert(1)>${7*7}`paris`.jpg"


def _verify(tiny_model_dir, handoff: bool = False) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["model_path"] = str(tiny_model_dir)
    at.session_state["online_handoff"] = handoff  # the sidebar's switch (AppTest reruns only the page later)
    at.run()
    assert at.toggle(key="online_handoff").value is handoff
    at.file_uploader(key="verify_upload").upload(HOSTILE_NAME, PARIS_JPEG, "image/jpeg").run()
    assert not at.exception, at.exception
    return at


def _link_buttons(at: AppTest) -> list:
    return [element for element in at.get("link_button")]


def test_verify_lists_every_candidate_with_its_regions_and_places(data_dir, tiny_model_dir):
    """The tiny model is a 3-component mixture: three ranked rows with 50 % and 90 % radii and countries."""
    at = _verify(tiny_model_dir)
    assert "Candidates of the first witness" in _texts(at)
    tables = _tables(at)
    assert "50 % / 90 % radius" in tables and "nearest place" in tables
    candidate_table = next(h.proto.body for h in at.html if "50 % / 90 % radius" in h.proto.body)
    assert candidate_table.count("<tr>") == 4  # header + 3 candidates
    assert re.search(r"[\d,]+ km / [\d,]+ km", candidate_table)


def test_no_hand_off_link_unless_switched_on(data_dir, tiny_model_dir):
    """Off (the default): no link button, no tool URL anywhere on the page, and a line saying nothing is sent.
    On: links for the EXIF point and the prediction, each URL with only formatted numbers in it."""
    at = _verify(tiny_model_dir)
    assert _link_buttons(at) == []
    page = str([e.proto for e in at.main])
    assert "openstreetmap.org" not in page and "suncalc.org" not in page and "tineye" not in page.lower()
    assert "Nothing is sent while off" in _texts(at)
    at = _verify(tiny_model_dir, handoff=True)
    buttons = _link_buttons(at)
    urls = [b.proto.url for b in buttons]
    assert any(u.startswith("https://www.openstreetmap.org/?mlat=48.858400&mlon=2.294500") for u in urls), urls
    assert {"tineye.com", "lens.google.com"} <= {urlsplit(u).netloc for u in urls}
    for url in urls:
        assert "img" not in url and "paris" not in url and "onerror" not in url
    assert all(b.proto.help for b in buttons)  # each says what it sends


def test_constraint_to_a_circle_and_a_country_is_shown_on_the_card(data_dir, tiny_model_dir):
    at = _verify(tiny_model_dir)
    at.radio(key="verify_constraint_kind").set_value("a circle").run()
    at.number_input(key="verify_constraint_km").set_value(20000.0).run()  # the whole Earth
    assert not at.exception
    infos = " ".join(i.value for i in at.info)
    assert "Constrained to within 20" in infos and "100\\.0 \\%" in infos  # Markdown-escaped in the card
    at.radio(key="verify_constraint_kind").set_value("a country").run()
    at.selectbox(key="verify_constraint_country").set_value("FR").run()
    assert not at.exception
    shown = " ".join([i.value for i in at.info] + [w.value for w in at.warning])
    assert "Constrained to France \\(FR\\)" in shown and "mass" in shown
    assert "probability after" in _tables(at)


def test_batch_map_toggle_offers_exif_predictions_and_both(data_dir, tiny_model_dir):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["model_path"] = str(tiny_model_dir)
    at.run()
    at.switch_page("app_pages/batch.py").run()
    at.file_uploader(key="batch_files").upload("paris.jpg", PARIS_JPEG, "image/jpeg")
    at.run()
    at.button(key="batch_run").click().run()
    toggle = at.radio(key="batch_map_show")
    assert toggle.value == "both" and list(toggle.options) == [
        "Both, each prediction joined to its EXIF point", "EXIF points (and written places)",
        "Predictions (both witnesses)"]
    toggle.set_value("exif").run()
    assert not at.exception and at.radio(key="batch_map_show").value == "exif"
