"""Verify one image: what the pixels say, what the metadata claims, and whether they agree."""
from __future__ import annotations

import streamlit as st

from geoloc_core.evidence.sources import FileSource
from geoloc_core.evidence.imaging import ImageDecodeError, load_rgb
from geoloc_core.case.maps import finding_map
from ui import reporting, resources
from ui.views import analyzer_for, checks_panel, download_buttons, md_escape, result_card, save, show_map

settings = st.session_state["settings"]
st.title("Verify an image")
st.caption("Drop a photo (JPEG, PNG, WebP, TIFF, HEIC). geoloc reads its metadata, predicts where the pixels "
           "were taken when a model is loaded, and compares the two.")
uploaded = st.file_uploader("Image", key="verify_upload", help="Any file is accepted; its real type is read "
                            "from its bytes, not its name.")
if uploaded is None:
    st.stop()

data = uploaded.getvalue()
cache_key = (uploaded.file_id, settings.case_id, settings.analysis)
if st.session_state.get("verify_key") != cache_key:
    with st.spinner("Analysing..."):
        finding = analyzer_for(settings.analysis).analyze(FileSource(uploaded.name, data=data))
    save(settings, finding, data)
    st.session_state["verify_key"], st.session_state["verify_finding"] = cache_key, finding
finding = st.session_state["verify_finding"]

st.subheader(md_escape(uploaded.name))
image_column, card_column = st.columns([1, 3])
with image_column:
    try:
        st.image(load_rgb(data, draft_side=1024), caption="EXIF orientation applied", width="stretch")
    except ImageDecodeError as exc:
        st.warning(f"Cannot show this file as an image: {md_escape(exc)}")
with card_column:
    result_card(finding, settings.model_error)
    checks_panel(finding)
if finding.exif_lat is not None or finding.pred_lat is not None:
    st.markdown("**Map** — red: EXIF GPS; blue: prediction with its 50 % and 90 % regions; dashed: the distance.")
    show_map(finding_map(finding, settings.analysis.online_tiles), key="verify_map")
else:
    st.info("Nothing to map: the file has no usable EXIF GPS and no prediction was made.")
st.caption(f"Saved to case “{md_escape(settings.case_name)}”.")
download_buttons([finding], "geoloc-finding", key="verify_dl")
reporting.verify_report_section(settings, resources.current_case_log(), finding, data)
