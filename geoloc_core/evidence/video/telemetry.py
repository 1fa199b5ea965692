"""Per-frame telemetry a video carries: DJI's SRT subtitle track, one GPS fix per frame.

DJI drones write lines such as ``[latitude: 22.543] [longitude: 113.958] [rel_alt: 50.0 abs_alt: 80.1]``
(newer firmware) or ``GPS(113.9580,22.5430,80)`` (older: longitude first) in a subtitle track
and in a sidecar ``.SRT``; ``parse_dji_srt`` reads both forms from the text of either.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_TIMING = re.compile(r"(\d+):(\d{2}):(\d{2})[,.](\d{3})\s*-->")
_NEW = re.compile(r"\[latitude\s*:\s*(-?\d+(?:\.\d+)?)\]\s*\[longitude\s*:\s*(-?\d+(?:\.\d+)?)\]", re.I)
_OLD = re.compile(r"GPS\s*\(\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*(?:,\s*(-?\d+(?:\.\d+)?))?\s*\)", re.I)
_ALT = re.compile(r"abs_alt\s*:\s*(-?\d+(?:\.\d+)?)", re.I)
MAX_TRACK_POINTS = 100_000


@dataclass
class TrackPoint:
    time_s: float
    lat: float
    lon: float
    altitude_m: float | None = None


def parse_dji_srt(text: str) -> list[TrackPoint]:
    """Track points from DJI SRT text, in time order; entries without a valid, non-zero fix are skipped."""
    points: list[TrackPoint] = []
    for block in re.split(r"\r?\n\s*\r?\n", text or ""):
        timing = _TIMING.search(block)
        fix = _NEW.search(block)
        alt = None
        if fix:
            lat, lon = float(fix.group(1)), float(fix.group(2))
            found = _ALT.search(block)
            alt = float(found.group(1)) if found else None
        else:
            fix = _OLD.search(block)
            if not fix:
                continue
            lon, lat = float(fix.group(1)), float(fix.group(2))
            alt = float(fix.group(3)) if fix.group(3) else None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
            continue
        t = 0.0
        if timing:
            h, m, s, ms = (int(g) for g in timing.groups())
            t = h * 3600 + m * 60 + s + ms / 1000
        points.append(TrackPoint(t, lat, lon, alt))
        if len(points) >= MAX_TRACK_POINTS:
            break
    return sorted(points, key=lambda p: p.time_s)


def read_subtitle_telemetry(container, budget) -> list[TrackPoint]:
    """GPS track points from the container's subtitle tracks (DJI embeds its SRT as one), or []."""
    streams = [s for s in container.streams if s.type == "subtitle"]
    if not streams:
        return []
    lines: list[str] = []
    try:
        for packet in container.demux(streams[0]):
            if packet.size == 0:
                continue
            text = bytes(packet).decode("utf-8", "replace")
            if packet.pts is not None and packet.time_base is not None:
                start = float(packet.pts * packet.time_base)
                h, rest = divmod(start, 3600)
                m, s = divmod(rest, 60)
                lines.append(f"{int(h):02d}:{int(m):02d}:{int(s):02d},{int(round((s % 1) * 1000)) % 1000:03d} -->\n{text}")
            if len(lines) >= budget.max_packets:
                break
    except Exception:  # a broken subtitle track costs only the track
        return []
    return parse_dji_srt("\n\n".join(lines))
