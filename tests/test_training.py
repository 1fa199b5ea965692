"""The training path end to end on CPU: CSV -> feature cache -> training -> checkpoint -> evaluation."""
from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from geoloc_core.learning.datasets import load_geo_csv
from geoloc_core.learning.feature_cache import CachedFeatureDataset, build_cache
from geoloc_core.model.preprocessing import load_image_processor
from geoloc_core.learning.metrics import distances_km
from geoloc_core.learning.synthetic import make_world
from geoloc_core.learning.trainer import load_image_for_model
from tests.tiny_models import build_tiny_model

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "training" / "configs" / "tiny_world.yaml"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from training.make_world import save_tiny_clip

    folder = tmp_path_factory.mktemp("world")
    train_csv = make_world(folder / "train", 1500, seed=0)
    test_csv = make_world(folder / "test", 300, seed=1, csv_name="test.csv")
    backbone = save_tiny_clip(folder / "tiny_clip")
    return {"folder": folder, "train_csv": train_csv, "test_csv": test_csv, "backbone": backbone}


def _train_args(world, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "training.train", "--config", str(CONFIG), "--output", str(out),
            "--set", f"model.backbone={world['backbone']}", "--set", f"data.train_csv={world['train_csv']}",
            "--set", f"data.images={world['train_csv'].parent}", "--set", f"data.cache_dir={world['folder'] / 'cache'}",
            "--set", "progress=false", *extra]


def _run(args, timeout=900):
    return subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=timeout)


@pytest.mark.slow
def test_learnable_world_beats_the_mean_by_far(world, tmp_path):
    result = _run(_train_args(world, tmp_path / "run"))
    assert result.returncode == 0, result.stderr[-3000:]
    model_dir = tmp_path / "run" / "model"
    config = json.loads((model_dir / "config.json").read_text())
    assert config["trained_on"]["train_images"] == 1050 and "test" in config["evaluation"]
    evaluation = _run([sys.executable, "-m", "training.evaluate", "--model", str(model_dir), "--csv",
                       str(world["test_csv"]), "--images", str(world["test_csv"].parent), "--json",
                       str(tmp_path / "eval.json")])
    assert evaluation.returncode == 0, evaluation.stderr[-3000:]
    assert "| street 1 km | city 25 km | region 200 km | country 750 km | continent 2500 km |" in evaluation.stdout
    metrics = json.loads((tmp_path / "eval.json").read_text())
    # baseline: always predict the training mean (normalised mean of unit vectors)
    train, _ = load_geo_csv(world["train_csv"], world["train_csv"].parent)
    test, _ = load_geo_csv(world["test_csv"], world["test_csv"].parent)
    lat = np.radians([r.lat for r in train])
    lon = np.radians([r.lon for r in train])
    mean = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)]).mean(axis=1)
    mean_lat, mean_lon = np.degrees(np.arctan2(mean[2], np.hypot(mean[0], mean[1]))), np.degrees(np.arctan2(mean[1], mean[0]))
    baseline = np.median(distances_km([r.lat for r in test], [r.lon for r in test], [mean_lat] * len(test),
                                      [mean_lon] * len(test)))
    assert baseline > 3000
    assert metrics["median_km"] < baseline / 5, (metrics["median_km"], baseline)
    assert 75 <= metrics["coverage90_pct"] <= 99  # calibrated on validation, checked on unseen test data
    # another model's predictions scored in the same table: perfect predictions score 100 % street
    with (tmp_path / "peer.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "pred_lat", "pred_lon"])
        for r in test:
            writer.writerow([r.path.relative_to(world["test_csv"].parent).as_posix(), r.lat, r.lon])
    peer = _run([sys.executable, "-m", "training.evaluate", "--predictions", str(tmp_path / "peer.csv"), "--csv",
                 str(world["test_csv"]), "--images", str(world["test_csv"].parent), "--name", "peer"])
    assert "| peer | 100.00 | 100.00 |" in peer.stdout


@pytest.mark.slow
def test_resume_continues_where_it_stopped(world, tmp_path):
    out = tmp_path / "run"
    first = _run(_train_args(world, out, "--set", "optim.epochs=2"))
    assert first.returncode == 0, first.stderr[-2000:]
    state = torch.load(out / "checkpoint-last" / "trainer_state.pt", weights_only=False)
    assert state["state"]["epoch"] == 2
    second = _run(_train_args(world, out, "--set", "optim.epochs=3", "--resume"))
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resuming from" in second.stdout
    epochs = [int(r["epoch"]) for r in csv.DictReader((out / "metrics.csv").open())]
    assert epochs == [1, 2, 3]


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint(world, tmp_path):
    out = tmp_path / "run"
    process = subprocess.Popen(_train_args(world, out, "--set", "optim.epochs=400"), cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (out / "metrics.csv").exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) == 130
    state = torch.load(out / "checkpoint-last" / "trainer_state.pt", weights_only=False)
    assert state["state"]["epoch"] >= 1 and (out / "checkpoint-last" / "model.safetensors").exists()


@pytest.mark.slow
def test_two_process_ddp_on_cpu(world, tmp_path):
    args = _train_args(world, tmp_path / "ddp", "--set", "optim.epochs=2")
    args = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"] + args[1:]
    result = _run(args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "ddp" / "model" / "model.safetensors").exists()
    assert "x2" in result.stdout


def test_feature_cache_resumes_and_marks_bad_images(tiny_backbone_dir, tmp_path):
    csv_path = make_world(tmp_path / "w", 10, seed=3)
    records, _ = load_geo_csv(csv_path, csv_path.parent)
    records[4].path.write_bytes(b"broken")
    model = build_tiny_model(tiny_backbone_dir)
    processor = load_image_processor(tiny_backbone_dir, model.config.vision_config)
    calls = []

    def counting_loader(record):
        calls.append(record)
        return load_image_for_model(record)

    cache = build_cache(model, processor, records, tmp_path / "cache", counting_loader, batch_size=4, shard_size=4,
                        log=lambda _: None, progress=False)
    assert len(calls) == 10 and cache.is_complete() and len(cache.shard_paths()) == 3
    dataset = CachedFeatureDataset(cache)
    assert len(dataset) == 9  # the broken image is marked invalid
    features, label = dataset[0]
    assert features.dtype == torch.float16 and features.shape == (17, 32)
    pixels = processor(images=[load_image_for_model(records[0].path)], return_tensors="pt")["pixel_values"]
    assert torch.allclose(features.float(), model.extract_features(pixels)[0], atol=1e-2)
    assert label.tolist() == pytest.approx([records[0].lat, records[0].lon], abs=1e-5)
    cache.shard_paths()[1].unlink()  # simulate an interrupted extraction
    calls.clear()
    build_cache(model, processor, records, tmp_path / "cache", counting_loader, batch_size=4, shard_size=4,
                log=lambda _: None, progress=False)
    assert len(calls) == 4 and cache.is_complete()


@pytest.mark.slow
def test_gpu_check_runs_at_tiny_size(tmp_path):
    """The GPU check's every phase (extraction from folder and tar, cached and end-to-end steps,
    retrieval) runs at tiny size on the CPU, so the one-command GPU run cannot rot."""
    from training.gpu_check import main

    assert main(["--tiny", "--out", str(tmp_path / "gpu.json")]) == 0
    results = json.loads((tmp_path / "gpu.json").read_text())
    tiny = results["sizes"]["tiny"]
    assert tiny["extraction"]["folder_fp32_images_per_s"] > 0 and tiny["extraction"]["tar_images_per_s"] > 0
    assert tiny["cached_head_items_per_s"] > 0 and tiny["end_to_end"]["off_items_per_s"] > 0
    assert tiny["cached_speedup_per_epoch"] > 0 and tiny["backbone_only"]["fp32_images_per_s"] > 0
    assert results["retrieval"]["single_query_ms"] > 0 and results["retrieval"]["index_images"] == 10_000


# ----- issue 15: defects of the training path at scale --------------------------------------------------------------
def test_amp_auto_uses_native_bf16_only(monkeypatch):
    """is_bf16_supported() counts emulation (V100, T4): auto must then pick fp16 with a scaler."""
    from geoloc_core.learning import trainer

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    cuda = torch.device("cuda", 0)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a, **k: (7, 0))
    assert trainer.resolve_amp("auto", cuda) == torch.float16
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a, **k: (8, 0))
    assert trainer.resolve_amp("auto", cuda) == torch.bfloat16
    assert trainer.resolve_amp("auto", torch.device("cpu")) is None


def test_cache_key_follows_the_backbone_weights(tmp_path):
    """New weights in the same folder (same name, same config) must not reuse stale features."""
    from geoloc_core.learning.feature_cache import cache_key
    from tests.tiny_models import save_tiny_backbone

    folder = tmp_path / "backbone"
    csv_path = make_world(tmp_path / "w", 3, seed=3, size=32)
    records, _ = load_geo_csv(csv_path, csv_path.parent)
    keys = []
    for seed in (0, 1, 0):
        save_tiny_backbone(folder, seed=seed)
        model = build_tiny_model(folder)
        keys.append(cache_key(model, load_image_processor(folder, model.config.vision_config), records))
    assert keys[0] != keys[1] and keys[0] == keys[2]


def test_training_decodes_jpegs_exactly_as_inference(tiny_backbone_dir, tmp_path):
    """A large JPEG is decoded at reduced scale by the predictor; training must see the same pixels."""
    from PIL import Image

    from geoloc_core.learning.datasets import GeoRecord
    from geoloc_core.learning.trainer import ImageDataset
    from geoloc_core.model.inference import Predictor

    rng = np.random.default_rng(0)
    path = tmp_path / "big.jpg"
    Image.fromarray(rng.integers(0, 255, (900, 1200, 3), dtype=np.uint8)).save(path, quality=90)
    model = build_tiny_model(tiny_backbone_dir)
    processor = load_image_processor(tiny_backbone_dir, model.config.vision_config)
    training_pixels = ImageDataset([GeoRecord(path, 1.0, 2.0)], processor)[0][0]
    predictor = Predictor(model, processor, device=torch.device("cpu"))
    assert torch.equal(training_pixels, predictor._prepare_batch([path])[0])


@pytest.fixture(scope="module")
def small_world(tmp_path_factory):
    from tests.tiny_models import save_tiny_backbone

    folder = tmp_path_factory.mktemp("small_world")
    return {"csv": make_world(folder / "data", 320, seed=4, size=32), "backbone": save_tiny_backbone(folder / "clip"),
            "cache": folder / "cache"}


def _small_config(small_world, out: Path, **sets):
    from geoloc_core.learning.train_config import TrainConfig

    config = TrainConfig.from_yaml(CONFIG)
    values = {"model.backbone": str(small_world["backbone"]), "model.head_width": 32, "model.dropout": 0.1,
              "data.train_csv": str(small_world["csv"]), "data.images": str(small_world["csv"].parent),
              "data.cache_dir": str(small_world["cache"]), "data.num_workers": 0, "optim.epochs": 4,
              "optim.batch_size": 32, "progress": False, "output_dir": str(out), **sets}
    for key, value in values.items():
        config.set(key, value)
    return config


def _metrics_rows(out: Path) -> list[dict]:
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    for row in rows:
        row.pop("train_items_per_s")  # wall-clock, the one column that may differ
    return rows


def _interrupt_at_step(monkeypatch, step: int):
    """SIGTERM to ourselves after the given optimizer step, as a cluster scheduler would send it."""
    import os

    from geoloc_core.learning import trainer

    real, calls = trainer.optimizer_step, {"n": 0}

    def counting(*args, **kwargs):
        real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == step:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(trainer, "optimizer_step", counting)


@pytest.mark.slow
def test_resume_reproduces_an_uninterrupted_run_exactly(small_world, tmp_path, monkeypatch):
    """4 epochs straight == 2 + resume + 2 == interrupted mid-epoch 3 + resume: metrics and weights."""
    from safetensors.torch import load_file

    from geoloc_core.learning.trainer import train

    straight = tmp_path / "straight"
    train(_small_config(small_world, straight), log=lambda _: None)
    state = torch.load(straight / "checkpoint-last" / "trainer_state.pt", weights_only=False)
    steps_per_epoch = state["state"]["global_step"] // 4
    assert steps_per_epoch >= 3
    for name, stop_step in (("two_plus_two", 2 * steps_per_epoch), ("mid_epoch", 2 * steps_per_epoch + 2)):
        out = tmp_path / name
        with monkeypatch.context() as patch:
            _interrupt_at_step(patch, stop_step)
            with pytest.raises(KeyboardInterrupt):
                train(_small_config(small_world, out), log=lambda _: None)
        train(_small_config(small_world, out), resume=True, log=lambda _: None)
        assert _metrics_rows(out) == _metrics_rows(straight), name
        for folder in ("checkpoint-last", "model"):
            a, b = load_file(straight / folder / "model.safetensors"), load_file(out / folder / "model.safetensors")
            assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), (name, folder)


@pytest.mark.slow
def test_calibration_and_coverage_use_data_that_fitted_nothing(small_world, tmp_path):
    """Validation picks the epoch, calibration fits kappa_scale, test reports coverage: three disjoint splits."""
    from geoloc_core.learning.trainer import train
    from geoloc_core.model.inference import Predictor

    out = tmp_path / "run"
    final = train(_small_config(small_world, out, **{"optim.epochs": 2, "data.val_fraction": 0.15,
                                                     "data.calibration_fraction": 0.15, "data.test_fraction": 0.15}),
                  log=lambda _: None)
    config = json.loads((final / "config.json").read_text())
    splits = json.loads((out / "splits.json").read_text())
    names = {name: set(paths) for name, paths in splits.items() if name != "train_count"}
    assert set(names) == {"validation", "calibration", "test"}
    for a in names:
        for b in names:
            assert a == b or not names[a] & names[b], (a, b)
    assert splits["train_count"] + sum(len(v) for v in names.values()) == 320 and len(names["test"]) == 48
    trained_on = config["trained_on"]
    assert trained_on["calibration_images"] == 48 and trained_on["test_images"] == 48 and trained_on["calibrated"]
    test = config["evaluation"]["test"]
    assert test["n"] == 48 and test["coverage50_pct"] is not None and test["coverage90_pct"] is not None
    assert config["evaluation"]["calibration"]["coverage90_pct"] >= 85  # fitted there, so ~90 % by construction
    assert ", calibrated uncertainty" in Predictor.from_pretrained(final, batch_size=4).description
    uncalibrated = train(_small_config(small_world, tmp_path / "raw", **{"optim.epochs": 1, "calibrate": False}),
                         log=lambda _: None)
    description = Predictor.from_pretrained(uncalibrated, batch_size=4).description
    assert ", calibrated" not in description and "uncalibrated uncertainty" in description
    assert json.loads((uncalibrated / "config.json").read_text())["trained_on"]["calibrated"] is False
