"""The sidebar: current case, model, privacy switches and verdict thresholds, kept in session state."""
from __future__ import annotations

import os
from dataclasses import dataclass

import streamlit as st

from geoloc_core.case.analysis_settings import AnalysisSettings
from geoloc_core.model.inference import MODEL_ENV_VAR, ModelLoadError
from geoloc_core.case.verification import VerdictThresholds
from ui import reporting, resources

PRIVACY_NOTE = ("**Offline by default.** Images, metadata and coordinates stay on this machine unless you "
                "switch on an online option below.")
NOMINATIM_NOTE = ("Sends each point's coordinates to OpenStreetMap's Nominatim service (one request per "
                  "second, their usage policy); falls back to offline on failure.")
TILES_NOTE = "Your browser loads OpenStreetMap tiles: the map area you view is sent to their tile servers."


@dataclass
class SessionSettings:
    case_id: int
    case_name: str
    analysis: AnalysisSettings
    model_error: str | None
    keep_evidence: bool


def sidebar() -> SessionSettings:
    log = resources.current_case_log()
    with st.sidebar:
        st.markdown("### Case")
        cases = log.cases()
        if not cases:
            log.ensure_case("Default case")
            cases = log.cases()
        names = [name for _, name, _ in cases]
        current = st.session_state.get("case_name", names[0])
        index = names.index(current) if current in names else 0
        case_name = st.selectbox("Current case", names, index=index, key="case_select",
                                 help="Every finding is saved to this case as it is made.")
        with st.popover("New case"):
            new_name = st.text_input("Case name", key="new_case_name")
            if st.button("Create case", key="create_case") and new_name.strip():
                log.ensure_case(new_name.strip())
                st.session_state["case_name"] = new_name.strip()
                st.rerun()
        st.session_state["case_name"] = case_name
        case_id = next(i for i, name, _ in cases if name == case_name)
        reporting.analyst_name_input()

        st.markdown("### Model")
        model_path = st.text_input("Model folder", value=st.session_state.get("model_path", os.environ.get(MODEL_ENV_VAR, "")),
                                   key="model_path_input", help=f"A trained geoloc model folder; default from ${MODEL_ENV_VAR}.")
        st.session_state["model_path"] = model_path
        model_error = None
        if model_path.strip():
            try:
                resources.predictor(model_path.strip())
                st.caption("Model loaded.")
            except ModelLoadError as exc:
                model_error = str(exc)
                st.caption("Model not loaded: see the page for details.")
        else:
            st.caption("No model: EXIF, geocoding, map and exports still work; no location is predicted.")

        st.markdown("### Privacy")
        st.info(PRIVACY_NOTE)
        online_geocoder = st.toggle("Online reverse geocoding (Nominatim)", key="online_geocoder", help=NOMINATIM_NOTE)
        if online_geocoder:
            st.warning(NOMINATIM_NOTE)
        online_tiles = st.toggle("Online map tiles (OpenStreetMap)", key="online_tiles", help=TILES_NOTE)
        if online_tiles:
            st.warning(TILES_NOTE)
        keep_evidence = st.toggle("Keep a copy of each original file", key="keep_evidence",
                                  help="Stored under the data folder, named by SHA-256, so the exact bytes can be "
                                       "produced and re-hashed later.")
        st.toggle("Include camera serial numbers in exports", key="include_serials",
                  help="Body and lens serial numbers identify a person's device: shown on screen, left out of "
                       "exports unless this is on.")
        with st.expander("Verdict thresholds"):
            factor = st.slider("'unlikely' up to this multiple of the 90 % radius", 1.0, 5.0, 2.0, 0.5,
                               key="unlikely_factor")
            consistent = st.number_input("No radius: 'consistent' within (km)", 1.0, 5000.0, 25.0, key="t_consistent")
            plausible = st.number_input("No radius: 'plausible' within (km)", 1.0, 10000.0, 750.0, key="t_plausible")
            unlikely = st.number_input("No radius: 'unlikely' within (km)", 1.0, 20000.0, 2500.0, key="t_unlikely")
    analysis = AnalysisSettings(
        model_path=model_path.strip() if model_error is None else "",
        online_geocoder=online_geocoder,
        online_tiles=online_tiles,
        thresholds=VerdictThresholds(factor, consistent, plausible, unlikely),
    )
    return SessionSettings(case_id, case_name, analysis, model_error, keep_evidence)
