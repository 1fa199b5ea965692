"""GPU check of training at scale: one command, one JSON file, random weights, nothing downloaded.

.venv/bin/python -m training.gpu_check --out $OUT/gpu.json          # one CUDA GPU, ViT-B/32 and ViT-L/14 sizes
.venv/bin/python -m training.gpu_check --tiny --out /tmp/gpu.json   # any machine, tiny sizes (the test suite)

For each backbone size (random weights generated locally, CLIP ViT-B/32 and ViT-L/14 shapes):
* extraction images/s through the real path (``feature_cache.build_cache``): JPEGs decoded in
  DataLoader workers, once from a folder and once from a tar shard, backbone in fp16 and in
  bf16 (the amp choice ``auto`` makes is recorded);
* training steps/s and items/s from cached features (the head, fp32 by design) and end-to-end
  (pixels through the frozen backbone under bf16 / fp16 autocast, the latter with a gradient
  scaler), and the per-epoch speed-up of caching;
* peak GPU memory per phase; retrieval index query time over 1 M random embeddings.
Budget: about 3-4 minutes on an H100 (``--budget-s`` trims the ViT-L/14 part if time runs out).
Only torch and the packages of requirements.txt are needed; a missing one stops the check at
once with its name.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REQUIRED = ("torch", "transformers", "safetensors", "numpy", "PIL", "tqdm", "yaml", "pandas")


def check_packages() -> None:
    missing = []
    for name in REQUIRED:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            missing.append(f"{name} ({exc})")
    if missing:
        sys.exit("gpu_check: missing packages: " + ", ".join(missing) +
                 ". Install with: pip install torch==2.13.0 -r requirements.txt")


SIZES = {
    "tiny": dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=32,
                 patch_size=8),
    "ViT-B/32": dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                     image_size=224, patch_size=32),
    "ViT-L/14": dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                     image_size=224, patch_size=14),
}


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, steps: int, device) -> float:
    fn()  # warm-up (kernels, allocator)
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    _sync(device)
    return time.perf_counter() - start


def _peak_gib(device) -> float | None:
    import torch

    if device.type != "cuda":
        return None
    value = torch.cuda.max_memory_allocated(device) / 1024**3
    torch.cuda.reset_peak_memory_stats(device)
    return round(value, 3)


def write_jpegs(folder: Path, n: int, side: int) -> list[Path]:
    """Photo-sized JPEGs (4:3, ``side`` px wide) with texture, so decoding costs what it does on real data."""
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (side * 3 // 4 // 8, side // 8, 3), dtype=np.uint8)
    paths = []
    for i in range(n):
        tile = np.kron(np.roll(base, i, axis=1), np.ones((8, 8, 1), dtype=np.uint8))
        noisy = np.clip(tile.astype(np.int16) + rng.integers(-20, 20, tile.shape), 0, 255).astype(np.uint8)
        path = folder / f"img_{i:05d}.jpg"
        Image.fromarray(noisy).save(path, quality=90)
        paths.append(path)
    return paths


def write_tar(paths: list[Path], target: Path) -> Path:
    import tarfile

    with tarfile.open(target, "w") as archive:
        for path in paths:
            archive.add(path, arcname=path.name)
    return target


def measure_extraction(model, processor, records, root: Path, device, dtype, workers: int, batch: int) -> float:
    """Images/s of the real extraction path (decode workers, shard writing) over ``records``."""
    import shutil

    from geoloc_core.learning.feature_cache import build_cache

    cache_root = root / f"cache-{time.perf_counter_ns()}"
    warm = records[: min(len(records), batch)]
    build_cache(model, processor, warm, cache_root, batch_size=batch, shard_size=len(warm), device=device,
                log=lambda _: None, progress=False, num_workers=workers, backbone_dtype=dtype, weights="warm")
    _sync(device)
    start = time.perf_counter()
    build_cache(model, processor, records, cache_root, batch_size=batch, shard_size=max(batch, 1024), device=device,
                log=lambda _: None, progress=False, num_workers=workers, backbone_dtype=dtype, weights="timed")
    _sync(device)
    seconds = time.perf_counter() - start
    shutil.rmtree(cache_root, ignore_errors=True)
    return len(records) / seconds


def measure_size(name: str, device, root: Path, n_images: int, workers: int, batch: int, head_batch: int,
                 steps: int) -> dict:
    import torch

    from geoloc_core.learning.datasets import GeoRecord, index_tars
    from geoloc_core.learning.trainer import native_bf16, optimizer_step, resolve_amp
    from geoloc_core.model.configuration_geolocator import GeoLocatorConfig
    from geoloc_core.model.preprocessing import clip_image_processor
    from geoloc_core.model.modeling_geolocator import GeoLocator

    vision = SIZES[name]
    tiny = name == "tiny"
    config = GeoLocatorConfig(vision_config=vision, backbone_name_or_path=f"random {name}-sized",
                              **({"head_width": 32, "num_attention_heads": 4} if tiny else {}))
    torch.manual_seed(0)
    model = GeoLocator(config).to(device)
    model.freeze_backbone()
    processor = clip_image_processor(vision["image_size"])
    result: dict = {"backbone": f"{name}-sized (random weights)", "amp_auto": str(resolve_amp("auto", device))}
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    # --- extraction through build_cache, folder and tar, fp16 and bf16 ---------------------------------
    paths = write_jpegs(root / "jpegs", n_images, 640 if not tiny else 96)
    folder_records = [GeoRecord(p, 0.0, 0.0) for p in paths]
    tar = write_tar(paths, root / "shard-000.tar")
    tar_records = [GeoRecord(m.shard, 0.0, 0.0, m.offset, m.size) for m in index_tars([tar])]
    dtypes = {"fp16": torch.float16, "bf16": torch.bfloat16} if device.type == "cuda" else {"fp32": None}
    extraction = {}
    for label, dtype in dtypes.items():
        if label == "bf16" and not native_bf16(device):
            extraction[label] = "skipped: no native bf16 on this GPU"
            continue
        extraction[f"folder_{label}_images_per_s"] = round(measure_extraction(
            model, processor, folder_records, root, device, dtype, workers, batch), 1)
    best = next((d for k, d in dtypes.items() if k == ("bf16" if native_bf16(device) else "fp16")), None)
    extraction["tar_images_per_s"] = round(measure_extraction(model, processor, tar_records, root, device, best,
                                                              workers, batch), 1)
    extraction["decode_workers"] = workers
    extraction["images"] = n_images
    result["extraction"] = extraction
    result["extraction_peak_gib"] = _peak_gib(device)

    # --- pure backbone throughput (no decoding), for the decode-bound question -------------------------
    pixels = torch.randn(batch, 3, vision["image_size"], vision["image_size"], device=device)
    backbone_rates = {}
    for label, dtype in dtypes.items():
        model.backbone.to(dtype or torch.float32)
        with torch.inference_mode():
            seconds = _timed(lambda: model.extract_features(pixels.to(dtype or torch.float32)), steps, device)
        backbone_rates[f"{label}_images_per_s"] = round(steps * batch / seconds, 1)
    model.backbone.float()
    result["backbone_only"] = backbone_rates

    # --- training steps: cached head (fp32) vs end-to-end under each amp ------------------------------
    with torch.inference_mode():
        features = model.extract_features(pixels).to(torch.float16)
    features = features.repeat((head_batch + batch - 1) // batch, *([1] * (features.dim() - 1)))[:head_batch].clone()
    labels = torch.stack([torch.rand(head_batch) * 180 - 90, torch.rand(head_batch) * 360 - 180], 1).to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-4)
    model.train()

    def step(amp, scaler, **inputs):
        n = len(next(iter(inputs.values())))
        with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            loss = model(**inputs, labels=labels[:n]).loss
        optimizer_step(loss, optimizer, scaler, trainable, 1.0)  # the training loop's own step

    cached_s = _timed(lambda: step(None, None, features=features), steps, device)
    result["cached_head_items_per_s"] = round(steps * head_batch / cached_s, 1)
    result["cached_head_peak_gib"] = _peak_gib(device)
    end_to_end = {}
    amps = {"bf16": torch.bfloat16, "fp16": torch.float16} if device.type == "cuda" else {"off": None}
    for label, amp in amps.items():
        if label == "bf16" and not native_bf16(device):
            continue
        scaler = torch.amp.GradScaler(device.type) if amp == torch.float16 else None
        seconds = _timed(lambda: step(amp, scaler, pixel_values=pixels), steps, device)
        end_to_end[f"{label}_items_per_s"] = round(steps * batch / seconds, 1)
        end_to_end[f"{label}_peak_gib"] = _peak_gib(device)
    result["end_to_end"] = end_to_end
    fastest = max(v for k, v in end_to_end.items() if k.endswith("items_per_s"))
    result["cached_speedup_per_epoch"] = round(result["cached_head_items_per_s"] / fastest, 1)
    del model, optimizer, features, pixels
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return result


def measure_retrieval(device, n: int, dim: int, queries: int) -> dict:
    import torch

    from geoloc_core.model.retrieval import RetrievalIndex, bytes_per_million

    generator = torch.Generator().manual_seed(0)
    index = RetrievalIndex.build(torch.randn(n, dim, generator=generator), torch.zeros(n), torch.zeros(n))
    q = torch.randn(queries, dim, generator=generator).to(device)
    index.search(q[:1])  # moves the index to the device
    single = _timed(lambda: index.search(q[:1]), 5, device) / 5
    batched = _timed(lambda: index.search(q), 3, device) / 3
    return {"index_images": n, "dim": dim, "memory_mib": round(index.memory_bytes / 2**20, 1),
            "gb_per_million_images": round(bytes_per_million(dim) / 1e9, 3),
            "single_query_ms": round(1000 * single, 2), f"batch_{queries}_ms_per_query": round(1000 * batched / queries,
                                                                                              3)}


def run(tiny: bool, out: Path | None, budget_s: float, workers: int | None) -> dict:
    import torch

    from benchmarks.machine import machine_info

    started = time.perf_counter()
    device = torch.device("cuda" if torch.cuda.is_available() and not tiny else "cpu")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = workers if workers is not None else (0 if tiny else max(1, min(12, cpus - 2)))
    results: dict = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
                     "capability": ".".join(map(str, torch.cuda.get_device_capability(device)))
                     if device.type == "cuda" else None,
                     "torch": torch.__version__, "machine": machine_info(), "cpus": cpus, "sizes": {}}
    plan = [("tiny", 24, 8, 16, 3)] if tiny else [("ViT-B/32", 2048, 256, 4096, 20), ("ViT-L/14", 1024, 128, 512, 10)]
    with tempfile.TemporaryDirectory(prefix="geoloc-gpu-check-") as scratch:
        for name, n_images, batch, head_batch, steps in plan:
            if time.perf_counter() - started > budget_s:
                results["sizes"][name] = "skipped: time budget spent"
                continue
            size_started = time.perf_counter()
            results["sizes"][name] = measure_size(name, device, Path(scratch) / name.replace("/", "_"), n_images,
                                                  workers, batch, head_batch, steps)
            results["sizes"][name]["seconds"] = round(time.perf_counter() - size_started, 1)
            _write(out, results)  # partial results survive a timeout
    n_index = 10_000 if tiny else 1_000_000
    results["retrieval"] = measure_retrieval(device, n_index, 32 if tiny else 1024, 8 if tiny else 256)
    results["seconds"] = round(time.perf_counter() - started, 1)
    _write(out, results)
    return results


def _write(out: Path | None, results: dict) -> None:
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="tiny sizes on whatever device (CI)")
    parser.add_argument("--out", "--json", dest="out", help="write the results as JSON here")
    parser.add_argument("--budget-s", type=float, default=240.0, help="skip remaining sizes after this many seconds")
    parser.add_argument("--workers", type=int, default=None, help="decode workers (default: CPUs - 2, at most 12)")
    args = parser.parse_args(argv)
    check_packages()
    import torch

    if not args.tiny and not torch.cuda.is_available():
        print("gpu_check: no CUDA device; run with --tiny for the CPU smoke run", file=sys.stderr)
        return 2
    results = run(args.tiny, Path(args.out) if args.out else None, args.budget_s, args.workers)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
