"""The Case log's filter row (tool verdict, your verdict, flagged checks); the filtering and the
counts themselves live in geoloc_core/case/log/case_view.py."""
from __future__ import annotations

from typing import Sequence

import streamlit as st

from geoloc_core.case.log.case_view import NOT_ASSESSED, CaseFilters, analyst_verdict
from geoloc_core.case.log.history import HistoryItem


def filter_controls(items: Sequence[HistoryItem]) -> CaseFilters:
    """Options come from the whole case, so they stay put while a search narrows the list."""
    c1, c2, c3 = st.columns([2, 2, 1])
    verdicts = c1.multiselect("Verdict (tool)", sorted({i.latest.finding.verdict for i in items
                                                        if i.latest.finding.verdict}), key="case_f_verdict")
    mine = sorted({analyst_verdict(i) for i in items}, key=lambda v: (v == NOT_ASSESSED, v))
    analyst = c2.multiselect("Your verdict", mine, key="case_f_analyst")
    flagged = c3.toggle("Flagged checks only", key="case_f_flagged")
    return CaseFilters(tuple(verdicts), tuple(analyst), bool(flagged))
