"""A video's telemetry track (#34) as the exports draw it: a finding's stored JSON read back, defensively.

Its own module because the exports need only this from the video pipeline: importing ``case/video_media``
for it made every scan's command import the video readers and their numpy, PIL and exifread chain before
its parser processes could start (#35's start-up)."""
from __future__ import annotations

import json

from ..findings import Finding


def track_coordinates(finding: Finding) -> list[list[float]]:
    """The telemetry track as [[lon, lat], ...] (GeoJSON order), or [] when there is none or it is unreadable."""
    try:
        points = json.loads(finding.telemetry_track) if finding.telemetry_track else []
    except ValueError:
        return []
    if not isinstance(points, list):
        return []
    kept = [[float(p[0]), float(p[1])] for p in points if isinstance(p, list) and len(p) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p)
            and -180 <= p[0] <= 180 and -90 <= p[1] <= 90]
    return kept if len(kept) >= 2 else []
