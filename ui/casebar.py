"""The case in force, on every page: the sidebar that holds the selector collapses on narrow
screens (400 px phones), and saving findings to a case the analyst cannot see is how work
lands in the wrong case."""
from __future__ import annotations

import streamlit as st

from ui.plaintext import plain_text
from ui.settings import SessionSettings


def witnesses_in_words(settings: SessionSettings) -> str:
    """The top bar's words for the models: the first witness's state, then the second's when one was given.
    Each witness says its own (#32: a failed second witness read as "model not loaded")."""
    if settings.model_error:
        words = "model not loaded"
    else:
        words = "model loaded" if settings.analysis.model_path else "no model"
    if settings.second_model_error:
        words += " · second witness not loaded"
    elif settings.analysis.second_model_path:
        words += " · second witness loaded"
    return words


def case_bar(settings: SessionSettings) -> None:
    with st.container(key="case_bar"):
        # st.text renders the analyst's case name literally (no Markdown, no HTML)
        st.text(plain_text(f"Case: {settings.case_name}  ·  {witnesses_in_words(settings)}  ·  change either in the "
                           "sidebar (☰ menu on phones)"))
