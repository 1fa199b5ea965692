"""One video's evidence in one call for the isolated worker: claims, keyframes, telemetry.

``read_video_at`` runs in ``isolation.IsolatedWorker`` (a hostile container may hang or exhaust
FFmpeg; the worker's deadline and memory cap stand behind this module's own budgets). It never
raises for a bad file: ``VideoReading.error`` says what is wrong, specifically.
"""
from __future__ import annotations

import io
import time
from dataclasses import dataclass, field

from ..filefacts import detect_type
from . import avchd
from .budget import VideoBudget
from .claims import ContainerClaims, read_container_claims
from .formats import ISO_BMFF_TYPES, StructureError, check_iso_bmff, detect_video_type
from .keyframes import Keyframe, VideoBudgetError, sampled_keyframes, scene_keyframes
from .telemetry import TrackPoint, read_subtitle_telemetry

_MAX_BAD_PACKET_SHARE = 0.5


@dataclass
class VideoReading:
    """Everything read from one video. ``error`` set: the file cannot be analysed as a video."""

    file_type: str = ""
    claims: ContainerClaims | None = None
    keyframes: list[Keyframe] = field(default_factory=list)
    keyframe_method: str = ""  # "scene changes" or "I-frames spread evenly"
    frames_decoded: int = 0
    track: list[TrackPoint] = field(default_factory=list)  # per-frame GPS (DJI SRT subtitles)
    notes: list[str] = field(default_factory=list)  # budgets reached, packets skipped: shown beside the file
    error: str | None = None


def read_video_at(path: str, budget: VideoBudget | None = None) -> VideoReading:
    """``read_video`` of the file at ``path`` (read here, in the worker: no copy through the pipe)."""
    with open(path, "rb") as handle:
        return read_video(handle.read(), budget)


def read_video(data: bytes, budget: VideoBudget | None = None) -> VideoReading:
    budget = budget or VideoBudget()
    deadline = time.monotonic() + budget.max_seconds
    reading = VideoReading(file_type=detect_video_type(data, detect_type(data)[0]) or "")
    if not reading.file_type:
        reading.error = "not a video container"
        return reading
    try:
        _read(data, budget, deadline, reading)
    except StructureError as exc:
        reading.error = str(exc)
    except VideoBudgetError as exc:
        reading.error = f"refused: {exc}"
    except MemoryError:
        reading.error = "ran out of memory while decoding the video (hostile or huge frames?)"
    except Exception as exc:  # FFmpeg's errors for hostile input take many forms
        reading.error = _describe_ffmpeg_error(reading.file_type, exc)
    if reading.error:
        reading.keyframes = []
    return reading


def _read(data: bytes, budget: VideoBudget, deadline: float, reading: VideoReading) -> None:
    import av  # here, so a scan of photos never loads FFmpeg

    if reading.file_type in ISO_BMFF_TYPES:
        check_iso_bmff(data)
    with _open(av, data) as container:  # the header, the claims and the telemetry
        stream = _video_stream(container, budget, reading)
        if stream is None:
            return
        rotation = _first_frame_rotation(container, stream)
        claims = read_container_claims(container, stream, rotation)
        reading.claims = claims
        reading.track = read_subtitle_telemetry(container, budget)
    if claims.CreateDate is None and claims.codec == "h264" and reading.file_type in ("ts", "m2ts"):
        with _open(av, data) as container:  # an AVCHD camcorder's time is in the H.264 stream itself
            _avchd_time(container, claims)
    if not budget.decode_frames:  # a metadata-only scan: no frame decoded, no keyframes (#35)
        return
    # The frames from a fresh open: seeking back to the start is unreliable in MPEG-TS and cut files.
    with _open(av, data) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_type = "AUTO"
        start_s = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        duration = claims.Duration_s
        rate = claims.VideoFrameRate or 30.0
        affordable = (duration is not None and duration * rate <= budget.max_frames_decoded
                      and duration <= budget.max_duration_s)
        if duration is None or affordable:
            scan = scene_keyframes(container, stream, budget, claims.Rotation, deadline, start_s)
            reading.keyframe_method = "scene changes"
        else:
            scan = sampled_keyframes(container, stream, budget, claims.Rotation, deadline, start_s, duration)
            reading.keyframe_method = "I-frames spread evenly"
            reading.notes.append(f"{duration:,.1f} s at {rate:g} fps is more than a scene scan decodes "
                                 f"({budget.max_frames_decoded:,} frames, {budget.max_duration_s:g} s): keyframes are "
                                 f"{budget.max_keyframes} I-frames spread evenly")
    reading.keyframes, reading.frames_decoded = scan.keyframes, scan.frames_decoded
    reading.notes.extend(scan.notes or [])
    if scan.bad_packets:
        reading.notes.append(f"{scan.bad_packets:,} packet(s) could not be decoded (corrupt video data)")
    if not reading.keyframes:
        if scan.bad_packets:
            reading.error = (f"corrupt {reading.file_type.upper()} video data: none of the frames decoded "
                             f"({scan.bad_packets:,} packets rejected by the {claims.codec} decoder)")
        else:
            reading.error = f"{reading.file_type.upper()} video stream without a decodable frame"
    elif scan.bad_packets > _MAX_BAD_PACKET_SHARE * max(1, scan.frames_decoded + scan.bad_packets):
        reading.notes.append("more than half of the packets are corrupt: the keyframes may show damage")


def _avchd_time(container, claims: ContainerClaims) -> None:
    found = avchd.read_mdpm_time(container, container.streams.video[0])
    if found is None:
        return
    claims.CreateDate, claims.CreateDate_offset, daylight = found
    claims.CreateDate_source = avchd.SOURCE
    if daylight:
        claims.warnings.append(f"{avchd.SOURCE}: the camera's daylight-saving flag is set; the written offset "
                               f"{claims.CreateDate_offset} may be its standard time zone, one hour behind the clock")


def _open(av, data: bytes):
    """The container, its text tags decoded leniently: PyAV decodes every tag strictly at open by default, so
    one tag of invalid UTF-8 (a hostile or merely old encoder) would cost the whole clip; the bad bytes are
    shown as U+FFFD instead."""
    return av.open(io.BytesIO(data), mode="r", options={"probesize": "5000000"}, metadata_errors="replace")


def _video_stream(container, budget: VideoBudget, reading: VideoReading):
    """The first video stream, its header checked against the budget; None (with ``reading.error``) when none."""
    if len(container.streams) > budget.max_streams:
        raise VideoBudgetError(f"the header lists {len(container.streams):,} streams (at most "
                               f"{budget.max_streams} are read)")
    if not container.streams.video:
        reading.error = f"{reading.file_type.upper()} container without a video stream"
        return None
    stream = container.streams.video[0]
    width, height = stream.codec_context.width, stream.codec_context.height
    if width * height > budget.max_pixels_per_frame:
        raise VideoBudgetError(f"the header declares {width} x {height} = {width * height / 1e6:.0f} Mpx frames, "
                               f"over the {budget.max_pixels_per_frame / 1e6:.0f} Mpx limit per frame")
    if not width or not height:
        raise StructureError(f"{reading.file_type.upper()} video stream without frame dimensions "
                             "(damaged header or codec parameters)")
    return stream


_ROTATION_PACKETS = 300


def _first_frame_rotation(container, stream) -> int:
    """FFmpeg's display rotation (counter-clockwise degrees) from the first frame decoded within the first
    ``_ROTATION_PACKETS`` packets (a stream whose frames never decode is not read to its end here); 0 when none."""
    try:
        for count, packet in enumerate(container.demux(stream)):
            if count >= _ROTATION_PACKETS:
                return 0
            try:
                frames = packet.decode()
            except Exception:
                continue
            if frames:
                return int(frames[0].rotation or 0)
    except Exception:
        return 0
    return 0


def _describe_ffmpeg_error(file_type: str, exc: Exception) -> str:
    text = str(exc)
    kind = file_type.upper()
    if "Invalid data" in text or "moov atom not found" in text:
        return f"damaged {kind} container: FFmpeg found no readable header or index"
    if "End of file" in text:
        return f"truncated {kind}: the file ends before its header does"
    return f"{kind} could not be read ({type(exc).__name__}: {text[:120]})"
