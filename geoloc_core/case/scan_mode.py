"""The two depths of a scan (#35): ``full`` and ``metadata-only``.

Why a metadata-only mode: the first pass over a leaked archive or a seized phone dump wants what the
metadata says (hash, type, EXIF/IPTC/XMP, places, the metadata checks) at exiftool's speed; the pixel
decode (truncation check, perceptual hash, pixel spread, thumbnail comparison) and the model are most of a
full scan's time. A metadata-only row has the full row's columns; the ones only pixels can fill are
empty, and ``mode`` says which pass made it, so nobody reads an empty ``phash`` as "no picture".
"""
from __future__ import annotations

from dataclasses import fields

from .findings import Finding

FULL = "full"
METADATA_ONLY = "metadata-only"
MODES = (FULL, METADATA_ONLY)

# Filled from the decoded pixels (or the model) in a full scan; empty in a metadata-only row. The
# summaries that depend on them (status, message, the verdicts, checks_flagged) can differ too: a truncated
# file is an error in a full scan and an ordinary row in a metadata-only one, whose pixels nobody read; a flat
# image is "too flat to predict" in a full scan and "no model" in a metadata-only one.
PIXEL_COLUMNS = ("phash", "check_thumbnail", "pixels_from",
                 # a video's keyframes are decoded frames (#34); its container claims are metadata
                 "keyframes", "keyframe_method", "keyframe_times", "keyframe_predictions", "keyframe_phashes",
                 "clip_prediction_from")
# Files a metadata-only scan inspects ahead of the rows it has finished. A full scan keeps a few in flight
# (their decoded pixels are big); a metadata-only result is a few KB, and the parsers, started before the
# geocoder has loaded (0.3 s of the scan process), can inspect a small folder whole in that time instead of
# waiting after the first few files (#35).
METADATA_ONLY_WINDOW = 512
# A metadata-only scan of up to this many files runs one parser process, more only beyond it. One parser
# inspects about 1,400 such files a second once started (0.7 CPU-ms each), so it has read 500 files in the
# ~0.4 s the scan process needs for its imports and geocoder; a second parser's start (0.1 CPU-s) then only
# competes with that load on a small machine. Measured on the 2-core VM: 200 files, the same wall time and
# 0.1 CPU-s less with one parser; 2,000 files, 2.1 s with two against 2.9 s with one (#35).
METADATA_ONLY_ONE_PARSER_FILES = 500


def parsers_at_start(metadata_only: bool) -> int | None:
    """Parser processes a scan starts with (None: all of the pool); see ``more_parsers``."""
    return 1 if metadata_only else None


def more_parsers(metadata_only: bool, files: int) -> bool:
    """Whether a scan started with ``parsers_at_start`` wants the rest of its pool for ``files`` files."""
    return not metadata_only or files > METADATA_ONLY_ONE_PARSER_FILES


PIXEL_DEPENDENT_COLUMNS = PIXEL_COLUMNS + ("checks_flagged", "status", "message", "verdict", "verdict_reason",
                                          "claim_pred_verdict", "claim_pred_reason")


def blank_pixel_columns(finding: Finding) -> None:
    """A metadata-only row: the pixel columns empty (a thumbnail check that never compared must not say
    "no embedded thumbnail"), the flagged count over the checks that ran."""
    for name in PIXEL_COLUMNS:
        setattr(finding, name, _EMPTY[name])
    finding.checks_flagged = sum(str(getattr(finding, name)).startswith("warn:") for name in _CHECK_COLUMNS)


_EMPTY = {f.name: f.default for f in fields(Finding)}  # "" for text, None for numbers
_CHECK_COLUMNS = tuple(name for name in Finding.columns() if name.startswith("check_"))
