"""training.evaluate: test images without a prediction count as misses (the default), reported; the
flattering convention only behind --drop-missing; the zero-shot predictor evaluates like the regressor."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from geoloc_core.learning.evaluation import evaluate_prediction_csv
from tests.imagegen import image_bytes

ROOT = Path(__file__).resolve().parents[1]
TRUTH = [("a.jpg", 48.85, 2.35), ("b.jpg", -33.87, 151.21), ("c.jpg", 40.71, -74.0), ("d.jpg", 35.68, 139.69)]


@pytest.fixture()
def test_set(tmp_path):
    for name, _, _ in TRUTH:
        (tmp_path / name).write_bytes(image_bytes(size=(40, 30)))
    with (tmp_path / "test.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "lat", "lon"])
        writer.writerows(TRUTH)
    with (tmp_path / "half.csv").open("w", newline="") as handle:  # a peer that predicts half the set, perfectly
        writer = csv.writer(handle)
        writer.writerow(["file", "pred_lat", "pred_lon"])
        writer.writerows(TRUTH[:2])
        writer.writerow(["a.jpg", 0.0, 0.0])  # a second answer for an image already predicted: not counted
    return tmp_path


def test_missing_predictions_count_as_misses_by_default(test_set):
    result = evaluate_prediction_csv(test_set / "half.csv", test_set / "test.csv", test_set)
    assert result.metrics.n == 4 and result.missing == 2
    assert result.metrics.within_pct["street"] == pytest.approx(50.0)
    assert result.metrics.median_km > 5000  # the two misses are scored as the worst possible answer
    dropped = evaluate_prediction_csv(test_set / "half.csv", test_set / "test.csv", test_set, missing="drop")
    assert dropped.metrics.n == 2 and dropped.metrics.within_pct["street"] == pytest.approx(100.0)
    assert any("duplicate" in reason for _, reason in result.skipped)


def test_evaluate_cli_reports_the_missing_and_offers_the_other_convention_by_flag(test_set):
    def run(*extra):
        return subprocess.run([sys.executable, "-m", "training.evaluate", "--predictions", str(test_set / "half.csv"),
                               "--csv", str(test_set / "test.csv"), "--images", str(test_set), "--name", "peer",
                               "--json", str(test_set / "m.json"), *extra],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)

    default = run()
    assert default.returncode == 0, default.stderr
    assert "| peer | 50.00 | 50.00 |" in default.stdout
    assert "2 of 4 test images have no prediction: counted as misses" in default.stdout
    assert json.loads((test_set / "m.json").read_text())["extra"]["missing_predictions"] == 2
    flattering = run("--drop-missing")
    assert "| peer | 100.00 | 100.00 |" in flattering.stdout
    assert "2 of 4 test images have no prediction: left out of the denominator (--drop-missing)" in flattering.stdout


def test_evaluate_accepts_the_zero_shot_predictor(tmp_path):
    from tests.tiny_models import SYNTHETIC_COUNTRIES, save_tiny_clip, synthetic_country_image, write_synthetic_places

    clip = save_tiny_clip(tmp_path / "clip")
    write_synthetic_places(clip / "places.csv")
    (clip / "zeroshot.json").write_text(json.dumps({"places_csv": "places.csv", "top_countries": 1}), encoding="utf-8")
    rows = []
    for k, (code, (_, _, regions)) in enumerate(SYNTHETIC_COUNTRIES.items()):
        synthetic_country_image(code, seed=50 + k).save(tmp_path / f"{code}.png")
        rows.append((f"{code}.png", *regions[0][1][0]))  # taken at the first place of its first region
    with (tmp_path / "test.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([("path", "lat", "lon"), *rows])
    result = subprocess.run([sys.executable, "-m", "training.evaluate", "--model", str(clip), "--csv",
                             str(tmp_path / "test.csv"), "--images", str(tmp_path), "--name", "zeroshot"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**__import__("os").environ, "GEOLOC_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr
    line = next(row for row in result.stdout.splitlines() if row.startswith("| zeroshot |"))
    continent = float(line.split("|")[6])
    assert continent == 100.0  # every image placed in its own synthetic country
    assert "uncalibrated regions (zero-shot)" in result.stdout
