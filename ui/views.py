"""Reusable pieces of the pages: the analyser for the current settings, the result card, maps,
tables and export buttons. Values that come from files (names, EXIF strings) are only ever
shown as plain text or escaped, never as markdown or HTML."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geoloc_core.case.analysis_settings import AnalysisSettings
from geoloc_core.case.export import FORMATS, export
from geoloc_core.case.analyzer import Analyzer
from geoloc_core.case.findings import Finding
from geoloc_core.case.maps import use_local_assets
from geoloc_core.case.verification import CONSISTENT, CONTRADICTS, PLAUSIBLE, UNLIKELY
from ui import resources
from ui.settings import SessionSettings

TABLE_COLUMNS = ["file", "status", "verdict", "distance_km", "band", "checks_flagged", "exif_lat", "exif_lon",
                 "exif_country", "pred_lat", "pred_lon", "pred_radius_km", "pred_country", "camera_model", "software",
                 "message"]
CHECK_TITLES = {"time": "Time consistency", "timezone": "Time zone", "sun": "Sun at the claimed place and time",
                "editing": "Editing traces", "thumbnail": "Embedded thumbnail", "provenance": "Provenance (C2PA)"}
# Material icons ship with Streamlit (no emoji font or CDN needed).
CHECK_ICONS = {"ok": ":green[:material/check_circle:]", "warn": ":orange[:material/warning:]",
               "info": ":blue[:material/info:]", "n/a": ":gray[:material/radio_button_unchecked:]"}
MIME = {"csv": "text/csv", "json": "application/json", "geojson": "application/geo+json"}


def md_escape(text: object) -> str:
    """Escape markdown so a crafted file name or EXIF string is shown literally."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$])", r"\\\1", str(text))


def analyzer_for(settings: AnalysisSettings) -> Analyzer:
    geocoder = resources.online_geocoder() if settings.online_geocoder else resources.offline_geocoder()
    predictor = resources.predictor(settings.model_path) if settings.model_path else None
    return Analyzer(geocoder=geocoder, predictor=predictor, worker=resources.parser_worker(),
                    thresholds=settings.thresholds)


def save(settings: SessionSettings, finding: Finding, data: bytes | None) -> None:
    """Persist a finding in the current case (and the original bytes when asked)."""
    log = resources.current_case_log()
    log.add(settings.case_id, finding)
    if settings.keep_evidence and data is not None and finding.sha256:
        resources.evidence_store(str(log.path.parent / "evidence")).put(finding.sha256, data)


def verdict_banner(finding: Finding) -> None:
    text = f"**Verdict: {finding.verdict}** — {md_escape(finding.verdict_reason)}"
    if finding.verdict == CONSISTENT:
        st.success(text)
    elif finding.verdict == PLAUSIBLE:
        st.info(text)
    elif finding.verdict in (UNLIKELY, CONTRADICTS):
        st.error(text) if finding.verdict == CONTRADICTS else st.warning(text)
    else:
        st.warning(text)


def _km(value: float | None) -> str:
    return "" if value is None else f"{value:,.1f} km"


def _point(lat: float | None, lon: float | None, digits: int) -> str:
    return "" if lat is None else f"{lat:.{digits}f}, {lon:.{digits}f}"


def _table(rows: list[tuple[str, str]]) -> None:
    """A static two-column table; Streamlit renders cell values as text, never as HTML."""
    frame = pd.DataFrame([(k, v) for k, v in rows if v not in ("", None)], columns=["field", "value"])
    if frame.empty:
        st.caption("nothing recorded")
    else:
        st.table(frame.set_index("field"))


def result_card(finding: Finding, model_error: str | None = None) -> None:
    """Everything known about one image, in plain-text tables (no markdown from file content)."""
    if finding.status == "error":
        st.error("This file could not be fully analysed: see the notes below.")
    verdict_banner(finding)
    exif_where = finding.exif_country or ("open water" if finding.exif_lat is not None else "no EXIF GPS")
    pred_where = finding.pred_country or ("open water" if finding.pred_lat is not None else "no prediction")
    m1, m2, m3 = st.columns(3)
    m1.metric(f"EXIF GPS says{f' ({finding.exif_continent})' if finding.exif_continent else ''}", exif_where)
    m2.metric(f"Pixels say (model){f' ({finding.pred_continent})' if finding.pred_continent else ''}", pred_where)
    m3.metric(f"Distance{f' ({finding.band} band)' if finding.band else ''}", _km(finding.distance_km) or "n/a")
    if finding.pred_lat is None:
        if model_error:
            st.error(model_error)
        elif not finding.model:
            st.info("No location model is loaded, so no location is predicted (never a placeholder). Train one "
                    "with `training/` (see training/README.md) or copy a trained model folder and enter its path "
                    "in the sidebar, or set GEOLOC_MODEL.")
    left, right = st.columns(2)
    with left:
        st.markdown("**From the file's metadata (EXIF)**")
        _table([
            ("GPSLatitude, GPSLongitude (deg)", _point(finding.exif_lat, finding.exif_lon, 6)),
            ("GPSAltitude (m)", "" if finding.exif_altitude_m is None else f"{finding.exif_altitude_m:,.1f}"),
            ("DateTimeOriginal", finding.exif_datetime_original or ""),
            ("GPS time (UTC)", finding.exif_gps_datetime_utc or ""),
            ("Make", finding.camera_make or ""),
            ("Model", finding.camera_model or ""),
            ("LensModel", finding.lens_model or ""),
            ("Software", finding.software or ""),
            ("Country", finding.exif_country or ""),
            ("Continent", finding.exif_continent or ""),
            ("Nearest place", finding.exif_nearest_place or ""),
        ])
    with right:
        st.markdown("**From the pixels (model)**")
        _table([
            ("Predicted lat, lon (deg)", _point(finding.pred_lat, finding.pred_lon, 4)),
            ("50 % region radius", _km(finding.pred_radius50_km)),
            ("90 % region radius", _km(finding.pred_radius_km)),
            ("Country", finding.pred_country or ""),
            ("Continent", finding.pred_continent or ""),
            ("Nearest place", finding.pred_nearest_place or ""),
        ])
        st.markdown("**The file**")
        _table([
            ("SHA-256", finding.sha256),
            ("Type (from its bytes)", finding.file_type),
            ("Size", f"{finding.size_bytes:,} bytes" if finding.size_bytes else ""),
            ("Pixels", f"{finding.width} x {finding.height}" if finding.width else ""),
        ])
    if finding.message:
        st.markdown("**Notes on this file**")
        for line in finding.message.split("; "):
            st.text(f"• {line}")


def checks_panel(finding: Finding) -> None:
    """One traffic light and one line per metadata check."""
    legend = " · ".join(f"{CHECK_ICONS[k]} {v}" for k, v in
                        (("ok", "consistent"), ("warn", "look closer"), ("info", "fact"), ("n/a", "not checkable")))
    st.markdown(f"**Metadata checks** — {legend}")
    for name, title in CHECK_TITLES.items():
        cell = getattr(finding, f"check_{name}", "") or "n/a: not checked"
        status, _, summary = cell.partition(": ")
        st.markdown(f"{CHECK_ICONS.get(status, CHECK_ICONS['n/a'])} **{title}** — {md_escape(summary)}")
    if finding.camera_serial:
        st.caption(f"Camera serial numbers: {md_escape(finding.camera_serial)} (shown here; exported only when "
                   "'Include camera serial numbers in exports' is on)")


def show_map(fmap, key: str, height: int = 460) -> None:
    resources.offline_map_assets()
    use_local_assets(fmap, resources.STATIC_VENDOR_URL)
    st_folium(fmap, height=height, returned_objects=[], key=key, use_container_width=True)


def findings_frame(findings: list[Finding]) -> pd.DataFrame:
    rows = [{c: getattr(f, c) for c in TABLE_COLUMNS} for f in findings]
    frame = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    frame["file"] = frame["file"].map(lambda p: Path(str(p)).name if p else p)
    return frame


def _record_table_export(fmt: str, name: str, text: str) -> None:
    """Audit trail: a table export, recorded in the case log when its download button is clicked."""
    from geoloc_core.case.reporting import sha256_of
    from ui.reporting import analyst_name

    data = text.encode("utf-8")
    resources.current_case_log().record_export(st.session_state["settings"].case_id, fmt, name, sha256_of(data),
                                               len(data), analyst_name())


def download_buttons(findings: list[Finding], basename: str, key: str) -> None:
    include_serials = bool(st.session_state.get("include_serials", False))
    columns = st.columns(len(FORMATS))
    for column, fmt in zip(columns, FORMATS):
        with column:
            text = export(findings, fmt, include_serials=include_serials)
            st.download_button(f"Export {fmt.upper()}", data=text, file_name=f"{basename}.{fmt}",
                               mime=MIME[fmt], key=f"{key}-{fmt}", disabled=not findings, width="stretch",
                               on_click=_record_table_export, args=(fmt, f"{basename}.{fmt}", text))
