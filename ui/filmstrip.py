"""A video finding on screen (#34): the filmstrip of its keyframes with their times, what the container
claims, and each keyframe's prediction beside the clip's.

The keyframes' pictures are not part of the finding (a record of text and numbers, exported and logged);
they are read again from the video's bytes, in the isolated parser worker under the same budgets, which
gives the same frames (the choice is deterministic). Every file-derived string reaches the page through
``ui/plaintext.py``.
"""
from __future__ import annotations

import json

import streamlit as st

from geoloc_core.case.exports.telemetry_track import track_coordinates
from geoloc_core.case.findings import Finding, for_people
from geoloc_core.case.video_media import CLIP_RULE
from geoloc_core.evidence.filefacts import sha256_hex
from geoloc_core.evidence.isolation import IsolatedCallError
from geoloc_core.evidence.video import Keyframe, read_video
from ui import resources
from ui.plaintext import markdown_literal, text_table

PER_ROW = 6
_MEMO = "filmstrip_keyframes"
_KEPT = 4  # videos whose keyframes a session keeps (each at most 12 JPEGs)


def is_video(finding: Finding | None) -> bool:
    return finding is not None and finding.media_kind == "video"


def keyframes_of(data: bytes) -> tuple[list[Keyframe], str]:
    """(the video's keyframes, "") or ([], why not), read in the isolated worker; remembered per session by
    the bytes' SHA-256, so a widget's rerun never decodes the video again."""
    memo = st.session_state.setdefault(_MEMO, {})
    key = sha256_hex(data)
    if key not in memo:
        while len(memo) >= _KEPT:
            memo.pop(next(iter(memo)))
        try:
            reading = resources.parser_worker().call(read_video, data)
            memo[key] = (reading.keyframes, reading.error or "")
        except IsolatedCallError as exc:
            memo[key] = ([], for_people(str(exc)) or "the video could not be read")
    return memo[key]


def poster(finding: Finding, keyframes: list[Keyframe], why_not: str) -> None:
    """The keyframe the clip's prediction came from (else the first), where a photo shows its preview."""
    if not keyframes:
        st.warning(f"No keyframe to show: {markdown_literal(why_not or 'none could be decoded')}")
        return
    chosen = _clip_time(finding)
    frame = next((k for k in keyframes if k.time_s == chosen), keyframes[0])
    st.image(frame.image, width="stretch", caption=f"Keyframe at {frame.time_s:.2f} s",
             alt=f"A keyframe of the video being verified, at {frame.time_s:.2f} s")


def filmstrip(finding: Finding, keyframes: list[Keyframe]) -> None:
    """The keyframes in time order, PER_ROW to a row, each with its time, why it was chosen and its prediction."""
    if not keyframes:
        return
    predictions = _predictions(finding)
    chosen = _clip_time(finding)
    st.markdown(f"**Filmstrip**: {len(keyframes):d} keyframes")
    st.caption(f"Chosen by {markdown_literal(finding.keyframe_method or 'scene changes')}; the clip's prediction is "
               f"{CLIP_RULE} (★).")
    for start in range(0, len(keyframes), PER_ROW):
        for column, frame in zip(st.columns(PER_ROW), keyframes[start:start + PER_ROW]):
            with column:
                found = predictions.get(frame.time_s)
                where = (f"{found['lat']:.3f}, {found['lon']:.3f} ± {found['radius90_km']:,.0f} km"
                         if found and found.get("radius90_km") is not None else
                         f"{found['lat']:.3f}, {found['lon']:.3f}" if found else "no prediction")
                star = " ★" if chosen is not None and frame.time_s == chosen else ""
                st.image(frame.image, width="stretch", caption=f"{frame.time_s:.2f} s{star} · {frame.reason} · {where}",
                         alt=f"Keyframe at {frame.time_s:.2f} s")  # own text: numbers and geoloc's own words


def claims_panel(finding: Finding) -> None:
    """What the container claims besides the fields the result card shows (time, place, camera)."""
    st.markdown("**What the container claims**")
    text_table([
        ("Duration", f"{finding.duration_s:,.2f} s" if finding.duration_s is not None else ""),
        ("Frame size", f"{finding.width} x {finding.height} px" if finding.width else ""),
        ("Frame rate", f"{finding.video_frame_rate:g} fps" if finding.video_frame_rate else ""),
        ("Rotation", f"{finding.video_rotation} degrees clockwise" if finding.video_rotation else ""),
        ("Capture time (tag)", finding.capture_time_source),
        ("Keyframes", f"{finding.keyframes} ({finding.keyframe_method})" if finding.keyframes is not None else ""),
        ("Clip's prediction from", finding.clip_prediction_from),
        # the exports' one reading of the track: a malformed stored value (a case log is a file too) is no track
        ("Telemetry track", f"{len(track)} GPS fixes" if (track := track_coordinates(finding)) else ""),
    ], empty="the container claims nothing beyond its frames")


def video_section(finding: Finding, keyframes: list[Keyframe]) -> None:
    claims_panel(finding)
    filmstrip(finding, keyframes)


def _predictions(finding: Finding) -> dict[float, dict]:
    try:
        rows = json.loads(finding.keyframe_predictions) if finding.keyframe_predictions else []
        return {row["time_s"]: row for row in rows if isinstance(row, dict) and "time_s" in row}
    except (ValueError, TypeError):
        return {}


def _clip_time(finding: Finding) -> float | None:
    """The time of the keyframe the clip's prediction is (the predictions' tightest 90 % region)."""
    rows = [r for r in _predictions(finding).values() if isinstance(r.get("radius90_km"), (int, float))]
    return min(rows, key=lambda r: r["radius90_km"])["time_s"] if rows else None
