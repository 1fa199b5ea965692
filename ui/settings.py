"""The sidebar: current case, model, privacy switches and verdict thresholds, kept in session state."""
from __future__ import annotations

import os
from dataclasses import dataclass

import streamlit as st

from geoloc_core.case.analysis_settings import AnalysisSettings
from geoloc_core.model.choice import MODEL_ENV_VAR, ModelLoadError  # not inference: no torch at start-up
from geoloc_core.case.verification import UNINFORMATIVE_R50_KM, UNINFORMATIVE_R90_KM, VerdictThresholds
from geoloc_core.case.log.access import CaseNameTaken
from geoloc_core.case.log.workspace import Workspace, load_workspace, resolve_workspace, save_workspace, workspace_path
from ui import originals, reporting, resources
from ui.plaintext import markdown_literal

PRIVACY_NOTE = ("**Offline by default.** Images, metadata and coordinates stay on this machine unless you "
                "switch on an online option below.")
NOMINATIM_NOTE = ("Sends each point's coordinates to OpenStreetMap's Nominatim service (one request per "
                  "second, their usage policy); falls back to offline on failure.")
MODEL_DOWNLOAD_NOTE = ("Lets the model field take a Hugging Face id, and the Model page check a model's size and "
                       "download it: huggingface.co learns the id and this machine's address. Off: only folders on "
                       "this machine load, and nothing is asked of the hub.")
MODEL_DOWNLOAD_SWITCH = "Download models from Hugging Face (online)"  # every hub action's switch (ui/model_fetch.py)
TILES_NOTE = "Your browser loads OpenStreetMap tiles: the map area you view is sent to their tile servers."
HANDOFF_NOTE = ("Shows links that open a finding's points in OpenStreetMap, Google Maps / Street View and SunCalc, and "
                "the upload pages of reverse-image search services. Clicking a link sends that point's coordinates "
                "(SunCalc: and the capture time) to the site; no image is ever sent: you upload it by hand, if at "
                "all.")


def _second_witness(first_path: str, allow_download: bool) -> tuple[str, str | None]:
    """An optional second model of the other kind (a trained regressor beside a zero-shot CLIP checkpoint, or
    the reverse): both predict, and the result card shows the two witnesses side by side.

    Returns (the path when it loaded, else "", its error). It loads, fails and says so on its own, in red
    under its field; it never changes the first witness (``first_path``: the first model when it loaded)."""
    path = st.text_input("Second witness (optional)", value=st.session_state.get("second_model_path", ""),
                         key="second_model_path_input",
                         help="A model folder of the other kind: a trained geoloc model beside a full CLIP "
                              "checkpoint (zero-shot), or the reverse.").strip()
    st.session_state["second_model_path"] = path
    if not path:
        return "", None
    try:
        second = resources.predictor(path, allow_download)
        error = None
        if first_path and resources.predictor(first_path, allow_download).kind == second.kind:
            error = (f"Second witness not used: both model folders hold a {second.kind} model, and a second witness "
                     "must be of the other kind (a trained geoloc model and a full CLIP checkpoint).")
    except ModelLoadError as exc:
        error = f"Second witness not loaded: {exc}"
    if error:
        st.error(markdown_literal(error))  # it quotes the typed path
        return "", error
    st.caption("Second witness loaded.")
    return path, None


@dataclass
class SessionSettings:
    case_id: int
    case_name: str
    analysis: AnalysisSettings
    model_error: str | None  # the first witness's, when it did not load
    keep_evidence: bool
    online_handoff: bool = False  # opt-in: links to online tools (OSM, Google Maps, SunCalc, image search)
    second_model_error: str | None = None  # the second witness's own, beside its field; the first is unaffected


def _email(log) -> str:
    """The signed-in analyst's e-mail on a team server (#36; their own saved workspace), else ""."""
    return getattr(getattr(log, "member", None), "email", "")


def _start_session(log) -> None:
    """First run of a browser session: take the case and model from the URL, else the saved
    workspace, else the newest case and $GEOLOC_MODEL (see geoloc_core.case.log.workspace)."""
    if "case_select" in st.session_state:
        return
    case_ids = [case_id for case_id, _, _ in log.cases()]
    saved = load_workspace(workspace_path(log.path.parent, _email(log)))
    query = {k: st.query_params[k] for k in ("case", "model") if k in st.query_params}
    start = resolve_workspace(query, saved, case_ids, os.environ.get(MODEL_ENV_VAR, ""))
    st.session_state["case_select"] = start.case_id
    if "model_path" in st.session_state:  # set by a caller before the first run (tests, links)
        start.model_path = st.session_state["model_path"]
    st.session_state["model_path_input"] = start.model_path


def _create_case(log) -> None:
    """Button callback: runs before the rerun, so the new case is current when widgets are drawn."""
    name = st.session_state.get("new_case_name", "").strip()
    if name:
        try:
            st.session_state["case_select"] = log.ensure_case(name)
        except CaseNameTaken as exc:  # a team server: another analyst's case has that name (#36)
            st.session_state["_case_name_taken"] = str(exc)
            return
        st.session_state["new_case_name"] = ""


def _remember(log, case_id: int, model_path: str) -> None:
    """Keep the choice in the URL (this tab, bookmarks) and the settings file (new tabs)."""
    if st.query_params.get("case") != str(case_id):
        st.query_params["case"] = str(case_id)
    if st.query_params.get("model") != model_path:
        st.query_params["model"] = model_path
    path = workspace_path(log.path.parent, _email(log))
    wanted = Workspace(case_id, model_path)
    if load_workspace(path) != wanted:
        save_workspace(path, wanted)


def sidebar() -> SessionSettings:
    log = resources.current_case_log()
    if not log.cases():
        log.ensure_case(getattr(log, "default_case_name", "Default case"))  # a team member's own (#36)
    _start_session(log)
    with st.sidebar:
        st.markdown("### Case")
        cases = log.cases()
        names = {case_id: name for case_id, name, _ in cases}
        if st.session_state.get("case_select") not in names:  # deleted meanwhile, or never set
            st.session_state["case_select"] = cases[0][0]
        case_id = st.selectbox("Current case", list(names), key="case_select", format_func=names.get,
                               help="Every finding is saved to this case as it is made. Kept in the page's "
                                    "address and for the next session.")
        with st.expander("New case"):
            st.text_input("Case name", key="new_case_name")
            st.button("Create case", key="create_case", on_click=_create_case, args=(log,),
                      help="Creates the case and makes it the current one.")
            if taken := st.session_state.pop("_case_name_taken", None):
                st.error(markdown_literal(taken))
        case_name = names[case_id]
        reporting.analyst_name_input(log, case_id)

        st.markdown("### Model")
        model_path = st.text_input("Model folder", key="model_path_input",
                                   help=f"A trained geoloc model folder; default from ${MODEL_ENV_VAR}. Kept in "
                                        "the page's address and for the next session.")
        st.session_state["model_path"] = model_path
        allow_download = st.toggle(MODEL_DOWNLOAD_SWITCH, key="allow_model_download",
                                   help=MODEL_DOWNLOAD_NOTE)
        if allow_download:
            st.warning(MODEL_DOWNLOAD_NOTE)
        _remember(log, case_id, model_path)
        model_error = None
        if model_path.strip():
            try:
                resources.predictor(model_path.strip(), allow_download)
                st.caption("Model loaded.")
            except ModelLoadError as exc:
                model_error = str(exc)
                st.caption("Model not loaded: see the page for details.")
        else:
            st.caption("No model: EXIF, geocoding, map and exports still work; no location is predicted.")
        second_path, second_error = _second_witness(model_path.strip() if model_error is None else "", allow_download)

        st.markdown("### Privacy")
        st.info(PRIVACY_NOTE)
        online_geocoder = st.toggle("Online reverse geocoding (Nominatim)", key="online_geocoder", help=NOMINATIM_NOTE)
        if online_geocoder:
            st.warning(NOMINATIM_NOTE)
        online_tiles = st.toggle("Online map tiles (OpenStreetMap)", key="online_tiles", help=TILES_NOTE)
        if online_tiles:
            st.warning(TILES_NOTE)
        online_handoff = st.toggle("Links to online tools (hand-off)", key="online_handoff", help=HANDOFF_NOTE)
        if online_handoff:
            st.warning(HANDOFF_NOTE)
        keep_evidence = originals.keep_switch(log, case_id)
        st.toggle("Include camera serial numbers in exports", key="include_serials",
                  help="Body and lens serial numbers identify a person's device: shown on screen, left out of "
                       "exports unless this is on.")
        with st.expander("Verdict thresholds"):
            factor = st.slider("'unlikely' up to this multiple of the 90 % radius", 1.0, 5.0, 2.0, 0.5,
                               key="unlikely_factor")
            consistent = st.number_input("No radius: 'consistent' within (km)", 1.0, 5000.0, 25.0, key="t_consistent")
            plausible = st.number_input("No radius: 'plausible' within (km)", 1.0, 10000.0, 750.0, key="t_plausible")
            unlikely = st.number_input("No radius: 'unlikely' within (km)", 1.0, 20000.0, 2500.0, key="t_unlikely")
            st.caption("A model too uncertain about a photo gives 'inconclusive', not a verdict, when its regions are "
                       "wider than these. 'consistent' and 'plausible' are never given beyond 2,500 km.")
            wide90 = st.number_input("'inconclusive' when the 90 % region radius exceeds (km)", 100.0, 20000.0,
                                     UNINFORMATIVE_R90_KM, key="t_wide90")
            wide50 = st.number_input("'inconclusive' when the 50 % region radius exceeds (km)", 50.0, 20000.0,
                                     UNINFORMATIVE_R50_KM, key="t_wide50")
    analysis = AnalysisSettings(
        model_path=model_path.strip() if model_error is None else "",
        second_model_path=second_path,
        online_geocoder=online_geocoder,
        online_tiles=online_tiles,
        allow_model_download=allow_download,
        thresholds=VerdictThresholds(factor, consistent, plausible, unlikely, wide90, wide50),
    )
    return SessionSettings(case_id, case_name, analysis, model_error, keep_evidence, online_handoff, second_error)


_FOR_THE_PAGE = "_settings_for_the_page"


def entry_settings() -> SessionSettings:
    """The entry script's call (app.py): draw the sidebar, build this run's settings, and hand them to the page
    that runs next in this run (``page_settings``)."""
    settings = sidebar()
    st.session_state[_FOR_THE_PAGE] = settings
    return settings


def page_settings() -> SessionSettings:
    """A page's one way to its settings: those the entry script built in this run, else built here (the page then
    draws the sidebar itself). A page never depends on what another script set (#32: a page run without app.py
    crashed on a missing key), nor on settings an earlier run built: the hand-over is taken, not read."""
    handed = st.session_state.pop(_FOR_THE_PAGE, None)
    return handed if handed is not None else sidebar()
