"""A finding reopened: the full result card, map, every check, the image when kept, the complete tag
dump, the history of analyses of the same file, and the analyst's own assessment."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from geoloc_core.case.log.caselog import ANALYST_VERDICTS, CaseLog
from geoloc_core.case.duplicates import hashes_of, similar
from geoloc_core.case.log.history import HistoryItem, history_rows
from geoloc_core.case.findings import Finding, for_people
from geoloc_core.case.verification import NOT_AN_IMAGE
from geoloc_core.evidence.filefacts import sha256_hex
from geoloc_core.evidence.imaging import preview_png
from geoloc_core.evidence.isolation import IsolatedCallError
from geoloc_core.evidence.tagdump import tag_dump
from ui import analyst_pin, filmstrip, pixel_views, resources
from ui.plaintext import markdown_literal, plain_text
from ui.views import checks_panel, model_typical_km, result_card, show_map


def case_item(log: CaseLog, case_id: int, finding: Finding) -> HistoryItem | None:
    """The case log's history of this file (same SHA-256), to reopen a Batch row with it."""
    if not finding.sha256:
        return None
    analyses = [s for s in log.findings(case_id) if s.finding.sha256 == finding.sha256]
    return HistoryItem(analyses) if analyses else None


def kept_original(finding: Finding) -> bytes | None:
    log = resources.current_case_log()
    return resources.evidence_of(log).get(finding.sha256) if finding.sha256 else None


_DECODED = "_detail_decoded"  # (what, SHA-256) -> result: decoded once per session, not on every rerun
_DECODED_KEPT = 32  # results kept per session (previews are bounded PNGs, tag lists a few thousand rows)


def _once(what: str, data: bytes, decode):
    """``decode(data)``'s result, remembered per session by the bytes' SHA-256. Every widget change reruns the
    page, and each rerun decoded the original again in the isolated worker (#32: 1.5 s a run of the 7.3 s an
    assessment took to save); the same bytes give the same preview and tags."""
    memo = st.session_state.setdefault(_DECODED, {})
    key = (what, sha256_hex(data))
    if key not in memo:
        while len(memo) >= _DECODED_KEPT:
            memo.pop(next(iter(memo)))
        memo[key] = decode(data)
    return memo[key]


def kept_preview(data: bytes) -> tuple[bytes | None, str]:
    """(a bounded PNG of the kept original, "") or (None, why not). A kept original is file bytes like an
    upload: decoded in the isolated worker, under the analysis's pixel limit, never here (#31: a kept
    13000 x 13000 PNG took the server from 1,072 to 3,010 MiB when its finding was opened)."""
    def decode(data: bytes) -> tuple[bytes | None, str]:
        try:
            return resources.parser_worker().call(preview_png, data), ""
        except IsolatedCallError as exc:
            return None, for_people(str(exc)) or "the image could not be decoded"

    return _once("preview", data, decode)


def tag_table(data: bytes | None, key: str) -> None:
    """Every tag, grouped like ``exiftool -a -G1`` (parsed in the isolated worker)."""
    st.markdown("**All metadata tags** (grouped like `exiftool -a -G1`)")
    if data is None:
        st.caption("The original file was not kept, so its tags cannot be listed again. Switch on 'Keep a copy of "
                   "each original file' in the sidebar to keep originals with future findings.")
        return
    def decode(data: bytes) -> list | None:
        try:
            return resources.parser_worker().call(tag_dump, data)
        except IsolatedCallError:
            return None

    rows = _once("tags", data, decode)
    if rows is None:
        st.warning("The file's tags could not be read: the parser gave up on this file.")
        return
    import pandas as pd  # pandas and folium load at first use, not on a cold start's first page (#32)

    frame = pd.DataFrame(rows, columns=["group", "tag", "value"])
    groups = ", ".join(f"{g} ({n})" for g, n in frame["group"].value_counts(sort=False).items())
    st.caption(f"{len(frame):,} tags: {markdown_literal(groups)}" if len(frame) else "No tags found.")
    st.dataframe(frame, hide_index=True, width="stretch", key=f"{key}_tags")


_SAVED = "_assessment_saved"  # the finding id whose assessment was just saved, confirmed once beside its form


def _save_assessment(log: CaseLog, item: HistoryItem, key: str) -> None:
    """The Save button's callback: runs before the page's one rerun, so that rerun already shows what was saved
    (#32: the button saved, then ``st.rerun()`` ran the whole page a second time, maps, previews and report
    included: 7.3 s, and the rerun wiped the "saved" line, so nothing confirmed it)."""
    from ui.reporting import analyst_name

    latest = item.latest
    log.set_assessment(item.ids, st.session_state[f"{key}_verdict_{latest.id}"],
                       st.session_state[f"{key}_tags_{latest.id}"], st.session_state[f"{key}_note_{latest.id}"],
                       analyst_name())
    st.session_state[_SAVED] = latest.id


def assessment_form(log: CaseLog, item: HistoryItem, key: str) -> None:
    """The analyst's own verdict, tags and note; kept in the case log, exported as their own columns."""
    latest = item.latest
    st.markdown("**Your assessment** (kept in the case log; exported as analyst_verdict, analyst_tags, note)")
    labels = {"": "not assessed", "confirmed": "confirmed", "refuted": "refuted", "unresolved": "unresolved"}
    c1, c2 = st.columns([1, 2])
    c1.selectbox("Your verdict", ANALYST_VERDICTS, format_func=labels.get, key=f"{key}_verdict_{latest.id}",
                 index=ANALYST_VERDICTS.index(latest.finding.analyst_verdict)
                 if latest.finding.analyst_verdict in ANALYST_VERDICTS else 0)
    c2.text_input("Tags (comma-separated)", value=latest.finding.analyst_tags, key=f"{key}_tags_{latest.id}")
    st.text_area("Note", value=latest.note, key=f"{key}_note_{latest.id}")
    st.button("Save assessment", key=f"{key}_save_{latest.id}", on_click=_save_assessment, args=(log, item, key))
    if st.session_state.get(_SAVED) == latest.id:
        del st.session_state[_SAVED]
        count = len(item.ids)
        words = f"Assessment saved to the case log ({count} analys{'es' if count != 1 else 'is'} of this file)."
        st.success(words)  # own text: a count
        st.toast(words, icon=":material/check_circle:")  # own text: a count


def history_table(item: HistoryItem, key: str) -> None:
    import pandas as pd

    count = len(item.analyses)
    st.markdown(f"**History** ({count:d} analys{'es' if count != 1 else 'is'} of this file, same SHA-256)")
    st.dataframe(pd.DataFrame(history_rows(item)), hide_index=True, width="stretch", key=f"{key}_history",
                 column_config={"distance (km)": st.column_config.NumberColumn(format="%.1f")})


def finding_detail(finding: Finding, settings, key: str, item: HistoryItem | None = None,
                   log: CaseLog | None = None, data: bytes | None = None) -> None:
    st.subheader("Finding")
    st.text(plain_text(Path(finding.file).name))
    finding = analyst_pin.with_logged_point(finding, item)
    data = data if data is not None else kept_original(finding)
    image_column, card_column = st.columns([1, 3])
    keyframes, why_not = filmstrip.keyframes_of(data) if data is not None and filmstrip.is_video(finding) else ([], "")
    with image_column:
        if data is not None and filmstrip.is_video(finding):  # a video: its keyframes, not a preview (#34)
            filmstrip.poster(finding, keyframes, why_not)
        elif data is not None:
            preview, why_not = kept_preview(data)
            if preview is not None:
                st.image(preview, width="stretch",
                         caption=f"The kept original (EXIF orientation applied); SHA-256 {finding.sha256}",
                         alt=f"The kept original of {Path(finding.file).name}")
            elif finding.verdict == NOT_AN_IMAGE:  # the banner already says so
                st.caption(f"No preview: {markdown_literal(why_not)}")
            else:
                st.warning(f"No preview: {markdown_literal(why_not)}")
        else:
            st.caption(f"{'Video' if filmstrip.is_video(finding) else 'Image'} not kept with this finding.")
    with card_column:
        loaded = model_typical_km(settings.analysis) if settings.analysis.model_path else None
        same_model = bool(finding.model) and resources.predictor(settings.analysis.model_path).description == \
            finding.model if settings.analysis.model_path else False
        result_card(finding, None, loaded if same_model else None)
        checks_panel(finding)
    if filmstrip.is_video(finding):
        filmstrip.video_section(finding, keyframes)
    pixel_views.pixel_section(finding, pixel_views.reopened_figures(finding, data), kept=data is not None)  # #37
    if finding.exif_lat is not None or finding.pred_lat is not None or finding.analyst_point_lat is not None:
        from geoloc_core.case.maps.finding_maps import finding_map

        show_map(finding_map(finding, settings.analysis.online_tiles), key=f"{key}_map", clicks=item is not None)
        copy_coordinates(finding)
    if item is not None and log is not None:
        analyst_pin.pin_form(settings, finding, item.ids, f"{key}_pin_{item.latest.id}", f"{key}_map")
        assessment_form(log, item, key)
        history_table(item, key)
    seen_before(finding, settings.case_id, key)
    with st.expander("All metadata tags"):
        tag_table(data, key)


def seen_before(finding: Finding, case_id: int, key: str) -> None:
    """Near-duplicates of this image in every case of the case log (perceptual hash)."""
    if not finding.phash:
        st.caption("No perceptual hash for this file (not an image, or too small or flat), so it cannot be "
                   "compared.")
        return
    if not st.button("Have we seen this before?", key=f"{key}_seen",
                     help="Searches every case in this case log for near-duplicates (perceptual hash), "
                          "including re-encoded, resized or re-shared copies."):
        return
    log = resources.current_case_log()
    names = {case: name for case, name, _ in log.cases()}
    stored = [s for s in log.findings(None) if not (s.case_id == case_id and s.finding.sha256 == finding.sha256)]
    hits = similar(hashes_of(finding), [s.finding for s in stored])  # a video: any keyframe (#34)
    if not hits:
        st.info("Not seen before: no near-duplicate in any case of this case log.")
        return
    rows = [{"case": names.get(stored[i].case_id, ""), "file": Path(stored[i].finding.file).name,
             "saved (UTC)": stored[i].created_at, "bits different (of 64)": bits,
             "same file (SHA-256)": stored[i].finding.sha256 == finding.sha256,
             "verdict": stored[i].finding.verdict, "EXIF country": stored[i].finding.exif_country or ""}
            for i, bits in hits]
    st.caption(f"Seen before: {len(rows):,} near-duplicate(s) across {len({r['case'] for r in rows}):,} case(s).")
    import pandas as pd

    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key=f"{key}_seen_table")


def copy_coordinates(finding: Finding) -> None:
    """Coordinates to paste elsewhere, decimal and DMS; each code box has a copy button."""
    from geoloc_core.case.maps.map_context import decimal_text, dms_text

    points = [(label, lat, lon) for label, lat, lon in (("EXIF GPS", finding.exif_lat, finding.exif_lon),
                                                        ("Predicted", finding.pred_lat, finding.pred_lon))
              if lat is not None]
    if not points:
        return
    st.markdown("**Copy coordinates** (decimal degrees, then degrees-minutes-seconds)")
    for column, (label, lat, lon) in zip(st.columns(len(points)), points):
        with column:
            st.caption(label)  # own text: "EXIF GPS" or "Predicted"
            st.code(decimal_text(lat, lon), language=None)
            st.code(dms_text(lat, lon), language=None)
