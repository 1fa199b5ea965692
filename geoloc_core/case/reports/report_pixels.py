"""The "Pixel forensics" section of a file in the case report (issue #37): the numbers, each check's
meaning and limits, and the views as pictures.

Why the pictures are made again here: the finding keeps the numbers (the CSV row), not the pictures;
a report made from the case log or a scan redraws them from the original, which the report already
reads for its thumbnail (and only when it still hashes to the finding's SHA-256), in the same isolated
worker. Only findings that were analysed with pixel forensics get them: the checks cost seconds per
photo, and the analyst chose where they ran. The pictures are JPEGs of at most ``REPORT_SIDE`` pixels, so
a report of many files stays a file that mails.

Hostile text: the quantisation check's note carries the EXIF Make and Model, an error the decoder's
words; every cell goes through ``visible`` here and the format's own escaping in the writers (Jinja2
autoescape, fpdf2's text API)."""
from __future__ import annotations

from typing import Any

from ...evidence.isolation import IsolatedCallError
from ...evidence.visible_text import visible
from ..findings import Finding, for_people
from ..pixel_findings import (CHECK_TABLE_HEADER, ERROR_LABELS, FIGURE_CAPTIONS, check_table_rows, summary_rows)

REPORT_SIDE = 640
TABLE_WIDTHS = (0.15, 0.2, 0.27, 0.38)  # check, measure, result, meaning: the meaning is the longest
TITLE = "Pixel forensics (what the pixels say about editing: a place to look, not proof)"


def pixel_parts(finding: Finding, data: bytes | None, why_no_data: str, worker: Any):
    """(rows, table, figures) of the report's section for ``finding`` (``report_content`` makes the
    ``Section``), or None when the checks were not run on it. ``data`` is the intact original (None:
    ``why_no_data``); ``worker`` draws the views. Figures are (caption, JPEG bytes)."""
    if not finding.pixel_forensics:
        return None
    rows = [(label, visible(text)) for label, text in summary_rows(finding)]
    if finding.pixel_forensics.startswith(("n/a", "error")):
        return rows, None, []
    if data is None:
        return rows + [("Views", visible(f"not drawn: {why_no_data}"))], None, []
    figures = _figures(finding, data, worker)
    if isinstance(figures, str):
        return rows + [("Views", visible(f"not drawn: {figures}"))], None, []
    found = figures.forensics
    table = check_table_rows(found)
    rows += [(f"Could not run: {ERROR_LABELS.get(name, 'the file')}", visible(message))
             for name, message in found.errors.items()]
    pictures = [(FIGURE_CAPTIONS[key], getattr(figures, key))
                for key in ("outlined", "error_level", "noise", "overlay") if getattr(figures, key)]
    return rows, ([CHECK_TABLE_HEADER] + [[visible(cell) for cell in row] for row in table]) if table else None, pictures


def _figures(finding: Finding, data: bytes, worker: Any):
    """The figures (JPEG), drawn in ``worker`` under the checks' deadline, or why not (a sentence)."""
    from ...evidence.pixel_forensics import PIXEL_TIMEOUT_S
    from ...evidence.pixel_forensics.figures import pixel_figures

    try:
        figures = worker.call(pixel_figures, data, finding.camera_make or "", finding.camera_model or "",
                              REPORT_SIDE, "JPEG", timeout_s=PIXEL_TIMEOUT_S)
    except IsolatedCallError as exc:
        return for_people(f"the pixel checks stopped: {exc}")
    if "file" in figures.forensics.errors:
        return figures.forensics.errors["file"]
    return figures
