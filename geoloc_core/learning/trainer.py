"""The training loop: CSV -> feature cache -> head training -> calibration -> evaluated model folder.

Read top to bottom: ``train()`` is the whole story. The backbone is frozen, so by default
its features are cached once (``feature_cache``, extracted by all ranks together) and
epochs train only the head; with ``data.use_cache: false`` images go through the backbone
every step (end-to-end), which is what the GPU check compares against.

Data splits: ``validation`` picks the best epoch, ``calibration`` fits ``kappa_scale`` and
the retrieval threshold, ``test`` is only ever measured: the accuracy and the coverage of
the 50 % and 90 % regions stored with the model come from data that fitted nothing.

Robustness: a checkpoint every epoch and on interrupt (Ctrl-C / SIGTERM), ``resume=True``
continues from it exactly: the batch order is a function of (seed, epoch), the position
inside the epoch, the running loss and every random generator (Python, NumPy, torch, CUDA)
are saved, so an interrupted and resumed run ends with the same weights and metrics as an
uninterrupted one (tested on CPU). The output ``OUTPUT/model`` is a complete folder that
``GeoLocator.from_pretrained`` and the app load directly, with what it was trained on,
its evaluation tables and (optionally) its retrieval index.
"""
from __future__ import annotations

import csv
import json
import math
import os
import random
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..evidence.imaging import load_rgb
from ..model.calibration import fit_kappa_scale
from ..model.clip_input import ClipInputSpec
from ..model.distributions import unit_to_latlon
from ..model.preprocessing import load_image_processor
from ..model.modeling_geolocator import GeoLocator, GeoLocatorOutput
from ..model.retrieval import RetrievalIndex, describe, fit_threshold
from .datasets import GeoRecord, describe_split, load_geo_csv, load_webdataset, read_record_bytes, split_for_training
from .distributed import (DistContext, cleanup_distributed, ensure_shared_dir, init_distributed, reduce_max,
                          reduce_sums)
from .feature_cache import (CachedFeatureDataset, build_cache, default_image_loader, feature_shape, model_pixels,
                            weights_fingerprint)
from .metrics import GeoMetrics, compute_metrics
from .sampling import ShardedBatchSampler
from .train_config import TrainConfig

LAST, BEST, FINAL = "checkpoint-last", "checkpoint-best", "model"


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def native_bf16(device: torch.device) -> bool:
    """bf16 in hardware (compute capability 8.0+: A100, H100, L4, RTX 30xx+). ``is_bf16_supported()``
    also says yes on V100/T4, where bf16 is emulated and slower than fp32."""
    return device.type == "cuda" and torch.cuda.get_device_capability(device)[0] >= 8


def resolve_amp(mode: str, device: torch.device) -> torch.dtype | None:
    """Native bf16 where the GPU has it, fp16 (with a gradient scaler) otherwise; none on CPU unless asked."""
    if mode == "off" or (mode == "auto" and device.type != "cuda"):
        return None
    if mode == "bf16":
        return torch.bfloat16
    if mode == "fp16":
        return torch.float16
    if mode != "auto":
        raise ValueError(f"optim.amp must be auto, bf16, fp16 or off, not {mode!r}")
    return torch.bfloat16 if native_bf16(device) else torch.float16


def warmup_cosine(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return factor


def optimizer_step(loss: torch.Tensor, optimizer, scaler, parameters, grad_clip: float) -> None:
    """Backward, clip and step; through the gradient scaler when training in fp16."""
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(parameters, grad_clip)
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, grad_clip)
        optimizer.step()


def load_image_for_model(item: GeoRecord | str | Path, draft_side: int | None = None):
    """Decode a record (file or tar member) or a path as inference does (``imaging.load_rgb``);
    give ``draft_side`` = the model's input size to match ``Predictor`` exactly."""
    record = item if isinstance(item, GeoRecord) else GeoRecord(Path(item), 0.0, 0.0)
    return load_rgb(read_record_bytes(record), draft_side=draft_side)


class ImageDataset(Dataset):
    """End-to-end mode: preprocessed pixels and labels, decoded in DataLoader workers exactly as the
    predictor decodes (JPEG draft at the model's input size). Unreadable images yield None and are
    dropped by ``collate_skip_none``."""

    def __init__(self, records: list[GeoRecord], image_processor):
        self.records, self.image_processor = records, image_processor
        self.load = default_image_loader(image_processor)
        self.input_spec = ClipInputSpec.from_processor(image_processor)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int):
        record = self.records[i]
        try:
            image = self.load(record)
        except Exception:
            return None
        pixels = model_pixels(image, self.image_processor, self.input_spec)
        return pixels, torch.tensor([record.lat, record.lon], dtype=torch.float32)


def collate_skip_none(batch):
    batch = [item for item in batch if item is not None]
    if not batch:
        return None
    return torch.stack([b[0] for b in batch]), torch.stack([b[1] for b in batch])


@dataclass
class EvalOutputs:
    lat: np.ndarray
    lon: np.ndarray
    true_lat: np.ndarray
    true_lon: np.ndarray
    unit: torch.Tensor
    components: torch.Tensor
    weights: torch.Tensor
    kappa: torch.Tensor | None  # raw: before kappa_scale
    loss: float


@torch.no_grad()
def predict_loader(model: GeoLocator, loader: DataLoader, device: torch.device, input_key: str,
                   amp_dtype: torch.dtype | None) -> EvalOutputs:
    """Run the model over a loader, collecting point estimates, mixture parameters and raw kappa."""
    was_training = model.training
    model.eval()
    scale, model.config.kappa_scale = model.config.kappa_scale, 1.0
    retrieval, model.retrieval = model.retrieval, None
    parts: dict[str, list] = {k: [] for k in ("lat", "lon", "labels", "unit", "components", "weights", "kappa")}
    losses = []
    try:
        for batch in loader:
            if batch is None:
                continue
            inputs, labels = batch[0].to(device), batch[1].to(device)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                features = inputs if input_key == "features" else model.extract_features(inputs)
                out = model(features=features, labels=labels)
            losses.append(float(out.loss) * len(labels))
            for key, value in (("lat", out.lat), ("lon", out.lon), ("labels", labels), ("unit", out.unit),
                               ("components", out.components), ("weights", out.weights), ("kappa", out.kappa)):
                if value is not None:
                    parts[key].append(value.float().cpu())
    finally:
        model.config.kappa_scale = scale
        model.retrieval = retrieval
        model.train(was_training)
    labels = torch.cat(parts["labels"])
    return EvalOutputs(torch.cat(parts["lat"]).numpy(), torch.cat(parts["lon"]).numpy(), labels[:, 0].numpy(),
                       labels[:, 1].numpy(), torch.cat(parts["unit"]), torch.cat(parts["components"]),
                       torch.cat(parts["weights"]), torch.cat(parts["kappa"]) if parts["kappa"] else None,
                       sum(losses) / max(1, len(labels)))


def radii_for(model: GeoLocator, outputs: EvalOutputs, probabilities=(0.5, 0.9)) -> list[np.ndarray] | None:
    """Radii (km) of the calibrated regions for collected outputs, one array per probability."""
    if outputs.kappa is None:
        return None
    scaled = GeoLocatorOutput(unit=outputs.unit, components=outputs.components, weights=outputs.weights,
                              kappa=outputs.kappa * model.config.kappa_scale)
    return [r.numpy() for r in model.region_radii_km(scaled, probabilities=probabilities, samples=1024)]


def metrics_for(model: GeoLocator, outputs: EvalOutputs, convention: str = "geodesic", lat=None, lon=None):
    radii = radii_for(model, outputs)
    return compute_metrics(outputs.true_lat, outputs.true_lon, outputs.lat if lat is None else lat,
                           outputs.lon if lon is None else lon, radii[1] if radii else None, convention,
                           radius50_km=radii[0] if radii else None)


SPLITS = ("validation", "calibration", "test")


def _load_records(config: TrainConfig, log) -> tuple[dict[str, list[GeoRecord]], list]:
    """train / validation / calibration / test records: given CSVs where configured, else disjoint
    fractions split off the training data by seed."""
    data = config.data
    if data.train_csv:
        records, report = load_geo_csv(data.train_csv, data.images, group_column=data.group_column)
    else:
        records, report = load_webdataset(data.images)
    log(report.summary())
    reports = [report]
    given = {"validation": (data.val_csv, data.val_images, data.val_fraction),
             "calibration": (data.calibration_csv, data.calibration_images, data.calibration_fraction),
             "test": (data.test_csv, data.test_images, data.test_fraction)}
    held, fractions = {}, {}
    for name, (csv_path, images, fraction) in given.items():
        if csv_path:
            held[name], held_report = load_geo_csv(csv_path, images or data.images)
            log(held_report.summary())
            reports.append(held_report)
        else:
            fractions[name] = fraction
    splits = split_for_training(records, fractions, config.seed)
    splits.update(held)
    if not splits["train"] or not splits["validation"]:
        raise ValueError("training needs at least one usable training and one validation image; see the data report")
    for name in ("calibration", "test"):
        if not splits.get(name):
            log(f"no {name} split (data.{name}_fraction is 0 and no data.{name}_csv): "
                + ("kappa_scale is not calibrated" if name == "calibration" else "no held-out test table"))
    return splits, reports


def prepare_caches(config: TrainConfig, model: GeoLocator, processor, splits: dict[str, list[GeoRecord]],
                   ctx: DistContext, log) -> dict:
    """Every split's feature cache, extracted by all ranks together (each its own shards). The
    cache folder must be shared by all ranks: checked first, refused with a clear message."""
    data = config.data
    ensure_shared_dir(data.cache_dir, ctx)
    weights = weights_fingerprint(model.backbone)  # once: hashing ViT-L/14 takes about a second
    backbone_dtype = torch.bfloat16 if ctx.device.type == "cuda" and native_bf16(ctx.device) else \
        (torch.float16 if ctx.device.type == "cuda" else None)
    caches = {}
    for name, records in splits.items():
        if not records:
            continue
        log(f"{name} features:")
        caches[name] = build_cache(model, processor, records, data.cache_dir, batch_size=data.extract_batch_size,
                                   shard_size=data.shard_size, device=ctx.device, log=log,
                                   progress=config.progress and ctx.is_main, rank=ctx.rank,
                                   world_size=ctx.world_size, num_workers=data.num_workers,
                                   backbone_dtype=backbone_dtype, weights=weights)
    ctx.barrier()  # everyone is past its wait: short
    return caches


def _make_loaders(config: TrainConfig, model: GeoLocator, processor, splits: dict[str, list[GeoRecord]],
                  ctx: DistContext, log) -> tuple[DataLoader, dict[str, DataLoader], str, dict]:
    data = config.data
    caches = {}
    if data.use_cache:
        caches = prepare_caches(config, model, processor, splits, ctx, log)
        sets = {name: CachedFeatureDataset(cache) for name, cache in caches.items()}
        key = "features"
        groups = sets["train"].shard_groups()
    else:
        sets = {name: ImageDataset(records, processor) for name, records in splits.items() if records}
        key = "pixel_values"
        groups = [np.arange(len(sets["train"]))]
    sampler = ShardedBatchSampler(groups, config.optim.batch_size, config.seed, ctx.rank, ctx.world_size,
                                  buffer_shards=data.shuffle_buffer_shards)
    # an explicit generator: DataLoader must not draw from the global RNG (exact resume)
    loader_kwargs = dict(num_workers=data.num_workers, collate_fn=collate_skip_none,
                         generator=torch.Generator().manual_seed(config.seed), pin_memory=ctx.device.type == "cuda",
                         persistent_workers=False)
    train_loader = DataLoader(sets["train"], batch_sampler=sampler, **loader_kwargs)
    held_out = {}
    for name, dataset in sets.items():
        if name == "train":
            continue
        in_order = ShardedBatchSampler(sets[name].shard_groups() if key == "features" else [np.arange(len(dataset))],
                                       config.optim.batch_size * 2, 0, drop_last=False, shuffle=False)
        held_out[name] = DataLoader(dataset, batch_sampler=in_order, **loader_kwargs)
    return train_loader, held_out, key, caches


def _save_checkpoint(folder: Path, model: GeoLocator, optimizer, scheduler, scaler, state: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, include_backbone=False)
    rng = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
           "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}
    payload = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
               "scaler": scaler.state_dict() if scaler is not None else None, "state": dict(state), "rng": rng}
    temporary = folder / "trainer_state.pt.tmp"
    torch.save(payload, temporary)
    os.replace(temporary, folder / "trainer_state.pt")


def _restore_rng(rng: dict) -> None:
    torch.set_rng_state(rng["torch"])
    np.random.set_state(rng["numpy"])
    random.setstate(rng["python"])
    if rng.get("cuda") is not None and torch.cuda.is_available() and len(rng["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(rng["cuda"])


def train(config: TrainConfig, resume: bool = False, log: Callable[[str], None] = print) -> Path | None:
    """Train a geoloc model as configured; returns the final model folder (on the main rank)."""
    ctx = init_distributed()
    log = log if ctx.is_main else (lambda _: None)
    try:
        return _train(config, resume, ctx, log)
    finally:
        cleanup_distributed()


def _train(config: TrainConfig, resume: bool, ctx: DistContext, log) -> Path | None:
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    set_seed(config.seed + ctx.rank)
    splits, reports = _load_records(config, log)
    if ctx.is_main:
        for i, report in enumerate(reports):
            report.write(out / f"data_report_{i}.json")
        (out / "train_config.json").write_text(json.dumps(config.to_dict(), indent=2), encoding="utf-8")
        held = {name: [r.name for r in splits[name]] for name in SPLITS if splits.get(name)}
        (out / "splits.json").write_text(json.dumps({"train_count": len(splits["train"]), **held}), encoding="utf-8")
    settings = config.model
    resume_state = None
    if resume and (out / LAST / "trainer_state.pt").exists():
        model = GeoLocator.from_pretrained(out / LAST, load_retrieval=False)
        resume_state = torch.load(out / LAST / "trainer_state.pt", map_location="cpu", weights_only=False)
        log(f"resuming from {out / LAST} (epoch {resume_state['state']['epoch']}, "
            f"batch {resume_state['state'].get('step_in_epoch', 0)})")
    else:
        if resume:
            log(f"no checkpoint in {out / LAST}; starting fresh")
        model = GeoLocator.from_backbone(settings.backbone, log=log, **settings.config_kwargs())
    processor = load_image_processor("", model.config.vision_config, settings.backbone)
    model.to(ctx.device)
    train_loader, held_out, input_key, caches = _make_loaders(config, model, processor, splits, ctx, log)
    sampler: ShardedBatchSampler = train_loader.batch_sampler
    amp_dtype = resolve_amp(config.optim.amp, ctx.device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.optim.lr, weight_decay=config.optim.weight_decay)
    steps_per_epoch = max(1, len(sampler))
    total_steps = steps_per_epoch * config.optim.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_cosine(total_steps, int(config.optim.warmup_fraction * total_steps)))
    scaler = torch.amp.GradScaler(ctx.device.type) if amp_dtype == torch.float16 else None
    state = {"epoch": 0, "step_in_epoch": 0, "loss_sum": 0.0, "seen": 0, "train_seconds": 0.0, "global_step": 0,
             "best_median_km": float("inf"), "best_epoch": -1}
    set_seed(config.seed + ctx.rank)  # training's randomness does not depend on whether the cache existed
    if resume_state is not None:
        optimizer.load_state_dict(resume_state["optimizer"])
        scheduler.load_state_dict(resume_state["scheduler"])
        if scaler is not None and resume_state["scaler"] is not None:
            scaler.load_state_dict(resume_state["scaler"])
        state.update(resume_state["state"])
        _restore_rng(resume_state["rng"])
    net = torch.nn.parallel.DistributedDataParallel(
        model, device_ids=[ctx.local_rank] if ctx.device.type == "cuda" else None) if ctx.enabled else model
    log(f"training {sum(p.numel() for p in trainable):,} head parameters on {ctx.device} x{ctx.world_size}, "
        f"{sampler.total:,} train / {len(held_out['validation'].dataset):,} val items, amp={amp_dtype} (head fp32), "
        f"{'cached features' if input_key == 'features' else _on_the_fly_text(model)}")
    writer = _tensorboard(out) if ctx.is_main else None
    interrupted = {"flag": False}
    previous_handler = signal.signal(signal.SIGTERM, lambda *_: interrupted.update(flag=True)) \
        if _in_main_thread() else None
    metrics_path = out / "metrics.csv"
    try:
        for epoch in range(state["epoch"], config.optim.epochs):
            sampler.set_epoch(epoch, start_batch=state["step_in_epoch"])
            model.train()
            started = time.time()
            for batch in train_loader:
                if batch is not None:
                    inputs, labels = batch[0].to(ctx.device, non_blocking=True), batch[1].to(ctx.device)
                    with torch.autocast(ctx.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                        loss = net(**{input_key: inputs}, labels=labels).loss
                    optimizer_step(loss, optimizer, scaler, trainable, config.optim.grad_clip)
                    state["loss_sum"] += float(loss.detach()) * len(labels)
                    state["seen"] += len(labels)
                scheduler.step()
                state["global_step"] += 1
                state["step_in_epoch"] += 1
                if interrupted["flag"]:
                    state["train_seconds"] += time.time() - started
                    raise KeyboardInterrupt
            state["train_seconds"] += time.time() - started
            loss_sum, seen = reduce_sums(ctx, [state["loss_sum"], float(state["seen"])])
            seconds = reduce_max(ctx, state["train_seconds"])
            if ctx.is_main:
                val = predict_loader(model, held_out["validation"], ctx.device, input_key, amp_dtype)
                metrics = compute_metrics(val.true_lat, val.true_lon, val.lat, val.lon, convention="haversine")
                row = {"epoch": epoch + 1, "train_loss": loss_sum / max(1.0, seen), "val_loss": val.loss,
                       "val_median_km": metrics.median_km, "val_mean_km": metrics.mean_km,
                       **{f"val_within_{k}_pct": v for k, v in metrics.within_pct.items()},
                       "lr": scheduler.get_last_lr()[0], "train_items_per_s": seen / max(seconds, 1e-9)}
                _append_csv(metrics_path, row)
                if writer is not None:
                    for key, value in row.items():
                        if key != "epoch" and value is not None:
                            writer.add_scalar(key, value, epoch + 1)
                if metrics.median_km < state["best_median_km"]:
                    state["best_median_km"], state["best_epoch"] = metrics.median_km, epoch + 1
                    model.save_pretrained(out / BEST, include_backbone=False)
            state.update(epoch=epoch + 1, step_in_epoch=0, loss_sum=0.0, seen=0, train_seconds=0.0)
            if ctx.is_main:
                _save_checkpoint(out / LAST, model, optimizer, scheduler, scaler, state)
                log(f"epoch {epoch + 1}/{config.optim.epochs}: train loss {row['train_loss']:.4f}, val median "
                    f"{metrics.median_km:,.0f} km, {row['train_items_per_s']:,.0f} items/s (all ranks)")
            ctx.barrier()
    except KeyboardInterrupt:
        if ctx.is_main:
            _save_checkpoint(out / LAST, model, optimizer, scheduler, scaler, state)
            log(f"interrupted: checkpoint saved to {out / LAST}; continue with --resume")
        raise
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
        if writer is not None:
            writer.close()
    if not ctx.is_main:
        return None
    return _finalize(config, out, held_out, input_key, amp_dtype, ctx, processor, splits, caches, state, log,
                     split_by=describe_split(splits, reports[0].group_column))


def _on_the_fly_text(model: GeoLocator) -> str:
    """``data.use_cache: false``: the thesis-faithful path that fits (#30): the frozen backbone runs every
    step under the amp dtype (bf16 where native), nothing is cached, and the head sees every token."""
    shape = feature_shape(model)
    return (f"backbone on the fly (frozen, no feature cache): the head sees "
            f"{shape[0] if len(shape) == 2 else 1} tokens per image")


def _finalize(config, out, held_out, input_key, amp_dtype, ctx, processor, splits, caches, state, log,
              split_by: str = "") -> Path:
    """Best checkpoint -> calibrated (on calibration), retrieval-equipped, tested (on test) model folder."""
    model = GeoLocator.from_pretrained(out / BEST, load_retrieval=False).to(ctx.device)
    want_retrieval = config.retrieval and "train" in caches
    if config.retrieval and not want_retrieval:
        log("retrieval: no index (it is built from the feature cache's pooled embeddings; data.use_cache is false)")
    outputs = {name: predict_loader(model, loader, ctx.device, input_key, amp_dtype) for name, loader in
               held_out.items()}
    calibrated = bool(config.calibrate and "calibration" in outputs and outputs["calibration"].kappa is not None)
    if calibrated:
        cal = outputs["calibration"]
        model.config.kappa_scale = fit_kappa_scale(cal.unit, cal.components, cal.weights, cal.kappa,
                                                   cal.true_lat, cal.true_lon)
        log(f"calibration: kappa_scale = {model.config.kappa_scale:.4g} (fitted on {len(cal.lat):,} calibration "
            f"images that neither trained the head nor picked the epoch)")
    evaluation = {name: json.loads(metrics_for(model, value).to_json()) for name, value in outputs.items()}
    if want_retrieval:
        evaluation.update(_build_retrieval(model, caches, outputs, log))
    model.config.trained_on = {
        "train_csv": config.data.train_csv or config.data.images,
        "val_csv": config.data.val_csv or f"{config.data.val_fraction:.0%} split",
        "train_images": len(splits["train"]), "val_images": len(splits["validation"]),
        "calibration_images": len(splits.get("calibration", [])), "test_images": len(splits.get("test", [])),
        "calibrated": calibrated, "epochs": config.optim.epochs, "best_epoch": state["best_epoch"],
        "backbone": config.model.backbone, "seed": config.seed, "held_out_split": split_by,
    }
    model.config.evaluation = evaluation
    final = out / FINAL
    model.save_pretrained(final, include_backbone=True)
    processor.save_pretrained(final)
    report_name = "test" if "test" in outputs else "validation"
    table = GeoMetrics(**{k: v for k, v in evaluation[report_name].items() if k != "convention_text"})
    markdown = table.to_markdown(f"geoloc ({report_name})")
    if "test_refined" in evaluation:
        refined = GeoMetrics(**{k: v for k, v in evaluation["test_refined"].items() if k != "convention_text"})
        markdown += "\n\n" + refined.to_markdown("geoloc + retrieval (test)")
    (out / "evaluation.md").write_text(markdown + "\n", encoding="utf-8")
    log(markdown)
    log(f"model saved to {final}")
    return final


def _build_retrieval(model: GeoLocator, caches: dict, outputs: dict[str, EvalOutputs], log) -> dict:
    """Index the training images' pooled embeddings; fit its threshold on calibration; test it."""
    train_cache = caches["train"]
    valid = train_cache.load()[1]
    labels = train_cache.labels()[valid]
    # from the memory-mapped shards, invalid rows skipped: the gallery is held once (#30)
    index = RetrievalIndex.build(train_cache.pooled_shards(), labels[:, 0], labels[:, 1], keep=valid)
    results = {}
    cal = outputs.get("calibration")
    if cal is not None and "calibration" in caches:
        radius = radii_for(model, cal, (index.region_probability,))
        index.threshold = fit_threshold(index, _queries(caches["calibration"]), cal.unit,
                                        torch.from_numpy(radius[0]) if radius else None, cal.true_lat, cal.true_lon)
    log(describe(index))
    test = outputs.get("test")
    if test is not None and "test" in caches and index.threshold is not None:
        radius = radii_for(model, test, (index.region_probability,))
        unit, moved = index.refine(_queries(caches["test"]), test.unit, torch.from_numpy(radius[0]) if radius else None)
        lat, lon = unit_to_latlon(unit)
        metrics = metrics_for(model, test, lat=lat.numpy(), lon=lon.numpy())
        metrics.extra = {"refined_pct": float(100 * moved.float().mean())}
        results["test_refined"] = json.loads(metrics.to_json())
    model.retrieval = index if index.threshold is not None else None
    if index.threshold is None:
        log("retrieval: no similarity threshold helped on the calibration split; no index saved")
    return results


def _queries(cache) -> torch.Tensor:
    """Pooled embeddings of a held-out cache's valid items, in the order ``predict_loader`` saw them
    (fp16 as cached, read shard by shard; ``RetrievalIndex.search`` normalises them)."""
    valid, parts, offset = cache.load()[1], [], 0
    for shard in cache.pooled_shards():
        parts.append(shard[valid[offset:offset + len(shard)]])  # a copy of the valid rows only
        offset += len(shard)
    return torch.from_numpy(np.concatenate(parts))


def _append_csv(path: Path, row: dict) -> None:
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def _tensorboard(out: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(str(out / "tensorboard"))


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
