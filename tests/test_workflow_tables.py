"""The analyst's day (issue 13), the tables: counts that follow the Case log's search and filters,
the full SHA-256 readable and copyable wherever a finding is shown, country names written out."""
from __future__ import annotations

import hashlib

import piexif

from geoloc_core.case.caselog import CaseLog
from tests.imagegen import gps_exif, image_bytes
from tests.test_workflow import _app, _select_rows, _verify, data_dir  # noqa: F401  (fixture)

EDITED = {"0th": {piexif.ImageIFD.Software: b"Adobe Photoshop 25.0"}}


def _captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def test_case_log_counts_follow_search_and_filters(data_dir):  # noqa: F811
    at = _app()
    _verify(at, "alpha.jpg", image_bytes(color=(10, 20, 30)))
    _verify(at, "beta.jpg", image_bytes(color=(200, 20, 30), exif=gps_exif(48.8584, 2.2945, **EDITED)))
    _verify(at, "gamma.jpg", image_bytes(color=(20, 200, 30), exif=gps_exif(40.6782, -73.9442)))
    _verify(at, "alpha-copy.jpg", image_bytes(color=(10, 20, 30)))  # alpha again: one file, two analyses
    log = CaseLog(data_dir / "caselog.sqlite3")
    gamma = next(s for s in log.findings(None) if s.finding.file == "gamma.jpg")
    log.set_assessment([gamma.id], "confirmed", "", "")
    at.switch_page("pages/cases.py").run()
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
