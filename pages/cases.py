"""The case log: every finding ever made, by case; search, notes, deletion and exports.

Laid out as one function per section so other sections (reports, claims) slot in beside them."""
from __future__ import annotations

import hashlib

import streamlit as st

from geoloc_core.case.caselog import CaseLog, StoredFinding
from geoloc_core.case.duplicates import group_near_duplicates
from geoloc_core.case.maps import findings_map
from ui import resources
from ui.views import download_buttons, findings_frame, md_escape, show_map


def case_table(stored: list[StoredFinding], search: str) -> list[StoredFinding]:
    """The findings table; returns the selected findings. The table's key follows the search, so a
    selection made in a longer list can never point past the end of a shorter one."""
    frame = findings_frame([s.finding for s in stored])
    frame.insert(0, "note", [s.note for s in stored])
    frame.insert(0, "saved (UTC)", [s.created_at for s in stored])
    key = "case_table_" + hashlib.sha1(search.encode("utf-8")).hexdigest()[:12]
    event = st.dataframe(frame, hide_index=True, width="stretch", on_select="rerun", selection_mode="multi-row",
                         key=key)
    rows = list(event.selection.rows) if event and event.selection else []
    return [stored[i] for i in rows if 0 <= i < len(stored)]


def selection_actions(log: CaseLog, selected: list[StoredFinding]) -> None:
    if len(selected) == 1:
        item = selected[0]
        note = st.text_area("Note on this finding", value=item.note, key=f"note_{item.id}")
        if st.button("Save note", key="save_note"):
            log.set_note(item.id, note)
            st.success("Note saved.")
            st.rerun()
    if selected:
        confirm = st.checkbox(f"Yes, delete {len(selected)} finding(s) from this case", key="confirm_delete")
        if st.button("Delete selected", disabled=not confirm, key="delete_selected"):
            log.delete([s.id for s in selected])
            st.rerun()


def exports_and_map(chosen: list[StoredFinding], case_id: int, online_tiles: bool) -> None:
    download_buttons([s.finding for s in chosen], f"geoloc-case-{case_id}", key="case_dl")
    located = [s.finding for s in chosen if s.finding.exif_lat is not None or s.finding.pred_lat is not None]
    if located:
        show_map(findings_map(located, online_tiles), key="case_map")


def near_duplicates(stored: list[StoredFinding]) -> None:
    groups = group_near_duplicates([s.finding for s in stored])
    st.subheader(f"Near-duplicate images ({len(groups)} group{'s' if len(groups) != 1 else ''})")
    if not groups:
        st.caption("No two images in this case look alike (perceptual hash).")
    for number, group in enumerate(groups, 1):
        names = ", ".join(stored[i].finding.file for i in group.members)
        with st.container(border=True):
            st.text(f"Group {number}: {names}")
            for conflict in group.conflicts:
                st.warning(md_escape(conflict))
            if not group.conflicts:
                st.caption("Copies agree on EXIF GPS and capture time.")


settings = st.session_state["settings"]
log = resources.current_case_log()
st.title("Case log")
st.caption(f"Case “{md_escape(settings.case_name)}” — stored in {md_escape(log.path)} (SQLite, saved as each "
           "finding is made). Switch or create cases in the sidebar.")
search = st.text_input("Search file names, verdicts, notes and metadata", key="case_search")
stored = log.findings(settings.case_id, search)
if not stored:
    st.info("No findings in this case yet." if not search else "No findings match the search.")
    st.stop()

selected = case_table(stored, search)
st.caption(f"{len(selected)} selected — exports and the map use the selection, or the whole case when none is "
           "selected.")
selection_actions(log, selected)
exports_and_map(selected or stored, settings.case_id, settings.analysis.online_tiles)
near_duplicates(stored)
