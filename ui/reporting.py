"""The Report/Export section of the Verify and Case log pages, and the analyst's name in the sidebar.

Thin: all report, bundle and audit logic lives in ``geoloc_core.case.reports.reporting``. Made files are
kept in session state with the selection they were made for, so a download never serves a report
of a different selection; every file made is written to the case log's audit trail with its SHA-256.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

import streamlit as st

from geoloc_core.case.log.caselog import CaseLog, StoredFinding
from ui import resources
from ui.login import current_member
from ui.plaintext import markdown_literal


def analyst_name_input(log: CaseLog, case_id: int) -> None:
    """The analyst's name, for reports, bundles and the audit trails (sidebar), kept with the case in the case log.

    Per case, not per log or per browser (#32: a reload lost it and reports said "Analyst: not given"): a report
    says who analysed *that* case, a case handed to a colleague keeps its own name, and a new session or another
    tab opens the case with it filled in. A case without a name takes the one in the field (the same person
    going on to a new case), and the field's name is saved as it is typed.

    On a team server (#36) there is no field: the login names the analyst (``analyst_name``)."""
    member = current_member()
    if member is not None:
        st.caption(markdown_literal(f"Analyst: {member.signature} (from your login)"))
        return
    if st.session_state.get(_NAME_OF_CASE) != case_id:  # a new session, or another case chosen
        kept = log.case_analyst(case_id)
        if kept:
            st.session_state["analyst_name"] = kept
        st.session_state[_NAME_OF_CASE] = case_id
    name = st.text_input("Analyst name", key="analyst_name", max_chars=200,
                         help="Shown in reports and bundles, and recorded with every export and assessment in the "
                              "case log. Kept with the case: a reload or a new tab fills it in.").strip()
    if name and name != log.case_analyst(case_id):
        log.set_case_analyst(case_id, name)


_NAME_OF_CASE = "_analyst_name_case"  # the case whose kept name the field was filled from


def analyst_name() -> str:
    """Who signs findings' assessments, exports and reports: the login's ``Name <email>`` on a team server, else
    the sidebar's field."""
    member = current_member()
    if member is not None:
        return member.signature
    return str(st.session_state.get("analyst_name", "") or "").strip()


def provenance_inputs(log: CaseLog, stored: StoredFinding, key: str, with_note: bool = True) -> None:
    """Where the analyst found the file (source URL) and their note, saved to the case log."""
    url = st.text_input("Source URL (where you found this file; stored as text, never opened)",
                        value=stored.source_url, key=f"{key}_url_{stored.id}")
    note = st.text_area("Analyst's note", value=stored.note, key=f"{key}_note_{stored.id}") if with_note else None
    if st.button("Save source URL" + (" and note" if with_note else ""), key=f"{key}_save_{stored.id}"):
        log.set_source_url(stored.id, url)
        if note is not None:
            log.set_note(stored.id, note)
        st.session_state[f"{key}_saved"] = stored.id
        st.rerun()  # the report below must use what was just saved
    if st.session_state.get(f"{key}_saved") == stored.id:
        st.success("Saved to the case log.")
        del st.session_state[f"{key}_saved"]


def _file_stem(case_name: str, scope: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{case_name}-{scope}").strip("-")[:60] or "case"
    return f"geoloc-{slug}-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}"


def report_section(settings, log: CaseLog, stored: list[StoredFinding], scope: str, key: str,
                   in_memory: dict[str, bytes] | None = None) -> None:
    """Buttons that make the HTML and PDF report and the evidence bundle of ``stored``, then offer them."""
    st.subheader("Report and evidence bundle")
    analyst = analyst_name()
    st.caption(f"{len(stored)} finding(s): {markdown_literal(scope)}. Analyst: "
               f"{markdown_literal(analyst) if analyst else 'not given (enter your name in the sidebar)'}. "
               "The bundle holds the originals (when kept: sidebar 'Keep a copy of each original file'), "
               "the findings as CSV/JSON/GeoJSON, both reports and MANIFEST.sha256; check it with "
               "`sha256sum -c MANIFEST.sha256`.")
    signature = (tuple((s.id, s.note, s.source_url) for s in stored), analyst, settings.case_id)
    if st.button("Make report and bundle", key=f"{key}_make", disabled=not stored, type="primary"):
        # imported at the first click, not with the sidebar that shares this module (fpdf, folium: #32)
        from geoloc_core.case.reports.bundle import build_bundle
        from geoloc_core.case.reports.report_content import model_info
        from geoloc_core.case.reports.reporting import items_from_case, record_exports, render_reports

        store = resources.evidence_of(log)
        items = items_from_case(stored, store)
        for item in items:  # the page's own copy of the bytes (Verify), when the store did not keep one
            data = (in_memory or {}).get(item.finding.sha256)
            if data is not None:
                item.original = lambda data=data, kept=item.original: (kept() if kept else None) or data
        models = []
        if settings.analysis.model_path:
            info = model_info(resources.predictor(settings.analysis.model_path, settings.analysis.allow_model_download))
            models = [info] if info else []
        include_serials = bool(st.session_state.get("include_serials", False))
        with st.spinner("Making the report and bundle..."):
            files = render_reports(items, settings.case_name, analyst, scope, models, settings.analysis.thresholds,
                                   include_serials, worker=resources.parser_worker())  # thumbnails decoded there
            bundle = build_bundle(items, files.report, files.html, files.pdf, include_serials)
        for problem in files.problems:  # one writer failed: the other format and the bundle are still offered
            st.warning(markdown_literal(problem))
        stem = _file_stem(settings.case_name, scope)
        outputs = [("report-html", f"{stem}.html", files.html), ("report-pdf", f"{stem}.pdf", files.pdf),
                   ("bundle", f"{stem}.zip", bundle.data)]
        record_exports(log, settings.case_id, analyst, items, outputs)
        st.session_state[key] = (signature, outputs, bundle.sha256, bundle.originals_missing)
    made = st.session_state.get(key)
    if not made or made[0] != signature:
        return
    _, outputs, bundle_sha, missing = made
    mime = {"report-html": "text/html", "report-pdf": "application/pdf", "bundle": "application/zip"}
    label = {"report-html": "Download report (HTML)", "report-pdf": "Download report (PDF)",
             "bundle": "Download evidence bundle (ZIP)"}
    for column, (kind, name, content) in zip(st.columns(len(outputs)), outputs):
        with column:
            st.download_button(label[kind], data=content, file_name=name, mime=mime[kind], key=f"{key}_{kind}",
                               on_click="ignore", width="stretch")
    st.markdown("**SHA-256 of the evidence bundle** (recorded in the case log with your name and the time):")
    st.code(bundle_sha, language=None)
    if missing:
        st.caption(f"{len(missing)} original(s) not in the bundle (not kept, or no longer matching their hash).")


def exports_table(log: CaseLog, case_id: int) -> None:
    """The case's export audit trail: every export, its SHA-256, who made it and when."""
    import pandas as pd

    records = log.exports(case_id)
    st.subheader(f"Exports of this case ({len(records)})")
    if not records:
        st.caption("Nothing exported yet. Every report, bundle and table export is recorded here with its SHA-256.")
        return
    st.dataframe(pd.DataFrame([{"made (UTC)": r.created_at, "kind": r.kind, "file": r.file_name, "SHA-256": r.sha256,
                                "bytes": r.size_bytes, "analyst": r.analyst, "findings": len(r.finding_ids)}
                               for r in records]), hide_index=True, width="stretch", key=f"exports_{case_id}")


def verify_report_section(settings, log: CaseLog, finding, data: bytes) -> None:
    """Verify page: source URL and note for the finding just saved, then its report and bundle."""
    stored = log.latest_finding(settings.case_id, finding.sha256) if finding.sha256 else None
    if stored is None:
        st.caption("This finding has no saved record in the case log, so no report can be made from it.")
        return
    provenance_inputs(log, stored, key="verify_provenance")
    report_section(settings, log, [stored], "one finding", key="verify_report", in_memory={finding.sha256: data})
