"""The analyst's own point on a finding (#32): paste coordinates, or click the map, add a note on how it was
found, save. The point is kept in the case log as the analyst's, verified against EXIF GPS and the written
place (``geoloc_core.case.analyst_point``) and drawn on the map as a black diamond.

A click on the map only fills the coordinates field: saving stays the analyst's own act, so a stray click
while panning never becomes evidence. The note is the analyst's text but shown like a file's (literal text
only): a pasted caption can carry anything.
"""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from geoloc_core.case.analyst_point import AnalystPoint, CoordinateError, clear_point, parse_coordinates, \
    place_point, summary_lines
from geoloc_core.case.findings import Finding, analyst_point_record, with_analyst_point
from ui import resources
from ui.plaintext import markdown_literal, text_table
from ui.reporting import analyst_name

PLACEHOLDER = "50.7753, 6.0839  or  50°46'31\"N 6°05'02\"E"
HELP = ("Latitude first: decimal degrees (50.7753, 6.0839), with N/S/E/W (50.7753 N, 6.0839 E) or degrees, minutes "
        "and seconds (50°46'31\"N 6°05'02\"E). A click on the map fills this field.")


def _geocoder(settings):
    """The geocoder the analysis used: the point's country comes from the same data as the other points'."""
    return resources.online_geocoder() if settings.analysis.online_geocoder else resources.offline_geocoder()


def _take_click(map_key: str, field_key: str) -> None:
    """Put the map's newest click into the coordinates field, once per click (before the field is drawn). A
    click is taken once per map key, not per field: the next file's form never gets the last file's click."""
    value = st.session_state.get(map_key)
    clicked = value.get("last_clicked") if isinstance(value, dict) else None
    if not isinstance(clicked, dict):
        return
    try:
        lat, lon = float(clicked["lat"]), float(clicked["lng"])
    except (KeyError, TypeError, ValueError):
        return
    lon = (lon + 180.0) % 360.0 - 180.0  # a click on a wrapped copy of the world is the same place
    stamp = f"{lat:.6f}, {lon:.6f}"
    if st.session_state.get(f"{map_key}_taken") != stamp:
        st.session_state[f"{map_key}_taken"] = stamp
        st.session_state[field_key] = stamp


def pin_form(settings, finding: Finding, finding_ids: list[int], key: str, map_key: str | None = None) -> None:
    """The analyst's point of ``finding`` (shown verified when placed) and the form that places, replaces or
    removes it on the case-log rows ``finding_ids`` (every analysis of the same file)."""
    st.markdown("**Your point** (a manual geolocation, e.g. a Street View match: kept in the case log as yours, "
                "checked against EXIF GPS and the written place, exported as analyst_point_*)")
    saved = st.session_state.pop(f"{key}_saved", None)
    if saved:
        st.success(markdown_literal(saved))
    if finding.analyst_point_lat is not None:
        text_table(summary_lines(finding))  # literal text: the note is the analyst's, as typed
    if not finding_ids:
        st.caption("This finding is not in the case log, so a point cannot be kept with it.")
        return
    field = f"{key}_coords"
    if map_key:
        _take_click(map_key, field)
    if f"{key}_note" not in st.session_state:
        st.session_state[f"{key}_note"] = finding.analyst_point_note
    with st.form(f"{key}_form", border=False):
        text = st.text_input("Coordinates (latitude, longitude)", key=field, placeholder=PLACEHOLDER, help=HELP,
                             max_chars=400)
        note = st.text_area("How you found it (your note)", key=f"{key}_note", max_chars=5000,
                            placeholder="e.g. Street View match: the church tower and the shop front, looking north")
        save = st.form_submit_button("Save my point", key=f"{key}_save")
    if save:
        try:
            lat, lon = parse_coordinates(text)
        except CoordinateError as exc:
            st.error(markdown_literal(f"Not saved: {exc}"))
            return
        place_point(finding, AnalystPoint.now(lat, lon, note, analyst_name()), _geocoder(settings),
                    settings.analysis.thresholds)
        resources.current_case_log().set_analyst_point(finding_ids, finding)
        st.session_state[f"{key}_saved"] = (f"Your point {lat:.6f}, {lon:.6f} is saved with this finding; EXIF GPS vs "
                                            "your point: " + finding.analyst_point_exif_verdict)
        st.rerun()
    if finding.analyst_point_lat is not None and st.button("Remove my point", key=f"{key}_remove"):
        resources.current_case_log().set_analyst_point(finding_ids, clear_point(finding))
        st.session_state[f"{key}_saved"] = "Your point is removed from this finding."
        st.rerun()


def with_logged_point(finding: Finding, item) -> Finding:
    """A copy of ``finding`` carrying the analyst's point that the case log holds for its file (``item``: the
    file's ``HistoryItem``, None when it is not in the log): a Batch row is the analysis as it was made, before
    any point was placed."""
    if item is None:
        return finding
    return with_analyst_point(replace(finding), analyst_point_record(item.latest.finding))


def verify_pin(settings, finding: Finding, map_key: str) -> None:
    """The form on the Verify page, for the finding it has just saved to the case."""
    stored = resources.current_case_log().latest_finding(settings.case_id, finding.sha256) if finding.sha256 \
        else None
    pin_form(settings, finding, [stored.id] if stored is not None else [], f"verify_pin_{stored.id if stored else 0}",
             map_key)
