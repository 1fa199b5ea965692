"""The Case log's actions on several selected files at once: mark them reviewed, or set your verdict, and the
audit trail of assessments (one row per finding changed, with the analyst and the time).

Why: after a batch of 44 files an analyst confirms or reviews most of them the same way; opening each one to
save its assessment was 44 round trips (#32). The writes are ``CaseLog.set_reviewed`` / ``set_verdicts``, each
one transaction that also writes the audit rows. The buttons act in callbacks, before the page's rerun, so the
table drawn in that rerun already shows the change."""
from __future__ import annotations

import streamlit as st

from geoloc_core.case.log.caselog import ANALYST_VERDICTS, CaseLog
from geoloc_core.case.log.history import HistoryItem
from ui.reporting import analyst_name

LABELS = {"": "not assessed", "confirmed": "confirmed", "refuted": "refuted", "unresolved": "unresolved"}
_DONE = "_bulk_assessment_done"  # what the last action did, said once


def _files(count: int) -> str:
    return f"{count:,} file{'s' if count != 1 else ''}"


def _act(log: CaseLog, selected: list[HistoryItem], action: str) -> None:
    ids = [i for item in selected for i in item.ids]
    if action == "verdict":
        verdict = st.session_state["bulk_verdict"]
        rows = log.set_verdicts(ids, verdict, analyst_name())
        done = f"Your verdict for {_files(len(selected))} set to '{LABELS[verdict]}'"
    else:
        rows = log.set_reviewed(ids, action == "reviewed", analyst_name())
        done = f"{_files(len(selected))} marked {'reviewed' if action == 'reviewed' else 'not reviewed'}"
    st.session_state[_DONE] = f"{done} ({rows:,} audit row{'s' if rows != 1 else ''} in the case log)."


def show_outcome() -> None:
    """What the last action did, once, at the top of the page (a filter may hide the files it changed)."""
    if done := st.session_state.pop(_DONE, None):
        st.success(done)  # own text: geoloc's sentence with counts and a verdict's fixed label
        st.toast(done, icon=":material/check_circle:")  # own text: the same sentence


def bulk_actions(log: CaseLog, selected: list[HistoryItem]) -> None:
    """Buttons for the selected files (every analysis of each); nothing when none is selected."""
    if not selected:
        return
    with st.container(border=True):
        st.markdown(f"**The {_files(len(selected))} selected, at once** (every analysis of each file; one audit row "
                    "per finding, with your name from the sidebar)")  # own text: a count
        c1, c2, c3, c4 = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
        c1.selectbox("Your verdict", ANALYST_VERDICTS[1:] + ("",), format_func=LABELS.get, key="bulk_verdict")
        c2.button("Set verdict", key="bulk_set_verdict", on_click=_act, args=(log, selected, "verdict"))
        c3.button("Mark reviewed", key="bulk_reviewed", on_click=_act, args=(log, selected, "reviewed"),
                  type="primary")
        c4.button("Mark not reviewed", key="bulk_not_reviewed", on_click=_act, args=(log, selected, "not reviewed"))


def assessments_table(log: CaseLog, case_id: int) -> None:
    """The case's assessment audit trail, newest first: who set what on which finding, and when (UTC)."""
    records = log.assessments(case_id)
    with st.expander(f"Assessment history of this case ({len(records):,} change{'s' if len(records) != 1 else ''})"):
        if not records:
            st.caption("No assessment saved yet. Every saved assessment, verdict and review is recorded here, one "
                       "row per finding.")
            return
        import pandas as pd

        st.dataframe(pd.DataFrame([{"when (UTC)": r.created_at, "finding": r.finding_id, "file": r.file,
                                    "what": r.action, "your verdict": LABELS.get(r.analyst_verdict, r.analyst_verdict),
                                    "reviewed (UTC)": r.reviewed_at, "analyst": r.analyst, "SHA-256": r.sha256}
                                   for r in reversed(records)]),
                     hide_index=True, width="stretch", key=f"assessments_{case_id}")
