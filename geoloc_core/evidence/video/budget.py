"""The limits one video may cost, so a hostile or merely huge clip ends with a message, not a hang.

Why budgets inside the reader as well as the worker's deadline and memory cap: the worker's
deadline kills the call and loses everything found so far; a budget stops early and keeps the
keyframes already found, saying what was left unscanned.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VideoBudget:
    """Every limit of ``reading.read_video``. Defaults fit a minute of 1080p at 60 fps."""

    max_keyframes: int = 12  # the cap N of the filmstrip and of the model's inputs per clip
    max_frames_decoded: int = 3600  # a scene scan decodes every frame; beyond this, I-frames are sampled
    max_pixels_per_frame: int = 8192 * 4320  # 8K; a larger header is refused before any decode
    max_duration_s: float = 600.0  # the longest stretch a scene scan reads; longer clips are sampled
    max_seconds: float = 12.0  # wall-clock for the whole read: below the worker's 20 s deadline
    max_packets: int = 200_000  # demuxed packets in one scan (millions of tiny frames)
    max_streams: int = 64  # a header listing thousands of streams is refused
    keyframe_side: int = 1024  # a keyframe's long side in pixels (the models crop far smaller)
    scene_threshold: float = 0.35  # histogram distance (0..1) that counts as a cut; see keyframes.py
