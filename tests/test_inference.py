from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import piexif
import pytest
from PIL import Image

from geoloc_core.model.inference import ModelLoadError, Predictor, configured_model
from tests.imagegen import gps_exif, image_bytes

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def predictor(tiny_model_dir):
    return Predictor.from_pretrained(tiny_model_dir, batch_size=4)


def _images(n: int) -> list[Image.Image]:
    return [Image.effect_noise((48 + 7 * i, 40), 40 + i).convert("RGB") for i in range(n)]


def test_predictions_are_valid_and_batching_does_not_change_them(predictor, tiny_model_dir):
    images = _images(7)
    batched = predictor.predict(images)
    single = Predictor.from_pretrained(tiny_model_dir, batch_size=1).predict(images)
    assert len(batched) == 7
    for a, b in zip(batched, single):
        assert a.lat == pytest.approx(b.lat, abs=1e-4) and a.lon == pytest.approx(b.lon, abs=1e-4)
        assert -90 <= a.lat <= 90 and -180 <= a.lon < 180
        assert 0 < a.radius50_km < a.radius90_km
        assert len(a.candidates) == 3 and sum(c.weight for c in a.candidates) == pytest.approx(1, abs=1e-5)
        assert a.candidates[0].weight >= a.candidates[1].weight >= a.candidates[2].weight
    assert "calibrated uncertainty" in predictor.description


def test_paths_are_oriented_by_exif(predictor, tmp_path):
    upright = Image.effect_noise((64, 40), 50).convert("RGB")
    stored_sideways = upright.transpose(Image.Transpose.ROTATE_90)  # what a camera writes with Orientation 6
    path = tmp_path / "sideways.jpg"
    stored_sideways.save(path, "JPEG", quality=100, exif=piexif.dump({"0th": {piexif.ImageIFD.Orientation: 6}}))
    upright_path = tmp_path / "upright.jpg"
    upright.save(upright_path, "JPEG", quality=100)
    from_sideways, from_upright = predictor.predict([path, upright_path])
    not_oriented = predictor.predict([Image.open(path).convert("RGB")])[0]
    assert abs(from_sideways.lat - from_upright.lat) < abs(not_oriented.lat - from_upright.lat) + 1e-9


def test_bad_model_folders_say_what_is_wrong(tmp_path, tiny_backbone_dir):
    with pytest.raises(ModelLoadError, match="model folder not found.*training/README.md"):
        Predictor.from_pretrained(tmp_path / "nope")
    (tmp_path / "file.bin").write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="is a file"):
        Predictor.from_pretrained(tmp_path / "file.bin")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="no config.json"):
        Predictor.from_pretrained(tmp_path / "empty")
    with pytest.raises(ModelLoadError, match="'clip_vision_model' model, not a geoloc model"):
        Predictor.from_pretrained(tiny_backbone_dir)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        Predictor.from_pretrained(broken)
    (broken / "config.json").write_text(json.dumps({"model_type": "geolocator"}))
    with pytest.raises(ModelLoadError, match="no .safetensors"):
        Predictor.from_pretrained(broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ModelLoadError, match="could not load"):
        Predictor.from_pretrained(broken)


def test_model_choice_flag_then_environment(monkeypatch):
    monkeypatch.delenv("GEOLOC_MODEL", raising=False)
    assert configured_model(None) is None
    monkeypatch.setenv("GEOLOC_MODEL", "/models/a")
    assert configured_model(None) == "/models/a" and configured_model("/models/b") == "/models/b"


def test_scan_cli_fills_prediction_columns(tiny_model_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "rome.jpg").write_bytes(image_bytes(exif=gps_exif(41.8902, 12.4922)))
    (folder / "stripped.png").write_bytes(image_bytes("PNG"))
    (folder / "bad.jpg").write_bytes(b"not an image")
    out = tmp_path / "out.csv"
    env = {**os.environ, "GEOLOC_MODEL": str(tiny_model_dir)}
    result = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(folder), "--out", str(out),
                             "--no-progress"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = {Path(r["file"]).name: r for r in csv.DictReader(out.open())}
    rome = rows["rome.jpg"]
    assert rome["pred_lat"] and rome["pred_lon"] and float(rome["pred_radius_km"]) > 0
    assert float(rome["distance_km"]) >= 0 and rome["band"] and rome["verdict"] in (
        "inconclusive", "consistent", "plausible", "unlikely", "contradicts")  # the untrained model: inconclusive
    assert rows["stripped.png"]["verdict"] == "cannot verify: no EXIF GPS" and rows["stripped.png"]["pred_lat"]
    assert rows["bad.jpg"]["verdict"] == "cannot verify: not an image" and rows["bad.jpg"]["pred_lat"] == ""


def test_scan_cli_refuses_a_bad_model_with_advice(tmp_path):
    result = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(tmp_path), "--out",
                             str(tmp_path / "o.csv"), "--model", str(tmp_path / "missing")],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 2 and "model folder not found" in result.stderr and "Traceback" not in result.stderr
