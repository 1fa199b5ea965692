"""Videos the tests write with PyAV: colour cuts at known frames, container metadata, rotation.

No checked-in binaries: every clip is made here, small (tens of kB), in well under a second.
"""
from __future__ import annotations

import io
import struct
from fractions import Fraction

import av
import numpy as np

COLOURS = [(220, 30, 30), (30, 200, 40), (30, 40, 220), (240, 220, 20), (240, 240, 240), (20, 20, 20)]


def colour_frames(cuts: list[int], total: int, size=(64, 48)):
    """``total`` RGB arrays; the colour changes at each frame index in ``cuts``, with a moving bar so
    frames inside a shot differ a little (as a pan would)."""
    width, height = size
    scene = 0
    for index in range(total):
        if index in cuts:
            scene += 1
        frame = np.empty((height, width, 3), np.uint8)
        frame[:] = COLOURS[scene % len(COLOURS)]
        bar = (index * 3) % max(1, width - 4)
        frame[:, bar:bar + 4] = np.array(COLOURS[scene % len(COLOURS)]) // 2
        yield frame


def write_video(frames, fmt: str = "mp4", codec: str = "libx264", rate: Fraction | int = 25, size=(64, 48),
                metadata: dict | None = None, rotation: int = 0, options: dict | None = None,
                stream_options: dict | None = None, pix_fmt: str = "yuv420p") -> bytes:
    """The bytes of a clip of ``frames`` (RGB arrays) in container ``fmt``. ``rotation``: FFmpeg's display
    rotation (counter-clockwise degrees; exiftool reads 90 as Rotation 270)."""
    out = io.BytesIO()
    opts = dict(options or {})
    if fmt in ("mp4", "mov", "3gp") and metadata:
        opts.setdefault("movflags", "use_metadata_tags")
    with av.open(out, "w", format=fmt, options=opts) as container:
        if metadata:
            container.metadata.update(metadata)
        stream = container.add_stream(codec, rate=rate, options=stream_options or {})
        stream.width, stream.height = size
        stream.pix_fmt = pix_fmt
        if rotation:
            stream.set_display_rotation(rotation)
        for array in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def cut_clip(cuts: list[int], total: int, **kw) -> bytes:
    """A clip whose colour changes exactly at the frames in ``cuts``."""
    size = kw.pop("size", (64, 48))
    return write_video(colour_frames(cuts, total, size), size=size, **kw)


def patch_matroska_size(data: bytes, width: int, height: int, old: int = 256) -> bytes:
    """Matroska's PixelWidth (0xB0) and PixelHeight (0xBA) elements rewritten from ``old`` (a two-byte value)
    to ``width`` x ``height``: a header declaring frames the bitstream never holds."""
    before = struct.pack(">H", old)
    for element, value in ((b"\xb0\x82", width), (b"\xba\x82", height)):
        at = data.index(element + before)
        data = data[:at] + element + struct.pack(">H", value) + data[at + 4:]
    return data


def dji_srt(points: list[tuple[float, float]], step_s: float = 0.1) -> str:
    """DJI-style SRT text: one entry per point, ``[latitude: ..] [longitude: ..]`` as newer firmware writes."""
    def stamp(t: float) -> str:
        ms = round(t * 1000)
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
    return "".join(f"{i + 1}\n{stamp(i * step_s)} --> {stamp((i + 1) * step_s)}\n<font size=\"28\">FrameCnt: {i + 1} "
                   f"[latitude: {lat:.6f}] [longitude: {lon:.6f}] [rel_alt: 5.0 abs_alt: 80.0]</font>\n\n"
                   for i, (lat, lon) in enumerate(points))


def drone_clip(points: list[tuple[float, float]], frames: int = 10) -> bytes:
    """A Matroska clip with its DJI SRT telemetry as a subtitle track (remuxed from FFmpeg's SRT demuxer,
    as PyAV cannot encode subtitles itself)."""
    out = io.BytesIO()
    with av.open(io.BytesIO(dji_srt(points).encode()), format="srt") as srt, av.open(out, "w", format="matroska") as c:
        video = c.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        subtitles = c.add_stream_from_template(srt.streams[0])
        for array in colour_frames([], frames):
            for packet in video.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                c.mux(packet)
        for packet in video.encode():
            c.mux(packet)
        for packet in srt.demux(srt.streams[0]):
            if packet.size:
                packet.stream = subtitles
                c.mux(packet)
    return out.getvalue()
