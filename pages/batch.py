"""Batch: a folder, many files or zip archives; progress, a findings table, a map, filters, exports."""
from __future__ import annotations

import io
import time
import zipfile

import pandas as pd
import streamlit as st

from geoloc_core.archives import iter_zip
from geoloc_core.filefacts import sha256_hex
from geoloc_core.findings import FileSource
from geoloc_core.maps import findings_map
from ui import resources
from ui.views import CHECK_TITLES, analyzer_for, download_buttons, findings_frame, save, show_map

settings = st.session_state["settings"]
st.title("Batch")
st.caption("Upload a whole folder, many files, or zip archives. Every finding is saved to the current case as it "
           "is made; files that fail stay in the table with their reason.")
folder = st.file_uploader("A folder of images", accept_multiple_files="directory", key="batch_folder")
files = st.file_uploader("...or files and zip archives", accept_multiple_files=True, key="batch_files")
skip_known = st.checkbox("Skip files already in this case (same SHA-256)", value=True, key="batch_skip",
                         help="Resume an interrupted batch without analysing a file twice.")
uploads = list(folder or []) + list(files or [])


def _is_zip(upload) -> bool:
    head = upload.getvalue()[:4]
    return head == b"PK\x03\x04" and upload.name.lower().endswith(".zip")


def _count(upload) -> int:
    if not _is_zip(upload):
        return 1
    try:
        return max(1, sum(not i.is_dir() for i in zipfile.ZipFile(io.BytesIO(upload.getvalue())).infolist()))
    except zipfile.BadZipFile:
        return 1


def _sources(uploads, known: set[str], skipped: list[str]):
    """FileSources one at a time (zip entries expanded lazily), skipping known hashes."""
    for upload in uploads:
        items = iter_zip(upload.getvalue(), upload.name) if _is_zip(upload) else [None]
        for entry in items:
            if entry is None:
                name, data, error = upload.name, upload.getvalue(), None
            else:
                name, data, error = entry.name, entry.data, entry.error
            if data is not None and skip_known:
                digest = sha256_hex(data)
                if digest in known:  # already in the case, or twice in this upload
                    skipped.append(name)
                    continue
                known.add(digest)
            yield FileSource(name, data=data, error=error)


if uploads and st.button(f"Analyse {len(uploads)} upload(s)", type="primary", key="batch_run"):
    log = resources.current_case_log()
    total = sum(_count(u) for u in uploads)
    known = log.known_hashes(settings.case_id) if skip_known else set()
    skipped: list[str] = []
    findings = []
    progress = st.progress(0.0, text=f"0 / {total} files")
    table = st.empty()
    started = time.monotonic()
    analyzer = analyzer_for(settings.analysis)
    for finding in analyzer.analyze_stream(_sources(uploads, known, skipped)):
        save(settings, finding, None)
        findings.append(finding)
        done = len(findings) + len(skipped)
        elapsed = time.monotonic() - started
        eta = elapsed / max(1, len(findings)) * max(0, total - done)
        errors = sum(f.status == "error" for f in findings)
        progress.progress(min(1.0, done / max(1, total)),
                          text=f"{done} / {total} files, {errors} with errors, ETA {eta:,.0f} s")
        if len(findings) % 10 == 1 or done == total:
            table.dataframe(findings_frame(findings), hide_index=True, width="stretch")
    progress.progress(1.0, text=f"Done: {len(findings)} analysed, {len(skipped)} skipped as already in the case, "
                                f"{sum(f.status == 'error' for f in findings)} with errors, "
                                f"{time.monotonic() - started:,.1f} s")
    table.empty()
    st.session_state["batch_findings"] = findings

findings = st.session_state.get("batch_findings", [])
if findings:
    st.subheader(f"Findings ({len(findings)})")
    frame = findings_frame(findings)
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
    selected = [f for f, keep in zip(findings, mask) if keep]
    st.dataframe(frame[mask], hide_index=True, width="stretch")
    located = [f for f in selected if f.exif_lat is not None or f.pred_lat is not None]
    if located:
        show_map(findings_map(located, settings.analysis.online_tiles), key="batch_map")
    download_buttons(selected, "geoloc-batch", key="batch_dl")
