"""Pixel forensics (#37) on the pages: the Verify card's section, a reopened finding's, and Batch's option.

Each check is shown with its measure, what it means and its limits in plain words (the records' own
``meaning``), the error-level and noise views beside the photo, the copy-move pairs drawn as paired
outlines on it and the double-compression map laid over it. The pictures are made in the isolated worker
(``geoloc_core.evidence.pixel_forensics.figures``); this module only lays them out.

Every string that came from the file is hostile: the quantisation check's note carries the EXIF Make and
Model, an error carries the decoder's words. They reach the page only through ``ui.plaintext`` (escaped
HTML tables, ``markdown_literal``); captions and labels here are geoloc's own words."""
from __future__ import annotations

import streamlit as st

from geoloc_core.case.findings import Finding
from geoloc_core.case.pixel_findings import (CHECK_TABLE_HEADER, ERROR_LABELS, FIGURE_CAPTIONS, SECONDS_PER_12MP,
                                             check_table_rows, clone_pairs, fill_pixel_fields, summary_rows)
from geoloc_core.evidence.filefacts import sha256_hex
from ui import resources
from ui.plaintext import markdown_literal, text_table_html

BATCH_LABEL = f"Pixel forensics (slow: about {SECONDS_PER_12MP} s per 12 MP photo)"
BATCH_HELP = ("Also run the pixel checks on every file: JPEG quantisation tables, double compression, error levels, "
              "noise residual and copy-move. Their numbers go to the table and the exports (jpeg_quality_estimate, "
              "quant_table_match, double_compression, clone_regions, clone_boxes, pixel_checks_flagged); open a row "
              "for the views. Verify always runs them on its one photo.")
INTRO = ("**Pixel forensics** — what the pixels say about editing. Each check gives a measure and what it can and "
         "cannot show; a flag is a place to look closer, never proof of an edit, and no flag is no proof of none.")
_MEMO = "_pixel_figures"  # SHA-256 -> figures of a kept original, made once per session
_MEMO_KEPT = 4  # figures of a 12 MP photo are about 5 MB of PNG


def batch_option() -> bool:
    """Batch's labelled switch: the checks cost seconds per photo, so they run only when asked for."""
    return st.checkbox(BATCH_LABEL, value=False, key="batch_pixel_forensics", help=BATCH_HELP)


def verify_figures(finding: Finding, data: bytes):
    """Run the checks on Verify's one photo in the isolated worker, fill the finding's pixel fields (before
    it is saved) and return the figures for the card. Never raises: a failure is the finding's message."""
    from geoloc_core.case.pixel_findings import not_run
    from geoloc_core.case.verification import NOT_AN_IMAGE
    from geoloc_core.evidence.filefacts import describe_type
    from geoloc_core.evidence.pixel_forensics import pixel_figures_isolated

    if finding.verdict == NOT_AN_IMAGE or not data:
        not_run(finding, "not a picture")
        return None
    if finding.media_kind == "video":  # the checks read one JPEG's tables and pixels, not a clip's frames
        not_run(finding, f"a video ({describe_type(finding.file_type)}): the pixel checks read photos")
        return None
    figures = pixel_figures_isolated(data, finding.camera_make or "", finding.camera_model or "",
                                     worker=resources.parser_worker())
    fill_pixel_fields(finding, figures.forensics)
    return figures


def reopened_figures(finding: Finding, data: bytes | None):
    """The figures of a reopened finding, made again from its kept original (once per session), or None when
    the checks were not run on it or its original is not kept."""
    from geoloc_core.evidence.pixel_forensics import pixel_figures_isolated

    if not finding.pixel_forensics or data is None or finding.pixel_forensics.startswith("n/a"):
        return None
    memo = st.session_state.setdefault(_MEMO, {})
    key = sha256_hex(data)
    if key not in memo:
        while len(memo) >= _MEMO_KEPT:
            memo.pop(next(iter(memo)))
        memo[key] = pixel_figures_isolated(data, finding.camera_make or "", finding.camera_model or "",
                                           worker=resources.parser_worker())
    return memo[key]


def pixel_section(finding: Finding, figures=None, kept: bool = True) -> None:
    """The card's "Pixel forensics" section: the pictures side by side, then one row per check."""
    st.markdown(INTRO)
    if not finding.pixel_forensics:
        st.caption("Pixel forensics were not run on this file. Open it in Verify, or tick the Pixel forensics "
                   "option in Batch, to run them.")
        return
    status, _, line = finding.pixel_forensics.partition(": ")
    show = {"warn": st.warning, "error": st.error}.get(status, st.info)
    show(markdown_literal(f"Pixel forensics: {line}"))
    if figures is None:
        if summary_rows(finding):
            st.html(text_table_html(summary_rows(finding)))
        if not finding.pixel_forensics.startswith(("n/a", "error")):
            st.caption("The views are made from the original file: " + (
                "it is kept, but they could not be made now." if kept else "it was not kept with this finding."))
        return
    _pictures(figures)
    found = figures.forensics
    if found.double_compression is not None and not figures.overlay:
        st.caption("No double-compression map to lay over the photo: the check found no earlier compression "
                   "(or the file is not a JPEG).")
    rows = check_table_rows(found)  # the notes carry EXIF Make/Model: escaped HTML cells only
    if rows:
        st.html(text_table_html(rows, header=CHECK_TABLE_HEADER))
    pairs = clone_pairs(finding)
    if pairs:
        st.html(text_table_html([(str(n), _box(p["source"]), _box(p["target"]), str(p.get("matches") or ""))
                                 for n, p in enumerate(pairs, 1)],
                                header=["copy-move pair", "one region (left, top, right, bottom px)",
                                        "the other region", "keypoint matches"]))
    for name, message in found.errors.items():
        st.warning(markdown_literal(f"{ERROR_LABELS.get(name, 'The file')}: {message}"))


def _pictures(figures) -> None:
    shown = [(key, getattr(figures, key)) for key in ("outlined", "error_level", "noise", "overlay")
             if getattr(figures, key)]
    if not shown:
        return
    for column, (key, picture) in zip(st.columns(len(shown)), shown):
        with column:
            st.image(picture, caption=FIGURE_CAPTIONS[key], width="stretch", alt=FIGURE_CAPTIONS[key])


def _box(box: list) -> str:
    return ", ".join(str(int(v)) for v in box)
