"""The case in force, on every page: the sidebar that holds the selector collapses on narrow
screens (400 px phones), and saving findings to a case the analyst cannot see is how work
lands in the wrong case."""
from __future__ import annotations

import streamlit as st

from ui.settings import SessionSettings


def case_bar(settings: SessionSettings) -> None:
    model = "no model" if not settings.analysis.model_path else "model loaded"
    if settings.model_error:
        model = "model not loaded"
    with st.container(key="case_bar"):
        # st.text renders the analyst's case name literally (no Markdown, no HTML)
        st.text(f"Case: {settings.case_name}  ·  {model}  ·  change either in the sidebar (☰ menu on phones)")
