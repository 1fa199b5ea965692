"""Reusable pieces of the pages: the analyser for the current settings, the result card, maps,
tables and export buttons. Values that come from files (names, EXIF strings), notes and case names
are only ever shown through ``ui.plaintext``: escaped HTML tables, or Markdown-literal escaping where
Streamlit takes only Markdown (banners, metrics, captions)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

import streamlit as st

from geoloc_core.case.analysis_settings import AnalysisSettings
from geoloc_core.case.exports.export import FORMATS, export
from geoloc_core.case.analyzer import Analyzer
from geoloc_core.case.findings import Finding, regions_word
from geoloc_core.case.notes import note_lines
from geoloc_core.evidence.filefacts import sha256_hex
from geoloc_core.evidence.sources import FileSource
from geoloc_core.case.banner import compose_banner, typical_error_km
from geoloc_core.case.verification import NOT_AN_IMAGE, TOO_LITTLE_IMAGE
from geoloc_core.places.country_words import country_in_words, place_in_words
from ui import resources
from ui.plaintext import markdown_literal, plain_text, text_table, text_table_html
from ui.settings import SessionSettings

if TYPE_CHECKING:
    import pandas as pd

TABLE_COLUMNS = ["file", "status", "verdict", "distance_km", "band", "checks_flagged", "pixel_checks_flagged",
                 "exif_lat", "exif_lon",
                 "exif_country", "claimed_place_text", "pred_lat", "pred_lon", "pred_radius_km", "pred_country",
                 "camera_model", "software",
                 "message"]
CHECK_TITLES = {"time": "Time consistency", "timezone": "Time zone", "sun": "Sun at the claimed place and time",
                "editing": "Editing traces", "thumbnail": "Embedded thumbnail", "provenance": "Provenance (C2PA)",
                "claim": "Written place (caption / IPTC / XMP)", "blocks": "Metadata blocks agree (one file, two stories)"}
# Material icons ship with Streamlit (no emoji font or CDN needed).
CHECK_ICONS = {"ok": ":green[:material/check_circle:]", "warn": ":orange[:material/warning:]",
               "info": ":blue[:material/info:]", "n/a": ":gray[:material/radio_button_unchecked:]"}
MIME = {"csv": "text/csv", "csv-excel": "text/csv", "json": "application/json", "geojson": "application/geo+json",
        "kml": "application/vnd.google-earth.kml+xml"}
EXPORT_LABELS = {"csv-excel": "CSV for Excel"}  # the others: the format's name
EXPORT_FILE_SUFFIX = {"csv-excel": "excel.csv"}
# A metric's value is cut with an ellipsis when it is wider than its column ("Russian Fed…" in a third of the
# card, #32): place names wrap instead.
WRAPPING_METRICS = ("<style>[data-testid='stMetricValue'], [data-testid='stMetricValue'] * {white-space: normal "
                    "!important; overflow: visible; text-overflow: clip; overflow-wrap: break-word}</style>")




def analyzer_for(settings: AnalysisSettings) -> Analyzer:
    geocoder = resources.online_geocoder() if settings.online_geocoder else resources.offline_geocoder()
    paths = [p for p in (settings.model_path, getattr(settings, "second_model_path", "")) if p]
    # the trained regressor, when loaded, is the first witness (its regions are calibrated)
    predictors = sorted((resources.predictor(p, settings.allow_model_download) for p in paths), key=lambda p: p.kind != "regressor")
    return Analyzer(geocoder=geocoder, predictor=predictors[0] if predictors else None,
                    worker=resources.parser_worker(), thresholds=settings.thresholds,
                    second_predictor=predictors[1] if len(predictors) > 1 else None)


def save(settings: SessionSettings, finding: Finding, data: bytes | None) -> None:
    """Persist a finding in the current case (and the original bytes when asked)."""
    log = resources.current_case_log()
    log.add(settings.case_id, finding, keep_serials=include_serials())
    if settings.keep_evidence and data is not None and finding.sha256:
        resources.evidence_of(log).put(finding.sha256, data)


def keeping_originals(settings: SessionSettings, sources: Iterable[FileSource]) -> Iterator[FileSource]:
    """Pass ``sources`` through, storing each one's bytes in the evidence store first when "Keep a
    copy of each original file" is on (a batch never holds all its files until the end)."""
    store = resources.evidence_of(resources.current_case_log())
    for source in sources:
        if settings.keep_evidence and source.data is not None:
            store.put(sha256_hex(source.data), source.data)
        yield source


def include_serials() -> bool:
    """The sidebar's "Include camera serial numbers in exports" switch, which also decides whether
    serials are kept in the case log."""
    return bool(st.session_state.get("include_serials", False))


def verdict_banner(finding: Finding, typical_km: float | None = None) -> None:
    """The location verdict and the flagged metadata checks in one banner (geoloc_core.case.banner)."""
    banner = compose_banner(finding, typical_km)
    show = {"success": st.success, "info": st.info, "warning": st.warning, "error": st.error}[banner.level]
    show(markdown_literal(banner.text))
    st.caption(f"Verdict: {markdown_literal(finding.verdict)} — {markdown_literal(finding.verdict_reason)}")


def model_typical_km(settings: AnalysisSettings) -> float | None:
    """The loaded model's median error on its evaluation set, when it recorded one."""
    if not settings.model_path:
        return None
    predictor = resources.predictor(settings.model_path, settings.allow_model_download)
    config = getattr(getattr(predictor, "model", None), "config", None)  # a zero-shot CLIP has no evaluation
    return typical_error_km(getattr(config, "evaluation", None))


def _km(value: float | None) -> str:
    return "" if value is None else f"{value:,.1f} km"


def _point(lat: float | None, lon: float | None, digits: int) -> str:
    return "" if lat is None else f"{lat:.{digits}f}, {lon:.{digits}f}"


def _table(rows: list[tuple[str, str]]) -> None:
    """A static two-column table of literal text (``st.table`` would render cells as Markdown)."""
    text_table(rows)


def result_card(finding: Finding, model_error: str | None = None, typical_km: float | None = None) -> None:
    """Everything known about one image, in plain-text tables (no markdown from file content)."""
    verdict_banner(finding, typical_km)
    if finding.status == "error" and finding.verdict != NOT_AN_IMAGE:
        st.caption("This file could not be fully analysed: see the notes below.")
    video = finding.media_kind == "video"  # its claims come from the container, not EXIF (#34)
    exif_where = finding.exif_country or ("open water" if finding.exif_lat is not None else
                                          "no GPS in the container" if video else "no EXIF GPS")
    pred_where = finding.pred_country or ("open water" if finding.pred_lat is not None else "no prediction")
    st.html(WRAPPING_METRICS)  # style only: it takes no place on the page
    m1, m2, m3 = st.columns(3)
    m1.metric(markdown_literal(f"{'Container GPS' if video else 'EXIF GPS'} says{f' ({finding.exif_continent})' if finding.exif_continent else ''}"),
              markdown_literal(exif_where))
    m2.metric(markdown_literal(f"Pixels say (model){f' ({finding.pred_continent})' if finding.pred_continent else ''}"),
              markdown_literal(pred_where))
    m3.metric(markdown_literal(f"Distance{f' ({finding.band} band)' if finding.band else ''}"),
              markdown_literal(_km(finding.distance_km) or "n/a"))
    if finding.pred_lat is None and finding.verdict not in (NOT_AN_IMAGE, TOO_LITTLE_IMAGE):
        if model_error:
            st.error(markdown_literal(model_error))
        elif not finding.model:
            st.info("No location model is loaded, so no location is predicted (never a placeholder). Download a "
                    "CLIP checkpoint on the Model page for zero-shot predictions, train one with `training/` (see "
                    "training/README.md), or copy a model folder and enter its path in the sidebar, or set "
                    "GEOLOC_MODEL.")
    left, right = st.columns(2)
    with left:
        st.markdown("**From the container's metadata**" if video else "**From the file's metadata (EXIF)**")
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
            ("Nearest place", place_in_words(finding.exif_nearest_place)),
            ("Capture time from", finding.capture_time_source or ""),
        ])
        if finding.claimed_place_text or finding.creator or finding.caption:
            st.markdown("**Written claim (caption / IPTC / XMP)**")
            _table([
                ("Place as written", finding.claimed_place_text or ""),
                ("Written in", finding.claim_source or ""),
                ("GeoNames place", place_in_words(finding.claimed_place_found)),
                ("Claimed lat, lon (deg)", _point(finding.claimed_lat, finding.claimed_lon, 4)),
                ("Country", country_in_words(finding.claimed_country_code)),
                ("How it was located", finding.claim_note or ""),
                ("EXIF GPS vs claim", finding.claim_exif_check or ""),
                ("Prediction vs claim", " — ".join(x for x in (finding.claim_pred_verdict, finding.claim_pred_reason)
                                                   if x)),
                ("Creator", finding.creator or ""),
                ("Caption", finding.caption or ""),
            ])
    with right:
        st.markdown("**From the pixels (model)**")
        word = f" ({regions_word(finding.pred_calibrated)})" if regions_word(finding.pred_calibrated) else ""
        _table([
            ("Predicted lat, lon (deg)", _point(finding.pred_lat, finding.pred_lon, 4)),
            (f"50 % region radius{word}", _km(finding.pred_radius50_km)),
            (f"90 % region radius{word}", _km(finding.pred_radius_km)),
            ("Country", finding.pred_country or ""),
            ("Continent", finding.pred_continent or ""),
            ("Nearest place", place_in_words(finding.pred_nearest_place)),
        ])
        st.markdown("**The file**")
        _table([
            ("Type (from its bytes)", finding.file_type),
            ("Size", f"{finding.size_bytes:,} bytes" if finding.size_bytes else ""),
            ("Pixels", f"{finding.width} x {finding.height}" if finding.width else ""),
        ])
        sha256_block(finding.sha256)
    witnesses_panel(finding)
    country_probabilities(finding)
    if finding.message:
        st.markdown("**Notes on this file**")
        for line in note_lines(finding.message):
            st.text(plain_text(f"• {line}"))



def sha256_block(sha256: str | None) -> None:
    """The whole SHA-256, monospace, wrapped and with a copy button (a table cell cut it short)."""
    if sha256:
        st.caption("SHA-256 (the file's fingerprint; copy with the button)")
        st.code(sha256, language=None, wrap_lines=True)


def witnesses_panel(finding: Finding) -> None:
    """Two witnesses side by side: each one's point, country, region and verdict, and how far apart they are."""
    if not finding.second_model:
        return
    st.markdown("**Two witnesses**")
    rows = []
    for name, kind, lat, lon, country, radius, calibrated, distance, verdict in (
            ("first", finding.pred_kind, finding.pred_lat, finding.pred_lon, finding.pred_country,
             finding.pred_radius_km, finding.pred_calibrated, finding.distance_km, finding.verdict),
            ("second", finding.second_kind, finding.second_lat, finding.second_lon, finding.second_country,
             finding.second_radius_km, finding.second_calibrated, finding.second_distance_km, finding.second_verdict)):
        rows.append({"witness": f"{name} ({kind})", "lat, lon (deg)": _point(lat, lon, 4) or "no prediction",
                     "country": country or "", "90 % radius": _km(radius) + (f" ({regions_word(calibrated)})"
                                                                             if radius and regions_word(calibrated)
                                                                             else ""),
                     "distance to EXIF GPS": _km(distance) or "n/a", "verdict": verdict})
    st.html(text_table_html([tuple(row.values()) for row in rows], header=list(rows[0])))  # literal text
    if finding.witnesses_distance_km is not None:
        st.caption(f"The two witnesses' points are {finding.witnesses_distance_km:,.1f} km apart.")


def country_probabilities(finding: Finding) -> None:
    """'France 62 %, Belgium 12 %': the zero-shot witness's probabilities per country."""
    import json

    raw = finding.pred_country_probs or finding.second_country_probs
    if not raw:
        return
    st.markdown("**Country probabilities (zero-shot CLIP, uncalibrated)**")
    # the names come from the model folder's own places table (hostile, #31): literal text, never st.table,
    # which renders every cell as Markdown (a country named ![b](https://host/c.png) fetched the image)
    rows = [(c["country"], c["country_code"], f"{100 * float(c['p']):.1f} %") for c in json.loads(raw)]
    st.html(text_table_html(rows, header=["country", "code", "probability"]))


def checks_panel(finding: Finding) -> None:
    """One traffic light and one line per metadata check."""
    legend = " · ".join(f"{CHECK_ICONS[k]} {v}" for k, v in
                        (("ok", "consistent"), ("warn", "look closer"), ("info", "fact"), ("n/a", "not checkable")))
    st.markdown(f"**Metadata checks** — {legend}")  # own text: icons and words of geoloc's
    for name, title in CHECK_TITLES.items():
        cell = getattr(finding, f"check_{name}", "") or "n/a: not checked"
        status, _, summary = cell.partition(": ")
        st.markdown(f"{CHECK_ICONS.get(status, CHECK_ICONS['n/a'])} **{title}** — {markdown_literal(summary)}")  # own text: title
    if finding.camera_serial:
        st.caption(f"Camera serial numbers: {markdown_literal(finding.camera_serial)} (shown here; exported only when "
                   "'Include camera serial numbers in exports' is on)")


def show_map(fmap, key: str, height: int = 460, clicks: bool = False) -> None:
    """Show a folium map (with the local basemap under it when one is configured). ``clicks``: the last click
    comes back in st.session_state[key] (the analyst's point, ui/analyst_pin.py). The map is built on every
    page run: a folium map kept across reruns lost the analyst's clicks in Chromium; the Verify page's side
    panels run in a fragment, so their widgets never rerun it (#32)."""
    prepared = _prepared_map(fmap, _local_basemap())
    # folium's and the map component's modules load with the first map, not on a cold start's first page (#32)
    from streamlit_folium import st_folium

    st_folium(prepared, height=height, returned_objects=["last_clicked"] if clicks else [], key=key,
              use_container_width=True)


def _local_basemap():
    """The organisation's own tiles, served by this app ($GEOLOC_BASEMAP), or None; says why one is not used."""
    from geoloc_core.case.maps.basemap import configured_basemap

    if not configured_basemap():
        return None
    basemap = resources.local_basemap(configured_basemap())
    if isinstance(basemap, str):
        st.caption(f"Local basemap not used: {markdown_literal(basemap)}")
        return None
    return basemap


def _prepared_map(fmap, basemap):
    """The map with the local basemap under it and its scripts served by this app (once per map: both add to it)."""
    from geoloc_core.case.maps.basemap import add_basemap
    from geoloc_core.case.maps.layers import use_local_assets

    resources.offline_map_assets()
    if basemap is not None:
        add_basemap(fmap, basemap, resources.STATIC_URL, resources.STATIC_VENDOR_URL)
    return use_local_assets(fmap, resources.STATIC_VENDOR_URL)


def findings_frame(findings: list[Finding]) -> pd.DataFrame:
    import pandas as pd

    rows = [{c: getattr(f, c) for c in TABLE_COLUMNS} for f in findings]
    frame = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    frame["file"] = frame["file"].map(lambda p: Path(str(p)).name if p else p)
    return frame


def _record_table_export(case_id: int, fmt: str, name: str, text: str) -> None:
    """Audit trail: a table export, recorded in the case log when its download button is clicked."""
    from geoloc_core.case.reports.reporting import sha256_of
    from ui.reporting import analyst_name

    data = text.encode("utf-8")
    resources.current_case_log().record_export(case_id, fmt, name, sha256_of(data),
                                               len(data), analyst_name())


def download_buttons(findings: list[Finding], basename: str, key: str, case_id: int) -> None:
    """One button per table format; a click is recorded in case ``case_id``'s export audit trail."""
    columns = st.columns(len(FORMATS))
    for column, fmt in zip(columns, FORMATS):
        with column:
            text = export(findings, fmt, include_serials=include_serials())
            name = f"{basename}.{EXPORT_FILE_SUFFIX.get(fmt, fmt)}"
            st.download_button(f"Export {EXPORT_LABELS.get(fmt, fmt.upper())}", data=text, file_name=name,
                               mime=MIME[fmt], key=f"{key}-{fmt}", disabled=not findings, width="stretch",
                               on_click=_record_table_export, args=(case_id, fmt, name, text))
