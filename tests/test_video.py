"""Video evidence (#34): container claims as exiftool reads them, keyframes at the cuts of clips the
tests write with PyAV, the budgets, and the hostile videos, each with its own message."""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from fractions import Fraction

import pytest
from PIL import Image

from geoloc_core.evidence.isolation import IsolatedWorker
from geoloc_core.evidence.video import VideoBudget, parse_iso6709, read_video, read_video_at
from geoloc_core.evidence.video.claims import parse_capture_time
from geoloc_core.evidence.video.formats import detect_transport_stream
from geoloc_core.evidence.video.telemetry import parse_dji_srt
from tests.hostile_corpus import video_items
from tests.videogen import cut_clip

RATE = 25
FRAME_S = 1 / RATE
APPLE_TAGS = {"com.apple.quicktime.location.ISO6709": "-33.8568+151.2153+012.500/",
              "com.apple.quicktime.creationdate": "2024-05-01T08:20:30-0400",
              "com.apple.quicktime.make": "Apple", "com.apple.quicktime.model": "iPhone 15 Pro",
              "com.apple.quicktime.software": "17.4"}


def exiftool(path) -> dict:
    if shutil.which("exiftool") is None:
        pytest.fail("exiftool is required (make test installs it)")
    return json.loads(subprocess.run(["exiftool", "-n", "-json", str(path)], capture_output=True, text=True,
                                     check=True).stdout)[0]


@pytest.mark.parametrize("fmt,codec", [("mp4", "libx264"), ("matroska", "libx264"), ("avi", "mpeg4"),
                                       ("mpegts", "libx264"), ("webm", "libvpx-vp9"), ("asf", "wmv2"),
                                       ("3gp", "libx264"), ("mov", "mpeg4")])
def test_keyframes_are_found_at_the_cuts_within_one_frame(fmt, codec):
    cuts = [10, 37, 61]
    reading = read_video(cut_clip(cuts, 80, fmt=fmt, codec=codec, rate=RATE))
    assert reading.error is None, reading.error
    assert reading.keyframe_method == "scene changes"
    times = [k.time_s for k in reading.keyframes]
    assert len(times) == 1 + len(cuts), times
    for found, expected in zip(times, [0] + [c / RATE for c in cuts]):
        assert abs(found - expected) <= FRAME_S + 1e-6, (times, cuts)
    assert [k.reason for k in reading.keyframes] == ["first frame"] + ["scene change"] * len(cuts)
    first = Image.open(__import__("io").BytesIO(reading.keyframes[1].image))
    assert first.format == "JPEG" and first.size == (64, 48)
    assert max(first.getpixel((60, 24))) > 150  # the second scene's colour (green), not the first's


def test_the_cap_keeps_the_first_frame_and_the_strongest_cuts():
    cuts = [5, 10, 15, 20, 25, 30, 35]
    reading = read_video(cut_clip(cuts, 40, rate=RATE), VideoBudget(max_keyframes=3))
    assert len(reading.keyframes) == 3
    assert reading.keyframes[0].time_s == 0 and reading.keyframes[0].reason == "first frame"
    scores = sorted((k.score for k in read_video(cut_clip(cuts, 40, rate=RATE)).keyframes[1:]), reverse=True)
    assert sorted(k.score for k in reading.keyframes[1:]) == sorted(scores[:2])


def test_a_clip_beyond_the_frame_budget_gets_iframes_spread_evenly():
    reading = read_video(cut_clip([], 200, rate=RATE, stream_options={"g": "10"}),
                         VideoBudget(max_frames_decoded=50, max_keyframes=5))
    assert reading.keyframe_method == "I-frames spread evenly"
    assert "I-frames spread evenly" in reading.notes[0]
    times = [k.time_s for k in reading.keyframes]
    assert times == sorted(times) and len(times) == 5
    assert [round(t, 2) for t in times] == [0.0, 1.6, 3.2, 4.8, 6.4]  # 8 s / 5, each on an I-frame (every 10th)
    assert all(k.reason == "I-frame" for k in reading.keyframes)


def test_apple_claims_read_as_exiftool_reads_them(tmp_path):
    path = tmp_path / "phone.mov"
    path.write_bytes(cut_clip([5], 10, fmt="mov", rotation=90, metadata=APPLE_TAGS, rate=RATE))
    claims = read_video_at(str(path)).claims
    tool = exiftool(path)
    assert (claims.GPSLatitude, claims.GPSLongitude, claims.GPSAltitude_m) == pytest.approx(
        (tool["GPSLatitude"], tool["GPSLongitude"], tool["GPSAltitude"]), abs=1e-9)
    assert claims.datetime_with_offset.replace("-", ":", 2).replace("T", " ") == tool["CreationDate"]
    assert claims.CreateDate_source == "com.apple.quicktime.creationdate"
    assert (claims.Make, claims.Model, claims.Software) == (tool["Make"], tool["Model"], str(tool["Software"]))
    assert claims.Rotation == tool["Rotation"] == 270
    assert (claims.ImageWidth, claims.ImageHeight) == (tool["ImageWidth"], tool["ImageHeight"])
    assert claims.VideoFrameRate == pytest.approx(tool["VideoFrameRate"])
    assert claims.Duration_s == pytest.approx(tool["Duration"], abs=0.01)


def test_rotation_makes_the_keyframes_upright(tmp_path):
    reading = read_video(cut_clip([5], 10, fmt="mov", rotation=90, rate=RATE))
    assert reading.claims.Rotation == 270
    assert {(k.width, k.height) for k in reading.keyframes} == {(48, 64)}  # 64 x 48 stored, shown portrait


def test_android_location_and_utc_creation_time_read_as_exiftool_reads_them(tmp_path):
    path = tmp_path / "android.mp4"
    path.write_bytes(cut_clip([5], 10, fmt="mp4", rate=RATE, metadata={
        "location": "+48.8584+002.2945/", "creation_time": "2024-05-01T10:20:30.000000Z"}))
    claims, tool = read_video_at(str(path)).claims, exiftool(path)
    assert (claims.GPSLatitude, claims.GPSLongitude) == pytest.approx((tool["GPSLatitude"], tool["GPSLongitude"]),
                                                                      abs=2e-5)  # exiftool: 'loci' box, 16.16 fixed point
    assert claims.location_source == "location"
    assert claims.CreateDate.replace("-", ":", 2).replace("T", " ") == tool["CreateDate"]  # QuickTime: UTC
    assert claims.CreateDate_offset == "+00:00"


def test_matroska_date_read_as_exiftool_reads_it(tmp_path):
    path = tmp_path / "clip.mkv"
    path.write_bytes(cut_clip([5], 10, fmt="matroska", rate=RATE, metadata={"creation_time": "2024-05-01T10:20:30Z"}))
    claims, tool = read_video_at(str(path)).claims, exiftool(path)
    assert claims.datetime_with_offset.replace("-", ":", 2).replace("T", " ").replace("+00:00", "Z") == \
        tool["DateTimeOriginal"]
    assert (claims.ImageWidth, claims.ImageHeight, claims.VideoFrameRate) == (
        tool["ImageWidth"], tool["ImageHeight"], tool["VideoFrameRate"])


def test_avi_date_read_as_exiftool_reads_it_a_local_time_without_offset(tmp_path):
    path = tmp_path / "clip.avi"
    path.write_bytes(cut_clip([5], 10, fmt="avi", codec="mpeg4", rate=RATE, metadata={"date": "2024-05-01 12:20:30"}))
    claims, tool = read_video_at(str(path)).claims, exiftool(path)
    assert claims.CreateDate.replace("-", ":", 2).replace("T", " ") == tool["DateCreated"]  # RIFF ICRD
    assert claims.CreateDate_offset is None and claims.CreateDate_source == "date"


@pytest.mark.parametrize("text,expected", [
    ("+48.8584+002.2945/", (48.8584, 2.2945, None)),
    ("-33.8568+151.2153+012.500/", (-33.8568, 151.2153, 12.5)),
    ("+4851.504+00217.670/", (48.8584, 2.29450, None)),  # DDMM.MMM
    ("+485130.24-0733015.6/", (48 + 51 / 60 + 30.24 / 3600, -(73 + 30 / 60 + 15.6 / 3600), None)),  # DDMMSS
    ("+40.6892-074.0445+010.000CRSWGS_84/", (40.6892, -74.0445, 10.0)),
])
def test_iso6709_forms(text, expected):
    lat, lon, alt = parse_iso6709(text)
    assert (lat, lon) == pytest.approx(expected[:2], abs=1e-4)
    assert alt == expected[2]


@pytest.mark.parametrize("text", ["", "48.8584,2.2945", "+95.0+010.0/", "+10.0+190.0/", "<script>/"])
def test_iso6709_refuses_garbage_and_out_of_range(text):
    with pytest.raises(ValueError):
        parse_iso6709(text)


def test_a_bad_location_or_time_tag_is_a_warning_naming_the_tag():
    reading = read_video(cut_clip([5], 10, fmt="mp4", rate=RATE, metadata={
        "location": "+00.0000+000.0000/", "creation_time": "1904-01-01T00:00:00Z"}))
    assert reading.error is None and reading.claims.GPSLatitude is None and reading.claims.CreateDate is None
    assert any("location in location is 0, 0" in w for w in reading.claims.warnings)
    assert any("capture time in creation_time unreadable" in w for w in reading.claims.warnings)


def test_capture_time_forms():
    assert parse_capture_time("2024-05-01T12:20:30+0200") == ("2024-05-01T12:20:30", "+02:00")
    assert parse_capture_time("2024:05:01 12:20:30-04:00") == ("2024-05-01T12:20:30", "-04:00")
    assert parse_capture_time("WED MAY 01 12:20:30 2024") == ("2024-05-01T12:20:30", None)  # AVI IDIT


def test_transport_stream_is_recognised_by_its_sync_bytes():
    assert detect_transport_stream(cut_clip([], 5, fmt="mpegts")) == "ts"
    assert detect_transport_stream(b"G" + bytes(1000)) is None


def test_dji_srt_both_forms():
    new = ("1\n00:00:00,000 --> 00:00:00,033\n<font size=\"28\">FrameCnt: 1 [latitude: 22.543100] "
           "[longitude: 113.958200] [rel_alt: 50.0 abs_alt: 80.100]</font>\n\n"
           "2\n00:00:00,033 --> 00:00:00,066\n[latitude: 22.543200] [longitude: 113.958300] [abs_alt: 80.2]\n\n"
           "3\n00:00:00,066 --> 00:00:00,100\n[latitude: 0.0] [longitude: 0.0]\n")
    points = parse_dji_srt(new)
    assert [(p.time_s, p.lat, p.lon, p.altitude_m) for p in points] == [
        (0.0, 22.5431, 113.9582, 80.1), (0.033, 22.5432, 113.9583, 80.2)]  # 0, 0 is no fix
    old = "1\n00:00:01,000 --> 00:00:02,000\nHOME(113.9,22.5) D=5.0m H=2.0m\nGPS(113.9581,22.5433,19)\n"
    assert [(p.lat, p.lon, p.altitude_m) for p in parse_dji_srt(old)] == [(22.5433, 113.9581, 19.0)]


@pytest.fixture(scope="module")
def hostile_videos():
    return video_items()


def test_each_hostile_video_gives_its_own_message_in_the_isolated_worker(hostile_videos, tmp_path):
    with IsolatedWorker() as worker:
        for name, (data, expected) in hostile_videos.items():
            path = tmp_path / name
            path.write_bytes(data)
            started = time.monotonic()
            reading = worker.call(read_video_at, str(path))
            assert time.monotonic() - started < VideoBudget().max_seconds + 5, name
            said = " | ".join(filter(None, [reading.error] + reading.notes))
            assert expected is not None and expected in said, (name, said)
        good = tmp_path / "good.mp4"
        good.write_bytes(cut_clip([10], 20))
        assert worker.call(read_video_at, str(good)).error is None  # the worker still serves after them all


def test_a_cut_that_changes_only_brightness_is_found():
    """White to black keeps U and V neutral: with the three YUV channels weighted alike this scored 0.33
    and was missed (the benchmark's 25 s and 55 s cuts); luma weighs half."""
    import numpy as np

    from tests.videogen import write_video

    frames = [np.full((48, 64, 3), 240 if i < 12 else 20, np.uint8) for i in range(24)]
    reading = read_video(write_video(frames, rate=RATE))
    assert [k.time_s for k in reading.keyframes] == [0.0, pytest.approx(12 / RATE)]
