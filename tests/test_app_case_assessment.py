"""Assessments in the Case log (#32): saving one is confirmed and costs one cheap rerun (it took 7.3 s, with no
confirmation: the Save button ran the whole page twice, maps, preview decodes and report included); several
selected files are marked reviewed or given a verdict at once, with one audit row per finding."""
from __future__ import annotations

import collections
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geoloc_core.case.log.caselog import CaseLog
from geoloc_core.evidence.isolation import WorkerPool
from tests.imagegen import gps_exif, image_bytes
from tests.test_app import _batch
from tests.test_workflow import _select_rows

FILES = [(f"f{i}.jpg", image_bytes(size=(320, 240), color=(60 * i, 40, 90), exif=gps_exif(40 + i, 2 + i)))
         for i in range(3)]


def _case_log(data_dir) -> tuple[AppTest, CaseLog, int]:
    at = _batch(FILES, session={"analyst_name": "Ana"})
    assert not at.exception
    at.switch_page("app_pages/cases.py").run()
    log = CaseLog(data_dir / "caselog.sqlite3")
    (case_id, _, _), = log.cases()
    return at, log, case_id


def _table(at: AppTest):
    return next(d.value for d in at.dataframe if "your verdict" in d.value.columns)


@pytest.fixture()
def counted(monkeypatch) -> collections.Counter:
    """How often the expensive parts of a Case log run happen: map builds, decodes in the isolated worker, runs."""
    import geoloc_core.case.maps.finding_maps as finding_maps
    import ui.settings

    counts: collections.Counter = collections.Counter()

    def counting(name, function):
        def wrapper(*args, **kwargs):
            counts[name] += 1
            return function(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(finding_maps, "finding_map", counting("finding map", finding_maps.finding_map))
    monkeypatch.setattr(finding_maps, "findings_map", counting("case map", finding_maps.findings_map))
    monkeypatch.setattr(ui.settings, "sidebar", counting("page run", ui.settings.sidebar))
    call = WorkerPool.call

    def worker_call(self, function, *args, **kwargs):
        counts[f"worker {function.__name__}"] += 1
        return call(self, function, *args, **kwargs)

    monkeypatch.setattr(WorkerPool, "call", worker_call)
    return counts


def test_saving_an_assessment_is_confirmed_and_reruns_the_page_once_without_decoding_again(data_dir, counted):
    at, log, case_id = _case_log(data_dir)
    _select_rows(at, [1])
    assert not at.exception
    finding_id = log.findings(case_id)[1].id
    at.selectbox(key=f"case_detail_verdict_{finding_id}").select("refuted").run()
    at.text_input(key=f"case_detail_tags_{finding_id}").input("staged")
    counted.clear()
    at.button(key=f"case_detail_save_{finding_id}").click().run()
    assert not at.exception
    # one run, one map of the finding and one of the case, and the kept original is not decoded again
    assert counted["page run"] == 1 and counted["finding map"] <= 1 and counted["case map"] <= 1, counted
    assert counted["worker preview_png"] == 0 and counted["worker tag_dump"] == 0, counted
    assert "Assessment saved to the case log" in "\n".join(s.value for s in at.success)
    assert list(_table(at)["your verdict"]) == ["", "refuted", ""]  # the same run's table shows it
    saved = log.findings(case_id)[1]
    assert (saved.finding.analyst_verdict, saved.finding.analyst_tags) == ("refuted", "staged")
    (audit,) = log.assessments(case_id)
    assert (audit.finding_id, audit.action, audit.analyst_verdict, audit.analyst) == \
        (finding_id, "assessment", "refuted", "Ana")


def test_several_selected_files_get_a_verdict_and_are_marked_reviewed_at_once(data_dir):
    at, log, case_id = _case_log(data_dir)
    _select_rows(at, [0, 2])
    at.selectbox(key="bulk_verdict").select("confirmed")
    at.button(key="bulk_set_verdict").click().run()
    assert not at.exception
    assert list(_table(at)["your verdict"]) == ["confirmed", "", "confirmed"]
    said = "\n".join(s.value for s in at.success)
    assert "Your verdict for 2 files set to 'confirmed' (2 audit rows in the case log)." in said
    at.button(key="bulk_reviewed").click().run()
    assert not at.exception
    reviewed = list(_table(at)["reviewed (UTC)"])
    assert reviewed[0] and reviewed[2] and not reviewed[1]
    stored = log.findings(case_id)
    assert [s.finding.analyst_verdict for s in stored] == ["confirmed", "", "confirmed"]
    assert [bool(s.reviewed_at) for s in stored] == [True, False, True]
    trail = log.assessments(case_id)
    ids = [stored[0].id, stored[2].id]
    assert [(r.finding_id, r.action, r.analyst) for r in trail] == \
        [(i, "verdict", "Ana") for i in ids] + [(i, "reviewed", "Ana") for i in ids]
    assert all(r.analyst_verdict == "confirmed" for r in trail) and all(r.reviewed_at for r in trail[2:])
    assert "Assessment history of this case (4 changes)" in [e.label for e in at.expander]

