"""geoloc: where was this photo taken, and is its claimed location true?

Start with `make run` (or `streamlit run app.py`). The pages are thin views over geoloc_core.
"""
from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="geoloc", page_icon="assets/icon.png", layout="wide")  # local icon: no CDN fetch

from ui.settings import sidebar  # noqa: E402  (after set_page_config)

pages = st.navigation([
    st.Page("pages/verify.py", title="Verify an image", icon=":material/image_search:", default=True),
    st.Page("pages/batch.py", title="Batch", icon=":material/photo_library:"),
    st.Page("pages/cases.py", title="Case log", icon=":material/folder_open:"),
    st.Page("pages/shadows.py", title="Sun and shadows", icon=":material/wb_sunny:"),
    st.Page("pages/model.py", title="Model", icon=":material/model_training:"),
])
st.session_state["settings"] = sidebar()
pages.run()
