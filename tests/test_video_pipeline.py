"""A video through the pipeline (#34): container claims in the EXIF-like fields, checks at the container's
time, each keyframe predicted and the clip's prediction chosen from them, `scan` rows, a zip of videos."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from geoloc_core.case.analyzer import Analyzer
from geoloc_core.case.verification import TOO_LITTLE_IMAGE
from geoloc_core.case.video_media import keyframe_rows
from geoloc_core.evidence.sources import FileSource, expand_uploads
from geoloc_core.model.prediction import Prediction
from tests.hostile_corpus import video_items
from tests.videogen import COLOURS, cut_clip

ROOT = Path(__file__).resolve().parents[1]
PARIS_MAY = {"com.apple.quicktime.location.ISO6709": "+48.8584+002.2945+035.000/",
             "com.apple.quicktime.creationdate": "2024-05-01T13:20:30+0200",
             "com.apple.quicktime.make": "Apple", "com.apple.quicktime.model": "iPhone 15"}
# where ColourPredictor puts each scene's colour, with its 90 % radius: the green scene is the surest
BY_COLOUR = {0: (48.86, 2.35, 100.0, 400.0), 1: (-33.87, 151.21, 10.0, 40.0), 2: (40.71, -74.0, 300.0, 900.0)}


class ColourPredictor:
    """Predicts from the picture's dominant colour (the scene of ``tests.videogen``), so each keyframe gets
    its own point and radii: the pipeline's combination, not a model's skill, is under test."""

    description = "colour test predictor"

    def __init__(self):
        self.calls = 0

    def predict(self, images):
        self.calls += 1
        out = []
        for image in images:
            pixel = image.convert("RGB").getpixel((image.width - 2, image.height // 2))
            scene = min(BY_COLOUR, key=lambda i: sum((a - b) ** 2 for a, b in zip(pixel, COLOURS[i])))
            lat, lon, r50, r90 = BY_COLOUR[scene]
            out.append(Prediction(lat, lon, r50, r90))
        return out


@pytest.fixture(scope="module")
def no_model(geocoder, worker):
    return Analyzer(geocoder=geocoder, worker=worker)


def test_a_video_is_a_media_item_with_its_claims_and_checks_at_the_container_time(no_model):
    finding = no_model.analyze(FileSource("phone.mov", data=cut_clip([10, 30], 50, fmt="mov", metadata=PARIS_MAY)))
    assert finding.status == "ok", finding.message
    assert (finding.media_kind, finding.file_type, finding.keyframes, finding.duration_s) == ("video", "mov", 3, 2.0)
    assert json.loads(finding.keyframe_times) == [0.0, 0.4, 1.2]
    assert (finding.exif_lat, finding.exif_lon, finding.exif_country_code) == (48.8584, 2.2945, "FR")
    assert finding.exif_datetime_original == "2024-05-01T13:20:30+02:00"
    assert (finding.camera_make, finding.camera_model) == ("Apple", "iPhone 15")
    assert finding.check_timezone.startswith("ok") and "+02:00" in finding.check_timezone
    assert finding.check_sun.startswith("ok") and "11:20 UTC" in finding.check_sun
    assert "not an image" not in finding.verdict_reason


def test_a_utc_only_container_time_feeds_the_sun_check_under_its_own_name(no_model):
    data = cut_clip([5], 10, fmt="mp4", metadata={"location": "+48.8584+002.2945/",
                                                   "creation_time": "2024-12-01T23:00:00.000000Z"})
    finding = no_model.analyze(FileSource("android.mp4", data=data))
    assert "creation_time (UTC)" in finding.check_sun and "GPS time" not in finding.check_sun
    assert finding.check_sun.startswith("warn")  # midnight in Paris: night
    assert not finding.check_timezone.startswith("warn")  # a UTC time says nothing about the local zone


def test_the_clip_prediction_is_the_keyframe_with_the_tightest_region(geocoder, worker):
    predictor = ColourPredictor()
    analyzer = Analyzer(geocoder=geocoder, worker=worker, predictor=predictor)
    finding = analyzer.analyze(FileSource("clip.mov", data=cut_clip([10, 30], 50, fmt="mov", metadata=PARIS_MAY)))
    per_keyframe = json.loads(finding.keyframe_predictions)
    assert [(k["time_s"], k["lat"], k["radius90_km"]) for k in per_keyframe] == [
        (0.0, 48.86, 400.0), (0.4, -33.87, 40.0), (1.2, 40.71, 900.0)]
    assert (finding.pred_lat, finding.pred_lon, finding.pred_radius_km) == (-33.87, 151.21, 40.0)
    assert finding.clip_prediction_from.startswith("keyframe at 0.40 s")
    assert finding.pred_country_code == "AU" and finding.verdict == "contradicts"  # Paris claimed, Sydney seen
    rows = keyframe_rows(finding, geocoder)
    assert [(r.media_kind, r.frame_time_s, r.parent_sha256, r.pred_country_code) for r in rows] == [
        ("keyframe", 0.0, finding.sha256, "FR"), ("keyframe", 0.4, finding.sha256, "AU"),
        ("keyframe", 1.2, finding.sha256, "US")]
    assert rows[0].verdict == "consistent" and rows[1].verdict == "contradicts"


def test_scan_with_a_tiny_model_gives_a_clip_verdict_and_keyframe_rows(tiny_model_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "clip.mov").write_bytes(cut_clip([10, 30], 50, fmt="mov", metadata=PARIS_MAY))
    (folder / "photo.jpg").write_bytes(_jpeg())
    out = tmp_path / "out.csv"
    result = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(folder), "--model", str(tiny_model_dir),
                             "--out", str(out), "--no-progress", "--keyframe-rows"], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    clip = next(r for r in rows if r["media_kind"] == "video")
    assert (clip["duration_s"], clip["keyframes"], clip["status"]) == ("2.0", "3", "ok")
    assert clip["pred_lat"] and clip["pred_radius_km"] and clip["verdict"] and clip["exif_country_code"] == "FR"
    keyframes = [r for r in rows if r["media_kind"] == "keyframe"]
    assert [float(r["frame_time_s"]) for r in keyframes] == [0.0, 0.4, 1.2]
    assert {r["parent_sha256"] for r in keyframes} == {clip["sha256"]}
    assert min(float(r["pred_radius_km"]) for r in keyframes) == float(clip["pred_radius_km"])
    assert next(r for r in rows if r["media_kind"] == "photo")["status"] == "ok"
    assert "2 files analysed" in result.stderr  # keyframe rows are rows, not files


def test_a_zip_of_hostile_videos_gives_each_its_row_and_the_good_ones_complete(no_model):
    items = {name: item for name, item in video_items().items() if name != "tiny_frames.mp4"}  # 2 MB of one frame
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("first.mp4", cut_clip([10], 20))
        for name, (data, _) in items.items():
            archive.writestr(name, data)
        archive.writestr("last.mov", cut_clip([5], 20, fmt="mov", metadata=PARIS_MAY))
    findings = {f.file.rsplit("/", 1)[-1]: f for f in no_model.analyze_stream(
        expand_uploads([("videos.zip", buffer.getvalue())]))}
    assert set(findings) == set(items) | {"first.mp4", "last.mov"}
    for name, (_, expected) in items.items():
        assert expected in findings[name].message, (name, findings[name].message)
    assert findings["first.mp4"].status == findings["last.mov"].status == "ok"
    assert findings["last.mov"].exif_country_code == "FR" and findings["last.mov"].keyframes == 2


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((96, 64), 60).convert("RGB").save(out, "JPEG")
    return out.getvalue()


def test_a_drone_clips_telemetry_is_a_track_in_geojson_and_kml(no_model):
    import xml.etree.ElementTree as ET

    from geoloc_core.case.exports.export import to_geojson
    from geoloc_core.case.exports.kml import to_kml
    from tests.videogen import drone_clip

    points = [(22.5431 + i * 0.0004, 113.9582 + i * 0.0003) for i in range(12)]
    finding = no_model.analyze(FileSource("DJI_0001.MKV", data=drone_clip(points)))
    assert finding.status == "ok", finding.message
    tracks = [f for f in json.loads(to_geojson([finding]))["features"] if f["properties"]["role"] == "track"]
    assert len(tracks) == 1 and tracks[0]["geometry"]["type"] == "LineString"
    expected = [v for lat, lon in points for v in (lon, lat)]
    assert [v for c in tracks[0]["geometry"]["coordinates"] for v in c] == pytest.approx(expected, abs=1e-7)
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    lines = ET.fromstring(to_kml([finding]).split("\n", 1)[1]).findall(".//k:Placemark", ns)
    track = next(p for p in lines if p.find("k:name", ns).text.startswith("Telemetry track"))
    coordinates = track.find(".//k:LineString/k:coordinates", ns).text.split()
    assert [float(v) for c in coordinates for v in c.split(",")] == pytest.approx(expected, abs=1e-7)


def test_a_tampered_track_in_a_record_is_dropped_not_exported():
    from geoloc_core.case.findings import Finding
    from geoloc_core.case.exports.telemetry_track import track_coordinates

    for bad in ('[[1, "x"], [2, 3]]', '{"a": 1}', "not json", "[[500, 1], [1, 1]]", "[[true, 1], [1, 1]]"):
        assert track_coordinates(Finding("f", telemetry_track=bad)) == []
    assert track_coordinates(Finding("f", telemetry_track="[[1, 2], [3, 4.5]]")) == [[1.0, 2.0], [3.0, 4.5]]


def test_reports_show_a_videos_keyframes_and_the_bundle_keeps_the_original(tmp_path):
    import base64
    import re

    folder = tmp_path / "in"
    folder.mkdir()
    data = cut_clip([10, 30], 50, fmt="mov", size=(160, 90), metadata=PARIS_MAY)
    (folder / "clip.mov").write_bytes(data)
    result = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(folder), "--out", str(tmp_path / "f.csv"),
                             "--report", str(tmp_path / "r.html"), "--report", str(tmp_path / "r.pdf"),
                             "--bundle", str(tmp_path / "b.zip"), "--no-progress"], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "No thumbnail" not in html
    thumb = Image.open(io.BytesIO(base64.b64decode(re.search(r'data:image/jpeg;base64,([^"]+)"', html).group(1))))
    assert thumb.width > thumb.height  # the keyframes side by side: red, green, blue
    third = thumb.width // 3
    assert [max(range(3), key=lambda c: thumb.getpixel((x, thumb.height // 2))[c])
            for x in (third // 2 + 20, third + third // 2 + 20, 2 * third + third // 2 + 20)] == [0, 1, 2]
    import hashlib

    with zipfile.ZipFile(tmp_path / "b.zip") as bundle:
        assert f"originals/{hashlib.sha256(data).hexdigest()}.mov" in bundle.namelist()


def test_a_second_witness_predicts_the_keyframes_too(geocoder, worker):
    class Fixed:
        description, kind = "fixed test predictor", "regressor"

        def predict(self, images):
            return [Prediction(48.85, 2.35, 5.0, 20.0) for _ in images]

    analyzer = Analyzer(geocoder=geocoder, worker=worker, predictor=Fixed(), second_predictor=ColourPredictor())
    finding = analyzer.analyze(FileSource("clip.mov", data=cut_clip([10, 30], 50, fmt="mov", metadata=PARIS_MAY)))
    assert (finding.pred_lat, finding.pred_radius_km, finding.verdict) == (48.85, 20.0, "consistent")
    assert (finding.second_lat, finding.second_radius_km, finding.second_country_code) == (-33.87, 40.0, "AU")
    assert finding.second_verdict == "contradicts" and finding.witnesses_distance_km > 16_000


def test_an_unreadable_video_with_a_model_is_named_as_a_video(geocoder, worker):
    data, _ = video_items()["noise_frames.mp4"]
    finding = Analyzer(geocoder=geocoder, worker=worker, predictor=ColourPredictor(),
                       second_predictor=ColourPredictor()).analyze(FileSource("noise.mp4", data=data))
    assert finding.status == "error" and "none of the frames decoded" in finding.message
    assert finding.verdict_reason == "the file could not be analysed as a video"
    assert finding.second_verdict_reason == "the file could not be analysed as a video"


def test_a_black_fade_in_is_shown_but_not_predicted_and_the_clip_hashes_its_first_real_frame(geocoder, worker):
    import numpy as np

    from tests.videogen import colour_frames, write_video

    frames = [np.zeros((48, 64, 3), np.uint8)] * 10 + list(colour_frames([], 15))
    predictor = ColourPredictor()
    finding = Analyzer(geocoder=geocoder, worker=worker, predictor=predictor).analyze(
        FileSource("fade.mp4", data=write_video(frames, rate=25)))
    assert json.loads(finding.keyframe_times) == [0.0, 0.4]  # the black first frame, then the cut to red
    assert [k["time_s"] for k in json.loads(finding.keyframe_predictions)] == [0.4]  # only the red one predicted
    assert finding.pred_lat == 48.86 and finding.phash  # red: Paris; hashed from the red frame


def test_a_clip_of_flat_frames_gets_no_prediction_and_says_why(geocoder, worker):
    import numpy as np

    from tests.videogen import write_video

    data = write_video([np.full((48, 64, 3), 90, np.uint8)] * 10, rate=25)
    finding = Analyzer(geocoder=geocoder, worker=worker, predictor=ColourPredictor()).analyze(
        FileSource("grey.mp4", data=data))
    assert finding.pred_lat is None and not finding.phash
    assert "no prediction: every keyframe is too flat" in finding.message
    assert finding.verdict == TOO_LITTLE_IMAGE and "every keyframe is too flat" in finding.verdict_reason
