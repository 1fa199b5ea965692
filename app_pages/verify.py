"""Verify one image: what the pixels say, what the metadata claims, and whether they agree."""
from __future__ import annotations

import streamlit as st

from geoloc_core.evidence.sources import FileSource, utc_now
from geoloc_core.evidence.imaging import preview_png
from geoloc_core.evidence.isolation import IsolatedCallError
from geoloc_core.case.findings import for_people
from geoloc_core.case.verification import NOT_AN_IMAGE
from ui import analyst_pin, filmstrip, pixel_views, reporting, resources
from ui.candidates import candidates_panel, constrained_card, constraint_form, handoff_section, map_layers, witness_rows
from ui.detail import copy_coordinates, seen_before, tag_table
from ui.plaintext import markdown_literal
from ui.prompt_progress import showing_prompt_progress
from ui.settings import page_settings
from ui.views import (analyzer_for, checks_panel, download_buttons, model_typical_km, result_card, save,
                      show_map)

settings = page_settings()
st.title("Verify an image or video")
st.caption("Drop a photo (JPEG, PNG, WebP, TIFF, HEIC) or a video (MP4, MOV, M4V, 3GP, MKV, WebM, AVI, TS, WMV). "
           "geoloc reads its metadata, predicts where the pixels were taken when a model is loaded (a video's "
           "keyframes), and compares the two.")


def forget_previous_file() -> None:
    """The uploader's on_change, run before the page: a new upload (or none) drops the previous file's
    finding at once, so nothing (this page, the Shadows page) can draw it while the new file is analysed (#32)."""
    for key in ("verify_key", "verify_finding", "verify_preview", "verify_pixels"):
        st.session_state.pop(key, None)


def analyse(uploaded, settings, cache_key, received: str) -> None:
    """Analyse the upload, save the finding to the case and keep it, with a preview, in session state. A
    zero-shot model's prompt preparation is shown live while it runs (#29); what it prepared is kept to say."""
    data = uploaded.getvalue()
    analyzer = analyzer_for(settings.analysis)
    with showing_prompt_progress([analyzer.predictor, analyzer.second_predictor], caption=False) as prepared:
        finding = analyzer.analyze(FileSource(uploaded.name, data=data, acquired_utc=received))
    st.session_state["verify_prompts"] = prepared.text
    st.session_state["verify_pixels"] = pixel_views.verify_figures(finding, data)  # fills the finding (#37)
    save(settings, finding, data)
    try:  # decoded in the isolated worker, under the same pixel limit as the analysis: never here
        preview, preview_error = (filmstrip.keyframes_of(data) if filmstrip.is_video(finding)  # video: its keyframes
                                  else (resources.parser_worker().call(preview_png, data), None))
    except IsolatedCallError as exc:
        preview, preview_error = None, str(exc).removeprefix("ImageDecodeError: ")
    st.session_state["verify_key"], st.session_state["verify_finding"] = cache_key, finding
    st.session_state["verify_preview"] = (preview, preview_error)


@st.fragment
def side_panels(finding, data: bytes, settings) -> None:
    """Exports, "seen before", the tag dump and the report. A fragment: their buttons and fields rerun only
    this part of the page, never the analysis or the map above (#32)."""
    download_buttons([finding], "geoloc-finding", key="verify_dl", case_id=settings.case_id)
    seen_before(finding, settings.case_id, "verify")
    with st.expander("All metadata tags"):
        tag_table(data, "verify")
    reporting.verify_report_section(settings, resources.current_case_log(), finding, data)


uploaded = st.file_uploader("Image or video", key="verify_upload", on_change=forget_previous_file,
                            help="Any file is accepted; its real type is read from its bytes, not its name.")
if uploaded is None:
    st.stop()

received = st.session_state.setdefault("verify_received", {}).setdefault(uploaded.file_id, utc_now())  # "Acquired"
cache_key = (uploaded.file_id, settings.case_id, settings.analysis)
# Everything of one file is drawn in one container. Streamlit leaves the previous run's elements on screen,
# faded, until the new run draws over their positions: the previous file's map and "Copy coordinates" stayed
# for seconds while the next file was analysed (#32). For a new file, one element first replaces that whole
# container (one delta, before the analysis). The container sits in the same slot on every run, so the map
# keeps its place in the page: a rerun (a side panel, the map's own first report) neither redraws nor
# remounts it, and a view the analyst zoomed to stays.
slot = st.empty()
if st.session_state.get("verify_key") != cache_key:
    slot.caption(f"Analysing {markdown_literal(uploaded.name)}...")  # replaces the previous file's container
    analyse(uploaded, settings, cache_key, received)
    prepared_prompts = st.session_state.pop("verify_prompts", "")
else:
    prepared_prompts = ""
result = slot.container()
if prepared_prompts:
    result.caption(prepared_prompts)  # own text: counts and a rate
finding = st.session_state["verify_finding"]
preview, preview_error = st.session_state["verify_preview"]
data = uploaded.getvalue()
with result:
    st.subheader(markdown_literal(uploaded.name))
    image_column, card_column = st.columns([1, 3])
    with image_column:
        if filmstrip.is_video(finding):
            filmstrip.poster(finding, preview, preview_error)
        elif preview is not None:
            st.image(preview, caption="EXIF orientation applied", width="stretch",
                     alt=f"The photo being verified: {uploaded.name}")
        elif finding.verdict != NOT_AN_IMAGE:  # the banner already says so
            st.warning(f"Cannot show this file as an image: {markdown_literal(for_people(str(preview_error)))}")
    candidates = witness_rows(finding)
    with card_column:
        result_card(finding, settings.model_error, model_typical_km(settings.analysis))
        constrained = constraint_form(finding, key="verify_constraint")
        if constrained is not None:
            constrained_card(constrained)
        checks_panel(finding)
    if filmstrip.is_video(finding):
        filmstrip.video_section(finding, preview)
    pixel_views.pixel_section(finding, st.session_state.get("verify_pixels"))
    if (finding.exif_lat is not None or finding.pred_lat is not None or finding.claimed_lat is not None
            or finding.analyst_point_lat is not None):
        st.markdown("**Map** — red: EXIF GPS (with the camera's direction and GPS error when recorded); blue: "
                    "prediction with its 50 % and 90 % regions; green: the second witness, when one is loaded; purple: "
                    "the place claimed in the caption/IPTC/XMP; dashed: the distance. Numbered: each witness's "
                    "candidates with their own regions (faded: a duplicate of a more probable one); heat: a mixture's "
                    "density; orange: the constrained prediction. Switch layers at the top right. Place names and a "
                    "0.01° grid appear from city zoom.")
        from geoloc_core.case.maps.finding_maps import finding_map  # folium: with the first map, not at start (#32)

        map_column, list_column = st.columns([3, 2]) if candidates else (st.container(), None)
        with map_column:
            # rebuilt on a rerun of the page (a folium map kept across reruns lost the analyst's clicks in
            # Chromium); the side panels below rerun alone (a fragment), so their widgets never rebuild it (#32)
            show_map(finding_map(finding, settings.analysis.online_tiles, constrained=constrained,
                                 **map_layers(finding, candidates)), key="verify_map", clicks=True)
        if list_column is not None:
            with list_column:
                candidates_panel(finding, candidates)
        copy_coordinates(finding)
    else:
        st.info("Nothing to map: the video's container has no usable GPS and there is no prediction."
                if filmstrip.is_video(finding) else
                "Nothing to map: the file has no usable EXIF GPS, no located written place and no prediction.")
    analyst_pin.verify_pin(settings, finding, "verify_map")
    handoff_section(finding, settings.online_handoff)
    st.caption(f"Saved to case “{markdown_literal(settings.case_name)}”.")
    side_panels(finding, data, settings)
