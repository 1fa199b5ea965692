"""Video evidence: what a container claims, which frames to look at, and per-frame telemetry.

Read with PyAV (FFmpeg's libraries in a wheel), always inside the isolated parser worker
(``reading.read_video_at``), under the budgets of ``budget.VideoBudget``.
"""
from .budget import VideoBudget
from .claims import ContainerClaims, parse_iso6709
from .formats import VIDEO_TYPES, detect_video_type
from .keyframes import Keyframe
from .reading import VideoReading, read_video, read_video_at

__all__ = ["VIDEO_TYPES", "ContainerClaims", "Keyframe", "VideoBudget", "VideoReading", "detect_video_type",
           "parse_iso6709", "read_video", "read_video_at"]
