"""The case log: every finding ever made, by case; search, notes, deletion and exports."""
from __future__ import annotations

import streamlit as st

from geoloc_core.case.duplicates import group_near_duplicates
from geoloc_core.case.maps import findings_map
from ui import reporting, resources
from ui.views import download_buttons, findings_frame, md_escape, show_map

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

frame = findings_frame([s.finding for s in stored])
frame.insert(0, "note", [s.note for s in stored])
frame.insert(0, "saved (UTC)", [s.created_at for s in stored])
event = st.dataframe(frame, hide_index=True, width="stretch", on_select="rerun", selection_mode="multi-row",
                     key="case_table")
rows = list(event.selection.rows) if event and event.selection else []
chosen = [stored[i] for i in rows] or stored
st.caption(f"{len(rows)} selected — exports and the map use the selection, or the whole case when none is selected.")

if len(rows) == 1:
    item = stored[rows[0]]
    note = st.text_area("Note on this finding", value=item.note, key=f"note_{item.id}")
    if st.button("Save note", key="save_note"):
        log.set_note(item.id, note)
        st.success("Note saved.")
        st.rerun()
    reporting.provenance_inputs(log, item, key="case_provenance", with_note=False)
if rows:
    confirm = st.checkbox(f"Yes, delete {len(rows)} finding(s) from this case", key="confirm_delete")
    if st.button("Delete selected", disabled=not confirm, key="delete_selected"):
        log.delete([stored[i].id for i in rows])
        st.rerun()

download_buttons([s.finding for s in chosen], f"geoloc-case-{settings.case_id}", key="case_dl")
reporting.report_section(settings, log, chosen, f"{len(rows)} selected finding(s)" if rows else "the whole case",
                         key="case_report")
reporting.exports_table(log, settings.case_id)
located = [s.finding for s in chosen if s.finding.exif_lat is not None or s.finding.pred_lat is not None]
if located:
    show_map(findings_map(located, settings.analysis.online_tiles), key="case_map")

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
