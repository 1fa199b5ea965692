"""Pixel forensics (issue #37) in a finding: the one path from the checks' record to the Finding's fields,
and from those fields to the words every view (banner, KML, report, card) uses.

Why the finding keeps numbers and not the record: the Finding is flat (it is the CSV row and the case
log's record), so it keeps what an analyst cites and filters on (the estimated quality, the table match,
double compression and its score, the clone pairs and their boxes, which checks flagged); the pictures
(error levels, noise residual, the map) are made again from the kept original when a view needs them
(``evidence/pixel_forensics/figures.py``), in the isolated worker.

Why "empty when not run": a file analysed without pixel forensics must never read as "checked, nothing
found", so every pixel field stays empty ("" or None, never 0 or False) until the checks ran, and
``pixel_forensics`` then says in one "status: line" cell (like the metadata checks' ``check_*``) that
they ran and what came of it: "ok", "warn", "n/a" (not a picture) or "error" (with the reason)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .findings import Finding

if TYPE_CHECKING:  # the checks load OpenCV: imported when they run, not with every banner (app start)
    from ..evidence.exif import ExifFacts
    from ..evidence.filefacts import FileFacts
    from ..evidence.pixel_forensics import PixelForensics

# What all five checks cost on one 12 MP photo as Verify, Batch and scan run them (in the isolated worker) on
# the 2-core VM: medians 10.9 and 11.6 s in two runs (benchmarks/README.md, "Pixel forensics"); the Batch
# option's label and ``scan --help`` say it.
SECONDS_PER_12MP = 11
NO_KNOWN_TABLE = "no known encoder"  # quant_table_match of a JPEG whose tables match no listed encoder
CHECK_COUNT = 5
# The checks as the banner and the card name them (the records' own ``name``s are the keys)
CHECK_LABELS = {"quantisation": "JPEG quantisation tables", "double compression": "double compression",
                "error levels": "error levels", "noise residual": "noise residual", "copy-move": "copy-move (clone)"}
# the keys of ``PixelForensics.errors`` (the checks' function names) as the card names them
ERROR_LABELS = {"quantisation": CHECK_LABELS["quantisation"], "double_compression": CHECK_LABELS["double compression"],
                "error_level": CHECK_LABELS["error levels"], "noise": CHECK_LABELS["noise residual"],
                "copy_move": CHECK_LABELS["copy-move"]}
# the fields this module fills: exports and tests list them from here
PIXEL_FIELDS = ("pixel_forensics", "pixel_checks_flagged", "jpeg_quality_estimate", "quant_table_match",
                "double_compression", "double_compression_score", "clone_regions", "clone_boxes")


def fill_pixel_fields(finding: Finding, pixels: "PixelForensics") -> None:
    """Set the finding's pixel fields from the checks' record. A check that did not run, or could not
    measure (not a JPEG, too small to search), leaves its fields empty; its failure goes to the message."""
    q = pixels.quantisation
    if q is not None and q.quality_estimate is not None:
        finding.jpeg_quality_estimate = int(q.quality_estimate)
        finding.quant_table_match = "; ".join(q.matches) or NO_KNOWN_TABLE
    d = pixels.double_compression
    if d is not None and d.measure is not None:
        finding.double_compression = bool(d.flagged)
        finding.double_compression_score = None if d.score is None else float(d.score)
    c = pixels.copy_move
    if c is not None and c.measure is not None:
        finding.clone_regions = c.count
        finding.clone_boxes = boxes_json(pixels)
    flagged = pixels.flagged_checks
    finding.pixel_checks_flagged = ", ".join(flagged)
    finding.pixel_forensics = status_cell(pixels)
    for name, message in pixels.errors.items():
        where = "" if name == "file" else f" ({ERROR_LABELS.get(name, name)})"
        finding.add_message(f"pixel forensics{where}: {message}")


def boxes_json(pixels: "PixelForensics") -> str:
    """The copy-move pairs as JSON: boxes (left, top, right, bottom) in pixels of the photo as shown."""
    pairs = pixels.copy_move.pairs if pixels.copy_move is not None else ()
    return json.dumps([{"source": list(p.source), "target": list(p.target), "matches": p.matches} for p in pairs])


def status_cell(pixels: "PixelForensics") -> str:
    """One "status: line" for the whole run."""
    if "file" in pixels.errors:
        return f"error: {pixels.errors['file']}"
    ran = len(pixels.checks())
    failed = [ERROR_LABELS.get(n, n) for n in pixels.errors]
    tail = f"; could not run: {', '.join(failed)}" if failed else ""
    flagged = [CHECK_LABELS.get(n, n) for n in pixels.flagged_checks]
    if flagged:
        return f"warn: flagged by {', '.join(flagged)} ({ran} of {CHECK_COUNT} checks ran){tail}"
    if not ran:
        return f"error: no pixel check could run{tail}"
    return f"ok: no pixel check flagged ({ran} of {CHECK_COUNT} checks ran){tail}"


def not_run(finding: Finding, why: str) -> None:
    """Pixel forensics were asked for but cannot apply to this file (not an image, unreadable): say so."""
    finding.pixel_forensics = f"n/a: {why}"


def skippable(earlier: dict[str, Finding], pixel_forensics: bool) -> dict[str, Finding]:
    """The earlier findings (by SHA-256) a batch may skip a file for: with pixel forensics asked for, only
    those made with them (a file analysed before without them is analysed again, not skipped)."""
    return {digest: f for digest, f in earlier.items() if f.pixel_forensics} if pixel_forensics else earlier


def clone_pairs(finding: Finding) -> list[dict]:
    """The finding's clone pairs as dicts with ``source`` and ``target`` boxes; [] when none or unreadable
    (a case log is a file too: a malformed value never raises)."""
    try:
        pairs = json.loads(finding.clone_boxes) if finding.clone_boxes else []
    except ValueError:
        return []
    good = []
    for pair in pairs if isinstance(pairs, list) else []:
        boxes = [pair.get(k) for k in ("source", "target")] if isinstance(pair, dict) else []
        if len(boxes) == 2 and all(isinstance(b, list) and len(b) == 4 and all(isinstance(v, (int, float)) for v in b)
                                   for b in boxes):
            good.append({"source": boxes[0], "target": boxes[1], "matches": pair.get("matches")})
    return good


def flagged_pixel_checks(finding: Finding) -> list[tuple[str, str]]:
    """(check, one-line summary) for every pixel check that flagged: the banner's pixel part."""
    found = []
    for name in (n.strip() for n in (finding.pixel_checks_flagged or "").split(",")):
        if name == "quantisation":
            match = (finding.quant_table_match or "").split("; ")[0]
            found.append((CHECK_LABELS[name], f"tables are {match or 'an editor’s'} while EXIF names a camera"))
        elif name == "double compression":
            score = finding.double_compression_score
            found.append((CHECK_LABELS[name], "compressed twice" + (f" (score {score:.2f})" if score is not None else "")))
        elif name == "copy-move":
            count = finding.clone_regions or len(clone_pairs(finding))
            found.append((CHECK_LABELS[name], f"{count} region pair{'s' if count != 1 else ''} copied within the picture"))
        elif name:
            found.append((CHECK_LABELS.get(name, name), "flagged"))
    return found


def summary_rows(finding: Finding) -> list[tuple[str, str]]:
    """The pixel fields as (label, text) rows, for the report, the card and the KML balloon; [] when the
    checks did not run."""
    if not finding.pixel_forensics:
        return []
    q, d, c = finding.jpeg_quality_estimate, finding.double_compression, finding.clone_regions
    rows = [("Pixel forensics", finding.pixel_forensics),
            ("JPEG quality (IJG-equivalent estimate)", "" if q is None else f"about {q}"),
            ("JPEG tables match", finding.quant_table_match),
            ("Double compression", "" if d is None else ("yes" if d else "no")
             + ("" if finding.double_compression_score is None else f" (score {finding.double_compression_score:.2f})")),
            ("Copy-move region pairs", "" if c is None else str(c))]
    for number, pair in enumerate(clone_pairs(finding), 1):
        rows.append((f"Copy-move pair {number}", f"{_box(pair['source'])} and {_box(pair['target'])}"
                     + (f" ({pair['matches']} matches)" if isinstance(pair.get("matches"), int) else "")))
    return [(label, text) for label, text in rows if text]


CHECK_TABLE_HEADER = ["check", "measure", "result", "what it means, and its limits"]
FIGURE_CAPTIONS = {
    "outlined": "The photo; copy-move pairs outlined, each pair in one colour and numbered alike",
    "error_level": "Error levels (resaved at quality 90, x20): compare like surfaces with like",
    "noise": "Noise residual (3 x 3 median, x10): grain should be even over an untouched photo",
    "overlay": "Double-compression map: red = compressed only once (a part pasted or changed after the first save)",
}


def check_table_rows(pixels: "PixelForensics") -> list[tuple[str, str, str, str]]:
    """One row per check that ran: its name, its measure, its result (with the check's note, which may
    carry EXIF Make/Model: hostile text for the caller to escape) and its meaning and limits."""
    rows = []
    for check in pixels.checks():
        measure = "" if check.measure is None else f"{check.measure_name}: {check.measure:g}"
        if check.score is None:
            result = "a view: it never flags"
        else:
            result = ("flagged" if check.flagged else "not flagged") + f" (score {check.score:.2f})"
        if check.note:
            result += f"; {check.note}"
        rows.append((CHECK_LABELS.get(check.name, check.name), measure, result, check.meaning))
    return rows


def _box(box: list) -> str:
    left, top, right, bottom = (int(v) for v in box)
    return f"x {left}-{right}, y {top}-{bottom} px"


def run_for_file(worker: Any, data: bytes, path: Path | None, facts: "FileFacts | None",
                 exif: "ExifFacts | None") -> "PixelForensics | str | None":
    """The Analyzer's pixel step for one inspected file, in ``worker`` under the checks' own deadline:
    the record, or why the checks do not apply (a sentence), or None when the file was not inspected.
    ``data`` is the file's bytes when the caller read them; otherwise the worker reads ``path`` and checks
    the bytes still hash to what was inspected."""
    from ..evidence.filefacts import SUPPORTED_IMAGE_TYPES, describe_type  # here: the scan's command imports
    from ..evidence.pixel_forensics import PIXEL_TIMEOUT_S, analyse_pixels_at, analyse_pixels_isolated  # this module

    if facts is None:
        return None
    if facts.file_type not in SUPPORTED_IMAGE_TYPES:
        return f"not a picture ({describe_type(facts.file_type)})"
    if facts.error:
        return "the file could not be read as a picture (see the notes)"
    make, model = ((exif.Make or ""), (exif.Model or "")) if exif is not None else ("", "")
    if data:
        return analyse_pixels_isolated(data, make, model, worker=worker)
    return analyse_pixels_at(str(path), facts.sha256, make, model, worker=worker, timeout_s=PIXEL_TIMEOUT_S)


def apply(finding: Finding, outcome: "PixelForensics | str | None") -> None:
    """``run_for_file``'s outcome into the finding (nothing when the step did not run)."""
    if isinstance(outcome, str):
        not_run(finding, outcome)
    elif outcome is not None:
        fill_pixel_fields(finding, outcome)
