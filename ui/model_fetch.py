"""The Model page's download panel: fetch a checkpoint from the Hugging Face hub, only after the user has
seen and confirmed the host and the size. Two deliberate clicks: the first asks the hub for the file list
(sending only the model id), the second downloads. The logic is geoloc_core.model.fetch.

Both clicks are online actions, so both sit behind the sidebar's "Download models from Hugging Face (online)"
switch (#32: "Check the download size" asked the hub with the switch off). Off, the buttons stay visible, so
the analyst learns what they would do, and a click says which switch to turn on instead of connecting."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from geoloc_core.model.fetch import FetchError, download, human_bytes, missing_bytes, plan_fetch, usage_hint
from ui.plaintext import markdown_literal
from ui.settings import MODEL_DOWNLOAD_SWITCH as SWITCH

SUGGESTED = ("geolocal/StreetCLIP", "openai/clip-vit-large-patch14", "openai/clip-vit-base-patch32")
SWITCH_OFF = (f"Nothing was sent: the hub is online, and the sidebar's switch '{SWITCH}' is off. Switch it on "
              "(under Model) to check the size and download.")


def fetch_panel(online: bool) -> None:
    """``online``: the sidebar's download switch. Off, no click here opens a connection."""
    st.markdown("### Download a model (online)")
    st.caption("Nothing is downloaded until you confirm. A full CLIP checkpoint predicts zero-shot at once; it is "
               "also the backbone to train a geoloc regressor on.")
    if not online:
        st.info(f"Offline: switch on '{SWITCH}' in the sidebar to use this panel; until then no click here sends "
                "anything.")
    model_id = st.text_input("Hugging Face model id", value=SUGGESTED[0], key="fetch_model_id",
                             help="e.g. " + ", ".join(SUGGESTED)).strip()
    target = st.text_input("Download into folder", value=str(Path("models") / model_id.split("/")[-1]),
                           key="fetch_target").strip()
    if st.button("Check the download size (asks the hub)", key="fetch_plan"):
        if not online:
            st.session_state.pop("fetch_planned", None)
            st.error(SWITCH_OFF)
            return
        try:
            st.session_state["fetch_planned"] = (plan_fetch(model_id), target)
        except FetchError as exc:
            st.session_state.pop("fetch_planned", None)
            st.error(markdown_literal(exc))  # may quote the server's answer: shown literally
    planned = st.session_state.get("fetch_planned")
    if not planned or planned[0].repo_id != model_id or planned[1] != target:
        return
    plan, _ = planned
    still = missing_bytes(plan, target)
    st.warning(markdown_literal(f"This downloads {human_bytes(still)} from {plan.host} ({len(plan.files)} files of "
                         f"{plan.repo_id}, {human_bytes(plan.total_bytes)} in all) into {target}."))
    if st.button(f"Download {human_bytes(still)} from {plan.host}", key="fetch_confirm", type="primary"):
        if not online:  # switched off after the size was checked
            st.error(SWITCH_OFF)
            return
        try:
            with st.spinner(f"Downloading from {plan.host}..."):
                lines: list[str] = []
                folder = download(plan, target, say=lines.append)
            st.success(markdown_literal(" ".join(lines)))
            st.code(usage_hint(Path(folder)), language=None)
            st.session_state.pop("fetch_planned", None)
        except FetchError as exc:
            st.error(markdown_literal(exc))
