"""The limits one video may cost, so a hostile or merely huge clip ends with a message, not a hang.

Why budgets inside the reader as well as the worker's deadline and memory cap: the worker's
deadline kills the call and loses everything found so far; a budget stops early and keeps the
keyframes already found, saying what was left unscanned.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

DEADLINE_SHARE = 0.6  # of the worker's deadline for the scan; the rest opens the file, probes it and sends the result


@dataclass(frozen=True)
class VideoBudget:
    """Every limit of ``reading.read_video``. Defaults fit a minute of 1080p at 60 fps."""

    max_keyframes: int = 12  # the cap N of the filmstrip and of the model's inputs per clip
    max_frames_decoded: int = 3600  # a scene scan decodes every frame; beyond this, I-frames are sampled
    max_pixels_per_frame: int = 8192 * 4320  # 8K; a larger header is refused before any decode
    max_duration_s: float = 600.0  # the longest stretch a scene scan reads; longer clips are sampled
    max_seconds: float = 12.0  # wall-clock for the scan: DEADLINE_SHARE of the worker's default 20 s (within_deadline)
    max_packets: int = 200_000  # demuxed packets in one scan (millions of tiny frames)
    max_streams: int = 64  # a header listing thousands of streams is refused
    keyframe_side: int = 1024  # a keyframe's long side in pixels (the models crop far smaller)
    scene_threshold: float = 0.35  # histogram distance (0..1) that counts as a cut; see keyframes.py
    decode_frames: bool = True  # False: the container's claims and telemetry only (scan --metadata-only, #35)


def within_deadline(deadline_s: float | None, budget: VideoBudget | None = None) -> VideoBudget:
    """``budget`` with its wall-clock limit at ``DEADLINE_SHARE`` of the worker's deadline (``scan --timeout``).

    Why it follows the deadline: a fixed 12 s budget under a 5 s ``--timeout`` lets the worker kill the read
    first, losing every keyframe found; under a 60 s one, it stops a long clip's scan for no reason."""
    budget = budget or VideoBudget()
    if deadline_s is None or not deadline_s > 0:
        return budget
    return replace(budget, max_seconds=DEADLINE_SHARE * float(deadline_s))
