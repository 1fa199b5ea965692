"""The analyst's name is kept with the case in the case log (#32: a reload lost it, and reports said
"Analyst: not given"): a reload or a new tab fills it in, reports and the export audit trail use it, and each
case keeps its own."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from geoloc_core.case.log.caselog import CaseLog
from tests.imagegen import gps_exif, image_bytes
from tests.test_workflow import _shell

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _session(query: dict[str, str] | None = None) -> AppTest:
    """A new browser session (a reload: the same URL, nothing in session state)."""
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def _said(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption).replace("\\", "")


def test_the_analysts_name_survives_a_reload_and_reaches_the_report(data_dir):
    at = _session()
    _shell(at).text_input(key="analyst_name").input("Ana Lyst")
    _shell(at).run()
    assert not at.exception
    log = CaseLog(data_dir / "caselog.sqlite3")
    (case_id, _, _), = log.cases()

    reloaded = _session({"case": str(case_id)})
    assert reloaded.text_input(key="analyst_name").value == "Ana Lyst"
    assert log.case_analyst(case_id) == "Ana Lyst"  # kept with the case in the case log
    reloaded.file_uploader(key="verify_upload").upload("paris.jpg", image_bytes(exif=gps_exif(48.85, 2.35)),
                                                       "image/jpeg").run()
    assert not reloaded.exception
    assert "Analyst: Ana Lyst" in _said(reloaded) and "not given" not in _said(reloaded)
    reloaded.button(key="verify_report_make").click().run()
    assert not reloaded.exception
    exports = log.exports(case_id)
    assert exports and {e.analyst for e in exports} == {"Ana Lyst"}


def test_each_case_keeps_its_own_analyst(data_dir):
    log = CaseLog(data_dir / "caselog.sqlite3")
    alpha, beta = log.ensure_case("Alpha"), log.ensure_case("Beta")
    log.set_case_analyst(alpha, "First Analyst")
    at = _session({"case": str(beta)})
    assert at.text_input(key="analyst_name").value == ""  # Beta has none, and this session had none
    _shell(at).text_input(key="analyst_name").input("Second Analyst")
    _shell(at).run()
    _shell(at).selectbox(key="case_select").select(alpha)
    _shell(at).run()
    assert not at.exception
    assert at.text_input(key="analyst_name").value == "First Analyst"
    assert (log.case_analyst(alpha), log.case_analyst(beta)) == ("First Analyst", "Second Analyst")
