"""Batch: a folder, many files or zip archives; progress, a findings table, a map, filters, exports."""
from __future__ import annotations

import time
from dataclasses import replace

import pandas as pd
import streamlit as st

from geoloc_core.evidence.sources import count_files, expand_uploads, utc_now
from geoloc_core.case.log.writer import CaseLogWriter
from geoloc_core.case.maps.finding_maps import findings_map
from geoloc_core.case.pixel_findings import skippable
from ui import pixel_views, resources
from ui.detail import case_item, finding_detail
from ui.map_toggle import points_toggle
from ui.pacing import PROGRESS_INTERVAL_S, TABLE_INTERVAL_S, Pacer
from ui.settings import page_settings
from ui.tables import findings_columns
from ui.prompt_progress import showing_prompt_progress
from ui.views import (CHECK_TITLES, analyzer_for, download_buttons, findings_frame, include_serials, keeping_originals,
                      show_map)

SKIPPED = "skipped: analysed before with the same model and settings"
# Streamlit's uploader never finishes an upload of more than about 980 files in one widget (the button to
# analyse them never appears; streamlit/streamlit#8534, seen here with 1,000 files on Streamlit 1.67), and
# nothing reaches this page to say so, so the page says it beforehand. A zip archive is one file to the
# uploader and is expanded lazily here (up to 20,000 entries, evidence/archives.py).
FOLDER_LIMIT = ("More than about 900 files? Upload them as zip archives (each is one upload), or scan the folder "
                "headless: `python -m geoloc_core scan FOLDER --out findings.csv`. The browser's uploader stalls "
                "on folders of about 1,000 files or more.")


def run_batch(uploads, settings, skip_known: bool, pixel_forensics: bool = False) -> tuple[list, list]:
    """Analyse the uploads; returns (new findings, earlier findings of the files skipped)."""
    log = resources.current_case_log()
    analyzer = analyzer_for(settings.analysis)
    analyzer.pixel_forensics = pixel_forensics
    total = sum(count_files(u.name, u.getvalue()) for u in uploads)
    earlier = skippable(log.earlier_findings(settings.case_id, analyzer.predictor.description if analyzer.predictor
                                             else "", analyzer.settings_label) if skip_known else {}, pixel_forensics)
    known = set(earlier) if skip_known else None
    skipped: list[str] = []
    skipped_hashes: list[str] = []
    findings = []
    progress = st.progress(0.0, text=f"0 / {total} files")
    table = st.empty()
    started, errors = time.monotonic(), 0
    progress_due, table_due = Pacer(PROGRESS_INTERVAL_S), Pacer(TABLE_INTERVAL_S)  # the browser shares the cores
    # committed on a writer thread; the count shown is what is saved (a killed server lost nothing shown)
    with CaseLogWriter(log, settings.case_id, keep_serials=include_serials()) as writer, \
            showing_prompt_progress([analyzer.predictor, analyzer.second_predictor]):
        sources = expand_uploads(((u.name, u.getvalue(), received(u)) for u in uploads), known, skipped, skipped_hashes)
        for finding in analyzer.analyze_stream(keeping_originals(settings, sources)):
            writer.put(finding)
            findings.append(finding)
            errors += finding.status == "error"
            if progress_due.due():
                done = writer.saved + len(skipped)
                eta = (time.monotonic() - started) / len(findings) * max(0, total - len(findings) - len(skipped))
                progress.progress(min(1.0, done / max(1, total)),
                                  text=f"{done:,} / {total:,} files, {errors:,} with errors, ETA {eta:,.0f} s")
            if table_due.due():
                table.dataframe(findings_frame(findings), hide_index=True, width="stretch")
    progress.progress(1.0, text=f"Done: {len(findings):,} analysed, {len(skipped):,} skipped as already in the case, "
                                f"{errors:,} with errors, "
                                f"{time.monotonic() - started:,.1f} s")
    table.empty()
    # files skipped because the case holds them: shown with their earlier finding (under this upload's name)
    reused = [replace(earlier[h], file=name) for name, h in zip(skipped, skipped_hashes) if h in earlier]
    return findings, reused


def received(upload) -> str:
    """When the upload reached the server (first seen by this page): the report's "Acquired"."""
    return st.session_state.setdefault("batch_received", {}).setdefault(upload.file_id, utc_now())


def filtered(frame: pd.DataFrame, findings: list) -> pd.Series:
    c1, c2, c3, c4 = st.columns(4)
    verdicts = c1.multiselect("Verdict", sorted(frame["verdict"].dropna().unique()), key="f_verdict")
    countries = c2.multiselect("Country (EXIF or predicted)",
                               sorted(set(frame["exif_country"].dropna()) | set(frame["pred_country"].dropna())),
                               key="f_country")
    gps = c3.selectbox("EXIF GPS", ["any", "with EXIF GPS", "without EXIF GPS"], key="f_gps")
    flagged = c4.multiselect("Metadata check flagged (warn)", list(CHECK_TITLES), key="f_flagged",
                             format_func=CHECK_TITLES.get)
    mask = frame["file"].notna()
    if verdicts:
        mask &= frame["verdict"].isin(verdicts)
    if countries:
        mask &= frame["exif_country"].isin(countries) | frame["pred_country"].isin(countries)
    if gps != "any":
        mask &= frame["exif_lat"].notna() if gps == "with EXIF GPS" else frame["exif_lat"].isna()
    for name in flagged:  # keep files whose chosen checks all say "warn"
        mask &= pd.Series([getattr(f, f"check_{name}", "").startswith("warn") for f in findings], index=frame.index)
    return mask


def results(findings: list, reused: list, settings) -> None:
    rows = findings + reused
    st.subheader(f"Findings ({len(findings):,} analysed, {len(reused):,} skipped)")
    frame = findings_frame(rows)
    frame.insert(1, "this batch", ["analysed"] * len(findings) + [SKIPPED] * len(reused))
    mask = filtered(frame, rows)
    selected = [f for f, keep in zip(rows, mask) if keep]
    st.caption(f"{len(selected):,} of {len(rows):,} shown. Select a row to open the finding.")
    event = st.dataframe(frame[mask], hide_index=True, width="stretch", on_select="rerun",
                         column_config=findings_columns(),
                         selection_mode="single-row", key=f"batch_table_{len(rows)}_{int(mask.sum())}")
    picked = list(event.selection.rows) if event and event.selection else []
    located = [f for f in selected if f.exif_lat is not None or f.pred_lat is not None]
    if located:
        show = points_toggle("batch_map_show")
        show_map(findings_map(located, settings.analysis.online_tiles, show=show), key="batch_map")
    download_buttons(selected, "geoloc-batch", key="batch_dl", case_id=settings.case_id)
    if picked and picked[0] < len(selected):
        finding = selected[picked[0]]
        st.divider()
        log = resources.current_case_log()
        finding_detail(finding, settings, key="batch_detail", item=case_item(log, settings.case_id, finding), log=log)


settings = page_settings()
st.title("Batch")
st.caption("Upload a whole folder, many files, or zip archives. Every finding is saved to the current case as it "
           "is made; files that fail stay in the table with their reason.")
folder = st.file_uploader("A folder of images", accept_multiple_files="directory", key="batch_folder")
files = st.file_uploader("...or files and zip archives", accept_multiple_files=True, key="batch_files")
st.caption(FOLDER_LIMIT)
skip_known = st.checkbox("Skip files already analysed in this case with the same model and settings", value=True,
                         key="batch_skip", help="Resume an interrupted batch without analysing a file twice; "
                         "skipped files stay in the table and exports with their earlier finding.")
pixel_forensics = pixel_views.batch_option()
uploads = list(folder or []) + list(files or [])
for upload in uploads:  # stamped on arrival, not when "Analyse" is pressed
    received(upload)

if uploads and st.button(f"Analyse {len(uploads):,} upload(s)", type="primary", key="batch_run"):
    st.session_state["batch_findings"], st.session_state["batch_reused"] = run_batch(uploads, settings, skip_known,
                                                                                       pixel_forensics)

if st.session_state.get("batch_findings") or st.session_state.get("batch_reused"):
    results(st.session_state.get("batch_findings", []), st.session_state.get("batch_reused", []), settings)
