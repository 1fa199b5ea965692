"""Deleting on the Case log page (#31 item 7), with Streamlit's AppTest: the selected files take their kept
originals with them, a whole case goes behind a confirmation that names what goes, the current case moves
to another (or a fresh default) case, and the remaining cases' audit trail says what was deleted.

The case log and evidence store are filled directly (no analysis), so each test is about deletion only."""
from __future__ import annotations

import hashlib
from pathlib import Path

from streamlit.testing.v1 import AppTest

from geoloc_core.case.findings import Finding
from geoloc_core.case.log.caselog import CaseLog, EvidenceStore
from tests.test_workflow import _app, _select_rows, _shell

HOSTILE_NAME = "Op **Kestrel** [x](http://attacker.invalid/p.png) :red[!]"


def _keep(log: CaseLog, case_id: int, name: str, data: bytes) -> Path:
    """A finding of ``data`` in the case with its original kept, as Verify/Batch save them; the original's path."""
    digest = hashlib.sha256(data).hexdigest()
    log.add(case_id, Finding(file=name, sha256=digest, verdict="cannot verify"))
    return EvidenceStore(log.path.parent / "evidence").put(digest, data)


def _case_log_page(query: dict[str, str]) -> AppTest:
    return _app(query).switch_page("app_pages/cases.py").run()


def _click(at: AppTest, key: str) -> AppTest:
    """Click as the analyst "Ana" (the sidebar's name field: AppTest drops sidebar widgets' values on reruns)."""
    at.session_state["analyst_name"] = "Ana"
    return at.button(key=key).click().run()


def _texts(at: AppTest) -> str:
    return "\n".join(e.value for group in (at.success, at.warning, at.info, at.caption, at.markdown) for e in group)


def _deletions_shown(at: AppTest):
    """The deletion audit trail's table on the page."""
    (table,) = [d.value for d in at.dataframe if "deleted (UTC)" in d.value.columns]
    return table


def test_delete_selected_takes_the_originals_no_other_case_uses(data_dir):
    log = CaseLog(data_dir / "caselog.sqlite3")
    alpha, beta = log.ensure_case("Alpha"), log.ensure_case("Beta")
    own = _keep(log, alpha, "own.jpg", b"only alpha has these bytes")
    shared = _keep(log, alpha, "shared.jpg", b"both cases have these bytes")
    _keep(log, beta, "shared-copy.jpg", b"both cases have these bytes")
    at = _case_log_page({"case": str(alpha)})
    assert list(at.dataframe[0].value["file"]) == ["own.jpg", "shared.jpg"]
    _select_rows(at, [0, 1])
    at.checkbox(key="confirm_delete").check().run()
    _click(at, "delete_selected")
    assert not at.exception
    assert log.findings(alpha) == []
    assert not own.exists()  # the defect: the original stayed in evidence/ after "Delete selected"
    assert shared.read_bytes() == b"both cases have these bytes"  # Beta's finding still uses it
    assert "Deleted from case 'Alpha': 2 findings, 1 kept original (26 bytes)." in \
        [s.value.replace("\\", "") for s in at.success]
    assert [(r.case_id, r.findings, r.originals, r.analyst) for r in log.deletions(alpha)] == [(alpha, 2, 1, "Ana")]


def test_after_delete_selected_nothing_else_is_selected_or_confirmed(data_dir):
    """The table's selection was kept by row number: the file below the deleted one became selected, with the
    confirmation still ticked, one click away from deleting it too."""
    log = CaseLog(data_dir / "caselog.sqlite3")
    case = log.ensure_case("Alpha")
    for name in ("one.jpg", "two.jpg", "three.jpg"):
        _keep(log, case, name, name.encode())
    at = _case_log_page({"case": str(case)})
    _select_rows(at, [0])
    at.checkbox(key="confirm_delete").check().run()
    _click(at, "delete_selected")
    assert not at.exception
    assert [s.finding.file for s in log.findings(case)] == ["two.jpg", "three.jpg"]
    assert list(at.dataframe[0].value["file"]) == ["two.jpg", "three.jpg"]
    assert "0 selected of 2 shown" in _texts(at)
    assert not [c for c in at.checkbox if c.key == "confirm_delete"]


def test_delete_case_behind_a_confirmation_then_another_case_is_current(data_dir):
    log = CaseLog(data_dir / "caselog.sqlite3")
    kept = log.ensure_case("Kept case")
    doomed = log.ensure_case(HOSTILE_NAME)
    own = [_keep(log, doomed, f"own{i}.jpg", bytes([i]) * 1_200_000) for i in range(2)]
    shared = _keep(log, doomed, "shared.jpg", b"both cases have these bytes")
    _keep(log, kept, "shared.jpg", b"both cases have these bytes")
    log.record_export(doomed, "csv", "doomed.csv", "a" * 64, 10, "Ana")
    log.record_export(kept, "csv", "kept.csv", "b" * 64, 10, "Bo")
    at = _case_log_page({"case": str(doomed)})
    assert not at.exception
    assert not [w for w in at.warning if "This cannot be undone" in w.value]  # worked out only when asked
    at.toggle(key=f"delete_case_open_{doomed}").set_value(True).run()
    # the confirmation names what goes; the case name is shown literally (escaped Markdown), never as a link
    sentence = ("Delete case 'Op **Kestrel** [x](http://attacker.invalid/p.png) :red[!]': 3 findings, "
                "2 kept originals (2.4 MB), 1 export record. This cannot be undone.")
    (warning,) = [w.value for w in at.warning if "This cannot be undone" in w.value]
    assert warning.replace("\\", "").replace("\u2060", "") == sentence
    assert "**Kestrel**" not in warning and "](http" not in warning
    assert at.button(key="delete_case").disabled  # nothing goes until the box is ticked
    at.checkbox(key=f"confirm_delete_case_{doomed}").check().run()
    _click(at, "delete_case")
    assert [s.value.replace("\\", "").replace("\u2060", "") for s in at.success] == [
        f"Deleted case '{HOSTILE_NAME}': 3 findings, 2 kept originals (2.4 MB), 1 export record."]
    _shell(at).run()  # the server reruns app.py with the page: the sidebar takes the new current case
    assert not at.exception
    assert at.selectbox(key="case_select").value == kept and at.query_params["case"] == str(kept)
    assert [name for _, name, _ in log.cases()] == ["Kept case"] and log.findings(doomed) == []
    assert not any(path.exists() for path in own) and shared.exists()
    assert [r.file_name for r in log.exports()] == ["kept.csv"]
    # the remaining case's audit trail says what went, who deleted it and when
    (record,) = log.deletions(kept)
    assert (record.case_id, record.kind, record.case_name, record.findings, record.originals, record.exports,
            record.analyst) == (None, "case", HOSTILE_NAME, 3, 2, 1, "Ana")
    at.switch_page("app_pages/cases.py").run()
    assert not at.exception
    trail = _deletions_shown(at)
    assert list(trail["case"]) == [HOSTILE_NAME] and list(trail["analyst"]) == ["Ana"]


def test_deleting_the_last_case_starts_a_fresh_default_case(data_dir):
    log = CaseLog(data_dir / "caselog.sqlite3")
    only = log.ensure_case("Only case")
    original = _keep(log, only, "a.jpg", b"a")
    at = _case_log_page({"case": str(only)})
    at.toggle(key=f"delete_case_open_{only}").set_value(True).run()
    at.checkbox(key=f"confirm_delete_case_{only}").check().run()
    _click(at, "delete_case")
    _shell(at).run()
    assert not at.exception
    ((fresh, name, findings),) = log.cases()
    assert (name, findings) == ("Default case", 0) and fresh != only and not original.exists()
    assert at.selectbox(key="case_select").value == fresh
    at.switch_page("app_pages/cases.py").run()
    assert not at.exception
    assert "No findings in this case yet." in _texts(at)
    assert [(r.case_name, r.findings, r.analyst) for r in log.deletions(fresh)] == [("Only case", 1, "Ana")]
    assert list(_deletions_shown(at)["case"]) == ["Only case"]  # shown on the fresh case's page too


def test_a_case_changed_after_the_confirmation_was_shown_is_not_deleted(data_dir):
    log = CaseLog(data_dir / "caselog.sqlite3")
    case = log.ensure_case("Busy case")
    _keep(log, case, "a.jpg", b"a")
    at = _case_log_page({"case": str(case)})
    at.toggle(key=f"delete_case_open_{case}").set_value(True).run()
    at.checkbox(key=f"confirm_delete_case_{case}").check().run()
    _keep(log, case, "b.jpg", b"b")  # another tab's batch saves a finding meanwhile
    _click(at, "delete_case")
    assert not at.exception
    assert len(log.findings(case)) == 2 and log.deletions() == []
    assert any("nothing was deleted" in w.value.replace("\\", "") for w in at.warning)
    assert not at.checkbox(key=f"confirm_delete_case_{case}").value  # the analyst confirms the new plan anew
    assert any("Delete case 'Busy case': 2 findings" in w.value.replace("\\", "") for w in at.warning)
