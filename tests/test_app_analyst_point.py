"""The analyst's own point in the app (#32, AppTest): pasting coordinates on Verify saves the point with the
finding and shows its verification; bad coordinates are refused with a specific message and nothing is kept;
a map click fills the field; the reopened finding in the Case log shows the point; the hostile note stays
literal text in the page."""
from __future__ import annotations

import html
import re

from streamlit.testing.v1 import AppTest

from geoloc_core.case.log.caselog import CaseLog
from tests.hostile_corpus import TEXT_PAYLOADS
from tests.test_app import APP, PARIS_JPEG, TIMEOUT, _tables, _texts
from tests.test_workflow import _select_rows

NOTE = "Street View match " + " ".join(TEXT_PAYLOADS.values())
FIELD = "Coordinates (latitude, longitude)"


def _verify(upload: bytes = PARIS_JPEG) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.file_uploader(key="verify_upload").upload("paris.jpg", upload, "image/jpeg").run()
    assert not at.exception
    return at


def _pin_key(at: AppTest) -> str:
    [field] = [t for t in at.text_input if t.label == FIELD]
    return field.key.removesuffix("_coords")


def _save(at: AppTest, coordinates: str, note: str = "") -> AppTest:
    key = _pin_key(at)
    at.text_input(key=f"{key}_coords").input(coordinates)
    at.text_area(key=f"{key}_note").input(note)
    at.button(key=f"{key}_save").click().run()
    assert not at.exception
    return at


def test_pasting_coordinates_on_verify_saves_the_point_and_shows_its_verification(data_dir):
    at = _save(_verify(), "48°51'30\"N 2°17'40\"E", NOTE)  # the Eiffel Tower; EXIF GPS 48.8584, 2.2945
    assert "Your point 48.858333, 2.294444 is saved with this finding" in _texts(at).replace("\\", "")
    tables = _tables(at)
    assert "48.858333, 2.294444" in tables and "consistent (0.0 km, street band)" in tables
    assert "France (FR)" in tables
    stored = CaseLog(data_dir / "caselog.sqlite3").findings(None)
    assert len(stored) == 1 and stored[0].finding.analyst_point_lat == 48.858333333333334
    assert stored[0].finding.analyst_point_note == NOTE and stored[0].finding.analyst_point_exif_verdict == \
        "consistent"


def test_the_hostile_note_is_literal_text_in_the_page(data_dir):
    at = _save(_verify(), "48.8583, 2.2944", NOTE)
    bodies = "\n".join(h.proto.body for h in at.html)
    text = _tables(at)
    for payload in TEXT_PAYLOADS.values():
        assert payload.split("\n")[0] in text  # shown as written (a line break as itself)
    # nothing of the note became markup: every "<" of it is escaped in the HTML the page renders
    for tag in ("<img", "<svg", "<script", "</script"):
        assert tag not in bodies.lower()
    assert html.escape(TEXT_PAYLOADS["html_img"]) in bodies
    markdown = "\n".join(m.value for m in at.markdown) + "\n".join(s.value for s in at.success)
    assert "evil.invalid/md-image" not in markdown  # the note never reaches Markdown


def test_bad_coordinates_are_refused_with_a_specific_message_and_nothing_is_kept(data_dir):
    at = _save(_verify(), "91, 2.2944", "x")
    errors = " ".join(e.value for e in at.error)
    assert "Not saved" in errors and re.search(r"latitude 91 is outside \\?-90 to 90", errors)
    at = _save(at, "50 46 31 N 6 5 2 E")
    assert "not a coordinate pair" in " ".join(e.value for e in at.error)
    assert CaseLog(data_dir / "caselog.sqlite3").findings(None)[0].finding.analyst_point_lat is None


def test_a_click_on_the_map_fills_the_field_once(data_dir):
    at = _verify()
    key = _pin_key(at)
    at.session_state["verify_map"] = {"last_clicked": {"lat": 48.85, "lng": 362.29}}  # a wrapped copy of the world
    at.run()
    assert at.text_input(key=f"{key}_coords").value == "48.850000, 2.290000"
    assert CaseLog(data_dir / "caselog.sqlite3").findings(None)[0].finding.analyst_point_lat is None  # not saved yet
    _save(at, "48.8583, 2.2944")  # the analyst corrects it by hand and saves
    assert at.text_input(key=f"{key}_coords").value == "48.8583, 2.2944"  # the old click does not come back
    assert CaseLog(data_dir / "caselog.sqlite3").findings(None)[0].finding.analyst_point_lat == 48.8583


def test_the_reopened_finding_shows_the_point_and_can_remove_it(data_dir):
    _save(_verify(), "48.8583, 2.2944", "Street View match")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("app_pages/cases.py").run()
    _select_rows(at, [0])
    assert not at.exception
    assert "48.858300, 2.294400" in _tables(at) and "Street View match" in _tables(at)
    [remove] = [b for b in at.button if b.label == "Remove my point"]
    remove.click().run()
    assert "Your point is removed" in _texts(at).replace("\\", "")
    assert CaseLog(data_dir / "caselog.sqlite3").findings(None)[0].finding.analyst_point_lat is None
