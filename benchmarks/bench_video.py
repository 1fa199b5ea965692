"""Video keyframes (issue #34): the cost of geoloc's keyframe extraction on a 1-minute 1080p clip, against
PyAV's bare decode of the same clip in the same run.

Run: python -m benchmarks.bench_video [--seconds 60] [--size 1920x1080] [--fps 30] [--repeats 3]

The clip is generated here (H.264, x264 ``ultrafast``, colour scenes cut every 5 s with a moving bar, so
inter frames are not all skips) and written once to a temporary file. Each repeat times, on that file:

- reference: ``av.open`` and decode every frame of the video stream (threads on, no conversion): the floor
  any frame-exact scene scan pays;
- geoloc: ``read_video`` (claims, scene-change keyframes with their histograms, JPEG keyframes), with the
  time budget lifted so the whole clip is scanned; and again with the default budget, which stops at
  ``VideoBudget.max_seconds`` on a slow machine and says so (the note is printed).

Ratios are geoloc / reference per repeat; the median and range of each are printed with the machine.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from benchmarks.machine import median_range, print_table
from geoloc_core.evidence.video import VideoBudget, read_video_at
from tests.videogen import COLOURS

SCENE_S = 5


def write_clip(path: Path, seconds: int, size: tuple[int, int], fps: int) -> int:
    """The benchmark clip at ``path``; returns its frame count."""
    width, height = size
    frames = seconds * fps
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        scenes = [av.VideoFrame.from_ndarray(np.full((height, width, 3), colour, np.uint8), format="rgb24")
                  .reformat(format="yuv420p").to_ndarray() for colour in COLOURS]  # built in YUV: no conversion
        for index in range(frames):
            picture = scenes[(index // (SCENE_S * fps)) % len(scenes)].copy()
            bar = (index * 8) % (width - 40)
            picture[:height, bar:bar + 40] //= 2  # the luma plane's rows
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="yuv420p")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return frames


def bare_decode(path: Path) -> int:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_type = "AUTO"
        return sum(1 for _ in container.decode(stream))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60, help="clip length in seconds (default 60)")
    parser.add_argument("--size", default="1920x1080", help="frame size (default 1920x1080)")
    parser.add_argument("--fps", type=int, default=30, help="frame rate (default 30)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each (default 3)")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="geoloc-bench-video-") as folder:
        path = Path(folder) / "clip.mp4"
        started = time.perf_counter()
        frames = write_clip(path, args.seconds, size, args.fps)
        made_s = time.perf_counter() - started
        whole = VideoBudget(max_seconds=3600, max_frames_decoded=max(frames, VideoBudget().max_frames_decoded))
        reference, geoloc, default, ratios = [], [], [], []
        notes: list[str] = []
        keyframes = 0
        for _ in range(args.repeats):
            started = time.perf_counter()
            decoded = bare_decode(path)
            reference.append(time.perf_counter() - started)
            started = time.perf_counter()
            reading = read_video_at(str(path), whole)
            geoloc.append(time.perf_counter() - started)
            ratios.append(geoloc[-1] / reference[-1])
            keyframes = len(reading.keyframes)
            started = time.perf_counter()
            notes = read_video_at(str(path), VideoBudget()).notes
            default.append(time.perf_counter() - started)
        assert decoded == frames and reading.error is None, (decoded, reading.error)
    print_table(f"Video keyframes: {args.seconds} s at {size[0]}x{size[1]}, {args.fps} fps ({frames:,} frames, "
                f"a cut every {SCENE_S} s), {args.repeats} repeats", [
        ("clip written in", f"{made_s:.1f} s"),
        ("reference: PyAV bare decode of every frame", median_range(reference, unit="s", digits=2)),
        ("geoloc read_video, whole clip", median_range(geoloc, unit="s", digits=2)),
        ("geoloc / reference (per repeat)", f"**{statistics.median(ratios):.2f}**; "
                                            + ", ".join(f"{r:.2f}" for r in ratios)),
        ("keyframes found (expected cuts + first frame)", f"{keyframes} ({args.seconds // SCENE_S})"),
        ("geoloc read_video, default budget", median_range(default, unit="s", digits=2)),
        ("default budget's note", "; ".join(notes) or "none: the whole clip within the budget"),
    ])


if __name__ == "__main__":
    main()
