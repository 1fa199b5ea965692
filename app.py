"""geoloc: where was this photo taken, and is its claimed location true?

Start with `make run` (or `streamlit run app.py`). The pages (app_pages/) are thin views over geoloc_core.
"""
from __future__ import annotations

import streamlit as st

from ui.login import require_login
from ui.serve import no_network_lookups

st.set_page_config(page_title="geoloc", page_icon="assets/icon.png", layout="wide")  # local icon: no CDN fetch
no_network_lookups()  # also when started with plain `streamlit run app.py` (see ui/serve.py)
require_login()  # team mode (#36): every page needs the login; --insecure-no-login: the banner on every page

# The navigation first, before the heavier imports below: the browser shows the page titles from the first paint.
# The pages live in app_pages/, not pages/: a folder named pages/ makes Streamlit show its raw file names as the
# navigation, and run a clicked file without this script, until a first run reaches this call (#32).
pages = st.navigation([
    st.Page("app_pages/verify.py", title="Verify an image or video", icon=":material/image_search:", default=True),
    st.Page("app_pages/batch.py", title="Batch", icon=":material/photo_library:"),
    st.Page("app_pages/cases.py", title="Case log", icon=":material/folder_open:"),
    st.Page("app_pages/shadows.py", title="Sun and shadows", icon=":material/wb_sunny:"),
    st.Page("app_pages/model.py", title="Model", icon=":material/model_training:"),
])

from ui.casebar import case_bar  # noqa: E402
from ui.settings import entry_settings  # noqa: E402

case_bar(entry_settings())  # the page takes them with ui.settings.page_settings()
pages.run()
