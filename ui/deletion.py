"""Deleting on the Case log page: the selected files, or the whole case behind a confirmation that
names what goes, and the deletion audit trail.

Thin: what goes, and the audit rows, are decided in ``geoloc_core.case.log`` (``CaseLog.delete``,
``case_deletion_plan``, ``delete_case``). Deletions run in button callbacks, before the rerun draws
the widgets, so the sidebar's current case (``case_select``) can be switched and every confirmation
box cleared: a ticked box never carries over to the next selection or case. What was deleted is
said on the next run (``show_outcome``), through ``markdown_literal``: it quotes the case's name.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from geoloc_core.case.log.access import AccessDenied, ScopedCaseLog
from geoloc_core.case.log.caselog import CaseLog
from geoloc_core.case.log.deletion import CASE, CaseChanged, CaseDeletionPlan
from geoloc_core.case.log.history import HistoryItem
from ui.plaintext import markdown_literal
from ui.reporting import analyst_name

OUTCOME = "deletion_outcome"  # (is it a warning, sentence) pairs to show on the next run
FALLBACK_CASE = "Default case"  # made current when the last case is deleted, as on a first start
CHANGED = ("The case changed after this page was drawn (findings or exports were added or removed): nothing was "
           "deleted. Check what is listed now and confirm again.")
GONE = "That case was already deleted (in another tab?)."
OWNER_ONLY = "Only the case's owner or an admin deletes the whole case."


def show_outcome() -> None:
    """What the last deletion did, once."""
    for is_warning, sentence in st.session_state.pop(OUTCOME, []):
        if is_warning:
            st.warning(markdown_literal(sentence))
        else:
            st.success(markdown_literal(sentence))


def _said(records) -> list[tuple[bool, str]]:
    return [(bool(r.left_behind), r.sentence()) for r in records]


def _delete_findings(log: CaseLog, finding_ids: list[int]) -> None:
    st.session_state[OUTCOME] = _said(log.delete(finding_ids, analyst_name()))
    st.session_state.pop("confirm_delete", None)


def delete_selected(log: CaseLog, selected: list[HistoryItem]) -> None:
    """Delete the selected files (every analysis of each) and the kept originals no other finding uses."""
    if not selected:
        return
    count = sum(len(item.analyses) for item in selected)
    confirm = st.checkbox(f"Yes, delete {len(selected):,} file(s) ({count:,} analyses) from this case, with their "
                          "kept originals unless another case uses them", key="confirm_delete")
    st.button("Delete selected", disabled=not confirm, key="delete_selected", on_click=_delete_findings,
              args=(log, [i for item in selected for i in item.ids]))


def _confirm_key(case_id: int) -> str:
    return f"confirm_delete_case_{case_id}"


def _open_key(case_id: int) -> str:
    return f"delete_case_open_{case_id}"


def _delete_case(log: CaseLog, plan: CaseDeletionPlan) -> None:
    """Delete exactly what the analyst confirmed, then make another case (or a fresh default one) current."""
    st.session_state.pop(_confirm_key(plan.case_id), None)
    try:
        record = log.delete_case(plan.case_id, analyst_name(), expected=plan)
    except CaseChanged:  # the section stays open on the new plan, to be confirmed anew
        st.session_state[OUTCOME] = [(True, CHANGED)]
        return
    except AccessDenied:  # a team server (#36): no longer the owner, or the admin role gone, since it was drawn
        st.session_state[OUTCOME] = [(True, OWNER_ONLY)]
        return
    st.session_state.pop(_open_key(plan.case_id), None)
    st.session_state[OUTCOME] = _said([record]) if record else [(True, GONE)]
    remaining = log.cases()  # newest first, as the sidebar's default
    st.session_state["case_select"] = remaining[0][0] if remaining else log.ensure_case(
        getattr(log, "default_case_name", FALLBACK_CASE))  # a team member's own (#36)


def delete_case_section(log: CaseLog, case_id: int) -> None:
    """"Delete this case", behind a sentence naming what goes and a box to tick. What goes is worked out
    only once the analyst asks: the page reruns on every click, and a large case's originals are many files."""
    st.subheader("Delete this case")
    if isinstance(log, ScopedCaseLog) and not log.access.can_manage(case_id):  # a team server (#36)
        st.caption(OWNER_ONLY)
        return
    if not st.toggle("Show what deleting this case would remove", key=_open_key(case_id)):
        return
    plan = log.case_deletion_plan(case_id)
    if plan is None:
        return
    with st.container(border=True):
        st.warning(markdown_literal(plan.sentence()))
        st.caption("Kept originals that another case also uses stay. The deletion is recorded in the audit trail "
                   "of the remaining cases: the case's name, how many findings, originals and export records went, "
                   "your name and the time.")
        confirm = st.checkbox("Yes, delete this case and everything listed above", key=_confirm_key(case_id))
        st.button("Delete case", key="delete_case", type="primary", disabled=not confirm, on_click=_delete_case,
                  args=(log, plan))


def deletions_table(log: CaseLog, case_id: int) -> None:
    """The deletion audit trail seen from this case: its own deletions and every deleted case."""
    records = log.deletions(case_id)
    st.subheader(f"Deletions ({len(records)})")
    if not records:
        st.caption("Nothing deleted yet. Every deletion of findings or of a whole case is recorded here.")
        return
    st.dataframe(pd.DataFrame([{"deleted (UTC)": r.created_at, "what": "whole case" if r.kind == CASE else "findings",
                                "case": r.case_name, "findings": r.findings, "kept originals": r.originals,
                                "bytes": r.original_bytes, "export records": r.exports, "analyst": r.analyst}
                               for r in records]), hide_index=True, width="stretch", key=f"deletions_{case_id}")
