"""Which frames of a clip to look at: scene changes, or I-frames spread evenly when a full scan
would cost more than the budget.

Scene changes: every decoded frame is sampled at about 64 x 36 points and described by a colour
histogram (16 bins per channel, ``colour_histogram``); a frame whose histogram differs from the previous frame's by more than
``scene_threshold`` (half the L1 distance, averaged over channels: 0 same colours, 1 disjoint) starts
a new scene. Why histograms: they ignore motion inside a shot (a pan keeps its colours) but jump
at a cut, which is what an analyst wants one picture of, and cost microseconds on a 64 x 36
frame. The first frame always counts; beyond the cap N, the N - 1 strongest cuts are kept.

I-frames evenly spread: N seeks to evenly spaced times, each decoding the I-frame at or before
it, so a ten-hour stream costs N decodes, not ten hours.
"""
from __future__ import annotations

import heapq
import io
import time
from dataclasses import dataclass

import numpy as np

from ..forensic_facts import _phash_of_grey  # the pHash photos get: keyframes and photos compare alike
from ..information import pixel_spread, too_little_information
from .budget import VideoBudget

_HIST_SIZE = (64, 36)
_BINS = 16
_YUV_WEIGHTS = (0.5, 0.25, 0.25)
_PLANAR_YUV = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv440p", "yuvj440p"})
JPEG_QUALITY = 90


class VideoBudgetError(ValueError):
    """A frame or header beyond the budget: refused before it is decoded."""


@dataclass
class Keyframe:
    """One frame chosen for the filmstrip and the model(s)."""

    time_s: float  # from the clip's start
    image: bytes  # JPEG, upright (Rotation applied), long side <= VideoBudget.keyframe_side
    width: int
    height: int
    reason: str  # "first frame", "scene change" or "I-frame"
    score: float = 1.0  # the histogram distance to the frame before (1.0 for the first frame and I-frames)
    too_little: str | None = None  # why the frame carries no location (a black fade-in): shown, not predicted
    phash: str = ""  # perceptual hash, as a photo's (empty when ``too_little``)


@dataclass
class ScanResult:
    keyframes: list[Keyframe]
    frames_decoded: int = 0
    bad_packets: int = 0
    notes: list[str] | None = None


def colour_histogram(frame) -> np.ndarray:
    """A frame's normalised 3 x 16-bin colour histogram from about 64 x 36 samples.

    Planar 8-bit YUV (what nearly every camera and phone writes) is sampled in place, a grid of points
    of each plane (Y, U, V: a colour histogram in the decoder's own colour space): converting and shrinking
    to RGB cost 1.6 ms a 1080p frame, more than decoding it (1.0 ms), and the sampling 0.3 ms
    (benchmarks/bench_video.py). Other pixel formats are shrunk to RGB by FFmpeg.

    Each channel's histogram is weighted (``_YUV_WEIGHTS``, thirds for RGB) so that half the L1 distance
    is the weighted mean of the channels' distances. Luma weighs half: a cut from a white scene to a black
    one changes Y alone (U and V stay neutral), and with thirds it scored 0.33, under the threshold."""
    if frame.format.name in _PLANAR_YUV:
        counts = []
        for plane in frame.planes[:3]:
            rows, stride, width = plane.height, plane.line_size, plane.width
            pixels = np.frombuffer(plane, np.uint8, count=rows * stride).reshape(rows, stride)
            sampled = pixels[::max(1, rows // _HIST_SIZE[1]), :width:max(1, width // _HIST_SIZE[0])]
            counts.append(np.bincount((sampled >> 4).ravel(), minlength=_BINS) / sampled.size)
        return np.concatenate([c * w for c, w in zip(counts, _YUV_WEIGHTS)])
    small = frame.to_ndarray(format="rgb24", width=_HIST_SIZE[0], height=_HIST_SIZE[1])
    bins = (small >> 4).reshape(-1, 3).astype(np.intp) + np.arange(3) * _BINS
    return np.bincount(bins.ravel(), minlength=3 * _BINS) / (3 * small.shape[0] * small.shape[1])


def histogram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """0 (same colours) .. 1 (no colour in common): the channels' distances, weighted as ``colour_histogram`` says."""
    return float(np.abs(a - b).sum() / 2.0)


def _check_pixels(frame, budget: VideoBudget) -> None:
    if frame.width * frame.height > budget.max_pixels_per_frame:
        raise VideoBudgetError(f"a frame of {frame.width} x {frame.height} = {frame.width * frame.height / 1e6:.0f} Mpx "
                               f"exceeds the {budget.max_pixels_per_frame / 1e6:.0f} Mpx limit per frame")


def frame_to_keyframe(frame, rotation: int, budget: VideoBudget, reason: str, score: float, start_s: float) -> Keyframe:
    """An upright JPEG of ``frame`` at most ``keyframe_side`` on its long side. ``rotation`` is exiftool's
    Rotation (clockwise degrees)."""
    side = max(frame.width, frame.height)
    scale = min(1.0, budget.keyframe_side / side)
    width, height = max(2, round(frame.width * scale)), max(2, round(frame.height * scale))
    image = frame.to_image(width=width, height=height) if scale < 1 else frame.to_image()
    if rotation:
        image = image.rotate(-rotation, expand=True)  # PIL turns counter-clockwise
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=JPEG_QUALITY)
    too_little = too_little_information(frame.width, frame.height, pixel_spread(image))
    return Keyframe(time_s=_frame_time(frame, start_s), image=out.getvalue(), width=image.width, height=image.height,
                    reason=reason, score=score, too_little=too_little,
                    phash="" if too_little else str(_phash_of_grey(image.convert("L"))))


def _frame_time(frame, start_s: float) -> float:
    t = frame.time
    return round(max(0.0, (t if t is not None else 0.0) - start_s), 6)


def scene_keyframes(container, stream, budget: VideoBudget, rotation: int, deadline: float,
                    start_s: float) -> ScanResult:
    """Decode every frame (within the budgets) and keep the first frame and the strongest cuts."""
    result = ScanResult([], notes=[])
    kept: list[tuple[float, int, Keyframe]] = []  # min-heap of the strongest cuts: (score, order, keyframe)
    first: Keyframe | None = None
    previous = None
    packets = 0
    try:
        for packet in container.demux(stream):
            packets += 1
            if packets > budget.max_packets:
                result.notes.append(f"scan stopped after {budget.max_packets:,} packets (budget)")
                break
            try:
                frames = packet.decode()
            except Exception:  # corrupt NAL units and the like: count, go on with the next packet
                result.bad_packets += 1
                continue
            stop = None
            for frame in frames:
                _check_pixels(frame, budget)
                result.frames_decoded += 1
                t = _frame_time(frame, start_s)
                histogram = colour_histogram(frame)
                if first is None:
                    first = frame_to_keyframe(frame, rotation, budget, "first frame", 1.0, start_s)
                else:
                    score = histogram_distance(previous, histogram)
                    if score > budget.scene_threshold and (len(kept) < budget.max_keyframes - 1 or score > kept[0][0]):
                        keyframe = frame_to_keyframe(frame, rotation, budget, "scene change", score, start_s)
                        entry = (score, result.frames_decoded, keyframe)
                        if len(kept) < budget.max_keyframes - 1:
                            heapq.heappush(kept, entry)
                        else:
                            heapq.heapreplace(kept, entry)
                previous = histogram
                if result.frames_decoded >= budget.max_frames_decoded:
                    stop = f"scan stopped at {t:.1f} s after decoding {budget.max_frames_decoded:,} frames (budget)"
                elif t > budget.max_duration_s:
                    stop = f"scan stopped at {budget.max_duration_s:g} s of the clip (budget)"
                elif time.monotonic() > deadline:
                    stop = f"scan stopped at {t:.1f} s of the clip after {budget.max_seconds:g} s (time budget)"
                if stop:
                    break
            if stop:
                result.notes.append(stop)
                break
    except VideoBudgetError:
        raise
    except Exception as exc:  # the demuxer gave up part-way: keep what was found, say where
        result.notes.append(f"the container could not be read past frame {result.frames_decoded:,} "
                            f"({type(exc).__name__}: {str(exc)[:100]})")
    if first is not None:
        result.keyframes = [first] + sorted((k for _, _, k in kept), key=lambda k: k.time_s)
    return result


def sampled_keyframes(container, stream, budget: VideoBudget, rotation: int, deadline: float, start_s: float,
                      duration_s: float) -> ScanResult:
    """The I-frame at or before each of N evenly spaced times (seeks, so the clip's length costs nothing)."""
    result = ScanResult([], notes=[])
    container.streams.video[0].codec_context.skip_frame = "NONKEY"
    seen: set[float] = set()
    n = budget.max_keyframes
    for i in range(n):
        if time.monotonic() > deadline:
            result.notes.append(f"I-frame sampling stopped after {len(result.keyframes)} of {n} (time budget)")
            break
        target = start_s + duration_s * i / n
        try:
            container.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
            frame = None
            for packet in container.demux(stream):
                try:
                    decoded = packet.decode()
                except Exception:
                    result.bad_packets += 1
                    decoded = []
                if decoded:
                    frame = decoded[0]
                    break
                if packet.size == 0:
                    break
        except Exception:  # this seek failed; the others may not
            result.bad_packets += 1
            continue
        if frame is None:
            continue
        _check_pixels(frame, budget)
        result.frames_decoded += 1
        keyframe = frame_to_keyframe(frame, rotation, budget, "I-frame", 1.0, start_s)
        if keyframe.time_s not in seen:
            seen.add(keyframe.time_s)
            result.keyframes.append(keyframe)
    result.keyframes.sort(key=lambda k: k.time_s)
    return result
