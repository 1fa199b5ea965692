"""The case log: every finding ever made, by case; search, notes, deletion and exports.

Laid out as one function per section so other sections (reports, claims) slot in beside them."""
from __future__ import annotations

import hashlib

import streamlit as st

from geoloc_core.case.log.case_view import apply, counts
from geoloc_core.case.log.caselog import CaseLog, StoredFinding
from geoloc_core.case.duplicates import group_near_duplicates
from geoloc_core.case.log.history import HistoryItem, group_by_file
from geoloc_core.case.maps.finding_maps import findings_map
from ui import deletion, reporting, resources
from ui import bulk_assessment
from ui.case_filters import filter_controls
from ui.detail import finding_detail
from ui.login import current_member
from ui.map_toggle import points_toggle
from ui.plaintext import markdown_literal, plain_text
from ui.membership import members_section
from ui.settings import page_settings
from ui.tables import findings_columns
from ui.views import download_buttons, findings_frame, show_map


def case_table(items: list[HistoryItem], view: str) -> list[HistoryItem]:
    """One row per file (SHA-256), its latest analysis; returns the selected items. The table's key
    follows the search and filters (``view``) and the rows shown, so a selection made in a longer list
    never points past a shorter one, nor slides onto the next file when the selected one is deleted."""
    frame = findings_frame([item.latest.finding for item in items])
    frame.insert(1, "analyses", [len(item.analyses) for item in items])
    frame.insert(2, "your verdict", [item.latest.finding.analyst_verdict for item in items])
    frame.insert(3, "tags", [item.latest.finding.analyst_tags for item in items])
    frame.insert(4, "note", [item.latest.note for item in items])
    frame.insert(5, "reviewed (UTC)", [item.latest.reviewed_at for item in items])
    frame.insert(0, "saved (UTC)", [item.latest.created_at for item in items])
    if any(item.latest.finding.analysed_by for item in items):  # a team server (#36): who made each finding
        frame.insert(1, "analysed by", [item.latest.finding.analysed_by for item in items])
    rows_shown = ",".join(str(i) for item in items for i in item.ids)
    key = "case_table_" + hashlib.sha1(f"{view}|{rows_shown}".encode("utf-8")).hexdigest()[:12]
    event = st.dataframe(frame, hide_index=True, width="stretch", on_select="rerun", selection_mode="multi-row",
                         key=key, column_config=findings_columns())
    rows = list(event.selection.rows) if event and event.selection else []
    return [items[i] for i in rows if 0 <= i < len(items)]


def detail(log: CaseLog, selected: list[HistoryItem], settings) -> None:
    """The reopened finding, when exactly one file is selected."""
    if len(selected) == 1:
        st.divider()
        finding_detail(selected[0].latest.finding, settings, key="case_detail", item=selected[0], log=log)
        reporting.provenance_inputs(log, selected[0].latest, key="case_provenance", with_note=False)


def exports_and_map(chosen: list[HistoryItem], case_id: int, online_tiles: bool) -> None:
    """Exports hold every analysis of the chosen files; the map shows each file's latest."""
    download_buttons([a.finding for item in chosen for a in item.analyses], f"geoloc-case-{case_id}", key="case_dl",
                     case_id=case_id)
    latest = [item.latest.finding for item in chosen]
    located = [f for f in latest if f.exif_lat is not None or f.pred_lat is not None]
    if located:
        show = points_toggle("case_map_show")
        show_map(findings_map(located, online_tiles, show=show), key="case_map")


def report(log: CaseLog, selected: list[HistoryItem], items: list[HistoryItem], settings, whole: bool) -> None:
    """The report and evidence bundle (#16) of each chosen file's latest analysis, and the export audit."""
    chosen = [item.latest for item in (selected or items)]
    reporting.report_section(settings, log, chosen, f"{len(selected)} selected file(s)" if selected else
                             "the whole case" if whole else f"the {len(items):,} file(s) shown", key="case_report")
    reporting.exports_table(log, settings.case_id)


def near_duplicates(stored: list[StoredFinding]) -> None:
    groups = group_near_duplicates([s.finding for s in stored])
    st.subheader(f"Near-duplicate images ({len(groups)} group{'s' if len(groups) != 1 else ''})")
    if not groups:
        st.caption("No two images in this case look alike (perceptual hash).")
    for number, group in enumerate(groups, 1):
        names = ", ".join(stored[i].finding.file for i in group.members)
        with st.container(border=True):
            st.text(plain_text(f"Group {number}: {names}"))
            for conflict in group.conflicts:
                st.warning(markdown_literal(conflict))
            if not group.conflicts:
                st.caption("Copies agree on EXIF GPS and capture time.")


settings = page_settings()
log = resources.current_case_log()
st.title("Case log")
member = current_member()
# where the file lies is the admin's business on a team server, not every analyst's (#36)
stored_in = "on this team server" if member is not None and not member.admin else f"in {log.path}"
st.caption(f"Case “{markdown_literal(settings.case_name)}” — stored {markdown_literal(stored_in)} (SQLite, saved "
           "as each finding is made). Switch or create cases in the sidebar.")
deletion.show_outcome()
bulk_assessment.show_outcome()
members_section(log, settings.case_id)  # a team server (#36): owner and members
search = st.text_input("Search file names, verdicts, notes and metadata", key="case_search")
everything = log.findings(settings.case_id)
if not everything:
    st.info("No findings in this case yet.")
    deletion.deletions_table(log, settings.case_id)
    deletion.delete_case_section(log, settings.case_id)
    st.stop()
all_items = group_by_file(everything)
filters = filter_controls(all_items)
stored = log.findings(settings.case_id, search) if search.strip() else everything
items = apply(group_by_file(stored), filters)
# the counts follow the search and the filters: "2 of 5 files (3 of 9 analyses) match ..."
st.caption(markdown_literal(counts(items, all_items, bool(search.strip()) or filters.active).sentence()) + " Repeated analyses of "
           "one file are one row; select it to open the finding with its history.")
if not items:
    st.info("No findings match the search and filters.")
    st.stop()
selected = case_table(items, f"{search}|{filters!r}")
st.caption(f"{len(selected)} selected of {len(items):,} shown — exports, the report and the map use the selection, "
           "or every file shown when none is selected.")
bulk_assessment.bulk_actions(log, selected)
deletion.delete_selected(log, selected)
exports_and_map(selected or items, settings.case_id, settings.analysis.online_tiles)
report(log, selected, items, settings, whole=len(items) == len(all_items))
detail(log, selected, settings)
near_duplicates([item.latest for item in items])
bulk_assessment.assessments_table(log, settings.case_id)
deletion.deletions_table(log, settings.case_id)
deletion.delete_case_section(log, settings.case_id)
