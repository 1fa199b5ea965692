"""Two Gloo processes on CPU exercise the multi-GPU / multi-node paths of feature extraction (issue 15).

Each scenario runs the trainer's own ``prepare_caches`` in two spawned ranks with a 4 s collective
timeout, so a rank that waits inside a collective while another extracts fails quickly, as NCCL's
10-minute timeout would fail an MP-16 extraction."""
from __future__ import annotations

import datetime
import json
import os
import socket
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from geoloc_core.learning import feature_cache, trainer
from geoloc_core.learning.datasets import load_geo_csv
from geoloc_core.learning.distributed import DistContext, reduce_max, reduce_sums
from geoloc_core.learning.train_config import TrainConfig
from geoloc_core.model.preprocessing import load_image_processor
from tests.tiny_models import build_tiny_model

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, folder: str, port: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2, timeout=datetime.timedelta(seconds=4))
    root = Path(folder)
    for scenario in ("private", "slow"):  # one process group for both: spawning costs more than the checks
        _scenario(rank, root, scenario)
    try:
        dist.destroy_process_group()
    except Exception:
        pass


def _scenario(rank: int, root: Path, scenario: str) -> None:
    result: dict = {}
    calls = {"n": 0}
    real = feature_cache.default_image_loader

    def counting_loader(side):
        inner = real(side)

        def load(record):
            calls["n"] += 1
            if scenario == "slow" and rank == 0:
                time.sleep(0.25)  # rank 0 is the slow one: rank 1 must wait for it without a timeout
            return inner(record)
        return load

    feature_cache.default_image_loader = counting_loader
    try:
        records, _ = load_geo_csv(root / "data" / "world.csv", root / "data")
        config = TrainConfig()
        config.data.cache_dir = str(root / ("cache" if scenario == "slow" else f"node{rank}-local"))
        config.data.shard_size, config.data.num_workers, config.progress = 8, 0, False
        model = build_tiny_model(root / "clip")
        processor = load_image_processor(root / "clip", model.config.vision_config)
        ctx = DistContext(rank, rank, 2, torch.device("cpu"))
        started = time.monotonic()
        caches = trainer.prepare_caches(config, model, processor, {"train": records[:40], "validation": records[40:]},
                                        ctx, lambda _: None)
        result = {"ok": True, "complete": all(c.is_complete() for c in caches.values()),
                  "seconds": time.monotonic() - started, "decoded": calls["n"],
                  "sums": reduce_sums(ctx, [rank + 1.0, 10.0]), "max": reduce_max(ctx, float(rank))}
    except Exception as exc:  # reported to the test, which asserts on it
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "decoded": calls["n"]}
    finally:
        feature_cache.default_image_loader = real
    (root / f"{scenario}-{rank}.json").write_text(json.dumps(result))


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    import torch.multiprocessing as mp

    from geoloc_core.learning.synthetic import make_world
    from tests.tiny_models import save_tiny_backbone

    folder = tmp_path_factory.mktemp("ranks")
    make_world(folder / "data", 50, seed=2, size=32)
    save_tiny_backbone(folder / "clip")
    mp.spawn(_worker, args=(str(folder), _free_port()), nprocs=2, join=True)
    return {scenario: [json.loads((folder / f"{scenario}-{r}.json").read_text()) for r in (0, 1)]
            for scenario in ("slow", "private")}


def test_extraction_is_shared_by_all_ranks_and_the_wait_cannot_time_out(two_ranks):
    rank0, rank1 = two_ranks["slow"]
    assert rank0["ok"] and rank1["ok"], (rank0, rank1)
    assert rank0["complete"] and rank1["complete"]
    assert rank0["decoded"] > 0 and rank1["decoded"] > 0 and rank0["decoded"] + rank1["decoded"] == 50
    assert rank1["seconds"] > 4  # rank 1 waited longer than the collective timeout, and survived


def test_train_loss_and_throughput_are_reduced_over_ranks(two_ranks):
    for result in two_ranks["slow"]:
        assert result["sums"] == [3.0, 20.0] and result["max"] == 1.0


def test_a_cache_dir_not_shared_between_nodes_is_refused_clearly(two_ranks):
    for result in two_ranks["private"]:
        assert not result["ok"] and result["error"].startswith("NotSharedError"), result
        assert "is not shared between the ranks" in result["error"] and "rank 1" in result["error"]
        assert "NFS" in result["error"] and result["decoded"] == 0
