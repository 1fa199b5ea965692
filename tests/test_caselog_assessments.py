"""The case log's assessment audit trail and review marks (#32), and the analyst's name kept per case."""
from __future__ import annotations

import hashlib

import pytest

from geoloc_core.case.findings import Finding
from geoloc_core.case.log.caselog import CaseLog, EvidenceStore


def _log(tmp_path) -> tuple[CaseLog, int, list[int]]:
    log = CaseLog(tmp_path / "caselog.sqlite3")
    case = log.ensure_case("Alpha")
    ids = [log.add(case, Finding(file=f"{n}.jpg", sha256=hashlib.sha256(n.encode()).hexdigest(), verdict="ok"))
           for n in ("a", "b", "c")]
    return log, case, ids


def test_a_verdict_for_several_keeps_their_tags_and_notes_and_audits_each(tmp_path):
    log, case, ids = _log(tmp_path)
    log.set_assessment([ids[0]], "refuted", "staged", "my note", "Ana")
    assert log.set_verdicts(ids[:2], "confirmed", "Bo") == 2
    first, second, third = log.findings(case)
    assert (first.finding.analyst_verdict, first.finding.analyst_tags, first.note) == ("confirmed", "staged", "my note")
    assert second.finding.analyst_verdict == "confirmed" and third.finding.analyst_verdict == ""
    trail = log.assessments(case)
    assert [(r.finding_id, r.action, r.analyst_verdict, r.analyst) for r in trail] == [
        (ids[0], "assessment", "refuted", "Ana"), (ids[0], "verdict", "confirmed", "Bo"),
        (ids[1], "verdict", "confirmed", "Bo")]
    with pytest.raises(ValueError):
        log.set_verdicts(ids, "probably", "Bo")
    assert len(log.assessments(case)) == 3  # a refused verdict writes nothing


def test_reviewed_keeps_the_first_review_time_and_can_be_undone(tmp_path, monkeypatch):
    from geoloc_core.case.log import caselog

    log, case, ids = _log(tmp_path)
    monkeypatch.setattr(caselog, "_now", lambda: "2026-01-01T10:00:00+00:00")
    log.set_reviewed(ids[:2], True, "Ana")
    monkeypatch.setattr(caselog, "_now", lambda: "2026-01-02T10:00:00+00:00")
    log.set_reviewed(ids, True, "Ana")
    assert [s.reviewed_at for s in log.findings(case)] == ["2026-01-01T10:00:00+00:00"] * 2 + \
        ["2026-01-02T10:00:00+00:00"]
    log.set_reviewed([ids[0]], False, "Ana")
    assert log.findings(case)[0].reviewed_at == ""
    assert [r.action for r in log.assessments(case)] == ["reviewed"] * 5 + ["not reviewed"]


def test_the_trail_outlives_a_deleted_finding_and_goes_with_its_case(tmp_path):
    log, case, ids = _log(tmp_path)
    other = log.ensure_case("Beta")
    kept = log.add(other, Finding(file="x.jpg", sha256="", verdict="ok"))
    log.set_reviewed(ids, True, "Ana")
    log.set_reviewed([kept], True, "Ana")
    log.delete([ids[0]], "Ana")
    assert [r.finding_id for r in log.assessments(case)] == ids  # the deleted finding's row stays
    log.delete_case(case, "Ana")
    assert log.assessments(case) == [] and [r.finding_id for r in log.assessments()] == [kept]


def test_the_analysts_name_is_kept_per_case(tmp_path):
    log, case, _ = _log(tmp_path)
    other = log.ensure_case("Beta")
    log.set_case_analyst(case, "  Ana Lyst  ")
    assert (log.case_analyst(case), log.case_analyst(other), log.case_analyst(999)) == ("Ana Lyst", "", "")


def test_the_evidence_stores_usage_counts_kept_originals_only(tmp_path):
    store = EvidenceStore(tmp_path / "evidence")
    assert store.usage() == (0, 0)
    for data in (b"one", b"three"):
        store.put(hashlib.sha256(data).hexdigest(), data)
    (tmp_path / "evidence" / "ab").mkdir(exist_ok=True)
    (tmp_path / "evidence" / "ab" / ".abcdef01-x.tmp").write_bytes(b"partial")  # a write in progress
    assert store.usage() == (2, 8)
