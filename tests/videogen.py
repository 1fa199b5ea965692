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


def _escape_emulation(rbsp: bytes) -> bytes:
    """H.264's emulation prevention: 00 00 followed by 00..03 gets a 03 between."""
    out, zeros = bytearray(), 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def mdpm_sei(records: list[tuple[int, bytes]]) -> bytes:
    """An Annex B SEI NAL unit holding AVCHD's MDPM user data: ``records`` as (tag, 4 bytes)."""
    payload = bytes.fromhex("17ee8c60f84d11d98cd60800200c9a66") + b"MDPM" + bytes([len(records)])
    payload += b"".join(bytes([tag]) + value for tag, value in records)
    size = len(payload)
    header = b"\x05" + b"\xff" * (size // 255) + bytes([size % 255])
    return b"\x00\x00\x00\x01\x06" + _escape_emulation(header + payload + b"\x80")


def mdpm_date(year: int, month: int, day: int, hour: int, minute: int, second: int, zone: int) -> list:
    """The two MDPM records (0x18, 0x19) of a date, ``zone`` the raw time-zone byte (see evidence/video/avchd.py)."""
    def bcd(n: int) -> int:
        return (n // 10) << 4 | n % 10
    return [(0x18, bytes([zone, bcd(year // 100), bcd(year % 100), bcd(month)])),
            (0x19, bytes([bcd(day), bcd(hour), bcd(minute), bcd(second)]))]


def avchd_clip(sei: bytes, frames: int = 20, m2ts: bool = True) -> bytes:
    """An H.264 MPEG-TS (192-byte M2TS packets when ``m2ts``) with ``sei`` (an Annex B NAL unit) before the
    first slice of every I-frame, as AVCHD camcorders write their MDPM."""
    out = io.BytesIO()
    with av.open(out, "w", format="mpegts", options={"mpegts_m2ts_mode": "1" if m2ts else "0"}) as container:
        stream = container.add_stream("libx264", rate=25, options={"g": "10"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"

        def mux(packets):
            for packet in packets:
                data = bytes(packet)
                if packet.is_keyframe:
                    at = _first_slice(data)
                    fresh = av.Packet(data[:at] + sei + data[at:])
                    fresh.pts, fresh.dts, fresh.time_base, fresh.stream = packet.pts, packet.dts, packet.time_base, stream
                    fresh.is_keyframe = True
                    packet = fresh
                container.mux(packet)
        for array in colour_frames([frames // 2], frames):
            mux(stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")))
        mux(stream.encode())
    return out.getvalue()


def _first_slice(data: bytes) -> int:
    """The offset of the start code of the first slice NAL unit (types 1 and 5) in Annex B ``data``."""
    at = data.find(b"\x00\x00\x01")
    while at != -1:
        if data[at + 3] & 0x1F in (1, 5):
            return at - 1 if at > 0 and data[at - 1] == 0 else at
        at = data.find(b"\x00\x00\x01", at + 3)
    return len(data)


def static_clip(frames: int, size=(1920, 1080)) -> bytes:
    """A Matroska MPEG-2 clip of ``frames`` identical frames, cheap to write (one I-frame, then one small P-frame
    muxed again and again) and slow to scan (every frame decoded at full size): a long read in a short test."""
    out = io.BytesIO()
    y, x = np.mgrid[0:size[1], 0:size[0]]
    array = np.stack([(x * 255 // size[0]).astype(np.uint8), (y * 255 // size[1]).astype(np.uint8),
                      np.full(x.shape, 90, np.uint8)], -1)
    with av.open(out, "w", format="matroska") as container:
        stream = container.add_stream("mpeg2video", rate=25, options={"g": "100000", "bf": "0"})
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        frame = av.VideoFrame.from_ndarray(array, format="rgb24").reformat(format="yuv420p")
        packets = []
        for index in range(3):
            frame.pts = index
            packets += list(stream.encode(frame))
        packets += list(stream.encode())
        first, repeat = bytes(packets[0]), bytes(packets[2])  # the I-frame; a P-frame of skipped blocks
        for index in range(frames):
            packet = av.Packet(first if index == 0 else repeat)
            packet.pts = packet.dts = index
            packet.time_base, packet.stream, packet.is_keyframe = Fraction(1, 25), stream, index == 0
            container.mux(packet)
    return out.getvalue()
