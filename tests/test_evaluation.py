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


def _tar(target, names_and_bytes):
    import io
    import tarfile

    with tarfile.open(target, "w") as archive:
        for name, data in names_and_bytes:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return target


PLACES = [(48.85, 2.35), (-33.87, 151.21), (40.71, -74.0), (35.68, 139.69), (55.75, 37.62), (-22.9, -43.2)]


def _evaluate(model_dir, csv_path, images, *extra):
    """``python -m training.evaluate --model ...`` in this process (its ``main``), for speed: (code, stdout, stderr)."""
    import contextlib
    import io

    from training.evaluate import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--model", str(model_dir), "--csv", str(csv_path), "--images", str(images), "--name", "tiny",
                     "--json", str(Path(csv_path).with_suffix(".json")), *extra])
    return code, out.getvalue(), err.getvalue()


def test_model_evaluation_reads_images_inside_tar_shards(tiny_model_dir, tmp_path):
    """#30 defect 2: ``--images test.tar`` read each record's bytes inside the tar (as training does), not the
    tar file itself: every row is scored, from an OSV-5M-style CSV and from a WebDataset shard."""
    from geoloc_core.learning.datasets import load_geo_csv, load_webdataset
    from geoloc_core.learning.evaluation import evaluate_predictor
    from geoloc_core.model.inference import Predictor

    members = [(f"{i:04d}.jpg", image_bytes(size=(40 + i, 30), color=(30 * i, 90, 200))) for i in range(len(PLACES))]
    shard = _tar(tmp_path / "test.tar", members)
    with (tmp_path / "test.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "latitude", "longitude"])
        writer.writerows((f"{i:04d}", lat, lon) for i, (lat, lon) in enumerate(PLACES))
    code, out, err = _evaluate(tiny_model_dir, tmp_path / "test.csv", shard)
    assert code == 0, err
    scored = json.loads((tmp_path / "test.json").read_text())
    assert scored["n"] == len(PLACES) and scored["extra"]["missing_predictions"] == 0, out + err

    webdataset = _tar(tmp_path / "wds.tar", [item for (name, data), (lat, lon) in zip(members, PLACES) for item in
                                             ((name, data), (name.replace(".jpg", ".json"),
                                                             json.dumps({"lat": lat, "lon": lon}).encode()))])
    records, _ = load_webdataset(webdataset)
    predictor = Predictor.from_pretrained(tiny_model_dir, batch_size=4)
    result = evaluate_predictor(predictor, records, batch_size=4)
    assert result.metrics.n == len(PLACES) and result.missing == 0 and not result.skipped
    in_tar, _ = load_geo_csv(tmp_path / "test.csv", shard)
    by_tar = [(p.lat, p.lon) for _, p in evaluate_predictor(predictor, in_tar, batch_size=4).predictions]
    by_webdataset = [(p.lat, p.lon) for _, p in result.predictions]
    assert by_tar == by_webdataset  # the same bytes, the same predictions, in either layout


@pytest.fixture()
def folder_with_bad_images(tmp_path):
    """Six test rows: four good images, one unreadable file, one file that is not there."""
    for i in range(4):
        (tmp_path / f"{i}.jpg").write_bytes(image_bytes(size=(40, 30), color=(40 * i, 60, 90)))
    (tmp_path / "4.jpg").write_bytes(b"\xff\xd8 not really a JPEG")
    with (tmp_path / "test.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "lat", "lon"])
        writer.writerows((f"{i}.jpg", lat, lon) for i, (lat, lon) in enumerate(PLACES))  # 5.jpg is missing
    return tmp_path


def test_missing_and_unreadable_images_are_misses_for_a_model_too(tiny_model_dir, folder_with_bad_images):
    """#30 defect 4: --model scored 4 of 6 rows as if the set had 4; now, as --predictions does, a missing or
    unreadable image is a miss (in the denominator, never within any distance or region), the count is
    printed, and --drop-missing is the opt-out for both."""
    from geoloc_core.learning.datasets import load_geo_csv
    from geoloc_core.learning.evaluation import evaluate_predictor
    from geoloc_core.model.inference import Predictor

    folder = folder_with_bad_images
    records, _ = load_geo_csv(folder / "test.csv", folder, check_files=False)
    predictor = Predictor.from_pretrained(tiny_model_dir, batch_size=4)
    result = evaluate_predictor(predictor, records, batch_size=4)
    assert result.metrics.n == 6 and result.missing == 2 and result.test_images == 6
    dropped = evaluate_predictor(predictor, records, batch_size=4, missing="drop")
    assert dropped.metrics.n == 4 and dropped.missing == 2
    for name, _ in result.metrics.within_pct.items():  # the two misses are within no distance
        assert result.metrics.within_pct[name] == pytest.approx(dropped.metrics.within_pct[name] * 4 / 6)
    assert result.metrics.coverage90_pct == pytest.approx(dropped.metrics.coverage90_pct * 4 / 6)
    assert result.metrics.coverage50_pct is not None  # the model gives radii: the 50 % column is filled

    code, out, err = _evaluate(tiny_model_dir, folder / "test.csv", folder)
    assert code == 0, err
    assert json.loads((folder / "test.json").read_text())["n"] == 6
    assert "2 of 6 test images could not be read (missing or unreadable): counted as misses" in out
    assert "n/a" not in out.split("| tiny |")[1].splitlines()[0]  # both coverage columns filled
    code, out, err = _evaluate(tiny_model_dir, folder / "test.csv", folder, "--drop-missing")
    assert json.loads((folder / "test.json").read_text())["n"] == 4
    assert "2 of 6 test images could not be read (missing or unreadable): left out of the denominator" in out


def test_a_peer_scored_on_a_tar_shard_matches_its_files_by_member_name(tmp_path):
    """--predictions with --images test.tar: a peer names its files as the members are named (or by base name)."""
    members = [(f"test/{i:04d}.jpg", image_bytes(size=(20, 20))) for i in range(len(PLACES))]
    shard = _tar(tmp_path / "test.tar", members)
    with (tmp_path / "test.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([("id", "latitude", "longitude"),
                                      *((f"{i:04d}", lat, lon) for i, (lat, lon) in enumerate(PLACES))])
    with (tmp_path / "peer.csv").open("w", newline="") as handle:  # perfect, for all but the last image
        csv.writer(handle).writerows([("file", "pred_lat", "pred_lon"), ("test/0000.jpg", *PLACES[0]),
                                      *((f"{i:04d}.jpg", *PLACES[i]) for i in range(1, len(PLACES) - 1))])
    result = evaluate_prediction_csv(tmp_path / "peer.csv", tmp_path / "test.csv", shard)
    assert not result.skipped and result.missing == 1 and result.metrics.n == len(PLACES)
    assert result.metrics.within_pct["street"] == pytest.approx(100.0 * (len(PLACES) - 1) / len(PLACES))
