"""The analyst's day (issue 13), the tables: counts that follow the Case log's search and filters,
the full SHA-256 readable and copyable wherever a finding is shown, country names written out."""
from __future__ import annotations

import hashlib

import piexif

from geoloc_core.case.log.caselog import CaseLog
from tests.imagegen import gps_exif, image_bytes
from tests.test_workflow import _app, _select_rows, _verify

EDITED = {"0th": {piexif.ImageIFD.Software: b"Adobe Photoshop 25.0"}}


def _captions(at) -> str:
    """The captions as read on screen: the Markdown escapes of ``markdown_literal`` off."""
    return "\n".join(c.value.replace("\\", "") for c in at.caption)


def test_case_log_counts_follow_search_and_filters(data_dir):
    at = _app()
    _verify(at, "alpha.jpg", image_bytes(color=(10, 20, 30)))
    _verify(at, "beta.jpg", image_bytes(color=(200, 20, 30), exif=gps_exif(48.8584, 2.2945, **EDITED)))
    _verify(at, "gamma.jpg", image_bytes(color=(20, 200, 30), exif=gps_exif(40.6782, -73.9442)))
    _verify(at, "alpha-copy.jpg", image_bytes(color=(10, 20, 30)))  # alpha again: one file, two analyses
    log = CaseLog(data_dir / "caselog.sqlite3")
    gamma = next(s for s in log.findings(None) if s.finding.file == "gamma.jpg")
    log.set_assessment([gamma.id], "confirmed", "", "")
    at.switch_page("app_pages/cases.py").run()
    assert not at.exception
    assert "3 files, 4 analyses." in _captions(at)
    at.text_input(key="case_search").input("alpha").run()
    assert list(at.dataframe[0].value["file"]) == ["alpha-copy.jpg"]
    assert "1 of 3 files (2 of 4 analyses) match the search and filters." in _captions(at)
    at.text_input(key="case_search").input("").run()
    at.toggle(key="case_f_flagged").set_value(True).run()  # beta names an editor in Software
    assert list(at.dataframe[0].value["file"]) == ["beta.jpg"]
    assert "1 of 3 files (1 of 4 analyses) match" in _captions(at)
    at.toggle(key="case_f_flagged").set_value(False).run()
    at.multiselect(key="case_f_analyst").select("confirmed").run()
    assert list(at.dataframe[0].value["file"]) == ["gamma.jpg"]
    assert "1 of 3 files (1 of 4 analyses) match" in _captions(at)
    _select_rows(at, [0])
    assert "1 selected of 1 shown" in _captions(at)
    at.text_input(key="case_search").input("alpha").run()  # alpha is not assessed: nothing left
    assert not at.exception
    assert "0 of 3 files (0 of 4 analyses) match" in _captions(at)
    assert "No findings match the search and filters." in [i.value for i in at.info]


def _card_text(at) -> str:
    import html
    import re

    return "\n".join(html.unescape(re.sub(r"<[^>]+>", " ", h.proto.body)) for h in at.html)


def test_full_sha256_and_country_names_where_a_finding_is_shown(data_dir):
    brooklyn = image_bytes(size=(320, 240), exif=gps_exif(40.6782, -73.9442))
    digest = hashlib.sha256(brooklyn).hexdigest()
    at = _verify(_app(), "brooklyn.jpg", brooklyn)
    assert not at.exception
    # the whole hash, monospace with a copy button (st.code), not a cut-off table cell
    assert [c.value for c in at.code if c.value == digest] == [digest]
    card = _card_text(at)
    assert "New York, United States" in card and ", US " not in card + " "
    # reopened from the Case log: the same card, the same full hash
    at.switch_page("app_pages/cases.py").run()
    _select_rows(at, [0])
    assert not at.exception
    assert digest in [c.value for c in at.code]
    assert "New York, United States" in _card_text(at)


def test_country_codes_written_out():
    from geoloc_core.places.country_words import country_in_words, place_in_words

    assert place_in_words("Brooklyn, New York, US") == "Brooklyn, New York, United States"
    assert place_in_words("Pristina, XK") == "Pristina, Kosovo"
    assert place_in_words("Tbilisi, GE") == "Tbilisi, Georgia"
    assert place_in_words("Somewhere, ZZ") == "Somewhere, ZZ"  # unknown codes stay as they are
    assert place_in_words("10 Downing St, London, United Kingdom") == "10 Downing St, London, United Kingdom"
    assert place_in_words("<img src=x>, FR") == "<img src=x>, France"  # raw text: escaped where it is shown
    assert place_in_words(None) == "" and country_in_words(None) == ""
    assert country_in_words("FR") == "France (FR)" and country_in_words("ZZ") == "ZZ"
