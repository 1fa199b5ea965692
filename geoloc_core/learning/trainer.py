"""The training loop: CSV -> feature cache -> head training -> calibration -> evaluated model folder.

Read top to bottom: ``train()`` is the whole story. The backbone is frozen, so by default
its features are cached once (``feature_cache``) and epochs train only the head; with
``data.use_cache: false`` images go through the backbone every step (end-to-end), which
is what the GPU check compares against.

Robustness: a checkpoint every epoch and on interrupt (Ctrl-C / SIGTERM), ``resume=True``
continues from it; the best epoch by validation median error is kept; seeds are fixed.
The output ``OUTPUT/model`` is a complete folder that ``GeoLocator.from_pretrained`` and
the app load directly, with what it was trained on and its evaluation table recorded.
"""
from __future__ import annotations

import csv
import json
import math
import random
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from ..model.calibration import fit_kappa_scale
from .datasets import GeoRecord, load_geo_csv, split_records
from .distributed import DistContext, cleanup_distributed, init_distributed
from .feature_cache import CachedFeatureDataset, build_cache
from ..evidence.imaging import load_rgb
from ..model.inference import load_image_processor
from .metrics import compute_metrics
from ..model.modeling_geolocator import GeoLocator, GeoLocatorOutput
from .train_config import TrainConfig

LAST, BEST, FINAL = "checkpoint-last", "checkpoint-best", "model"


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def resolve_amp(mode: str, device: torch.device) -> torch.dtype | None:
    """bf16 where supported, fp16 (with a gradient scaler) otherwise; none on CPU unless asked."""
    if mode == "off" or (mode == "auto" and device.type != "cuda"):
        return None
    if mode == "bf16" or (mode == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float16


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


def load_image_for_model(path: Path):
    return load_rgb(Path(path).read_bytes())


class ImageDataset(Dataset):
    """End-to-end mode: preprocessed pixels and labels, decoded in DataLoader workers.
    Unreadable images yield None and are dropped by ``collate_skip_none``."""

    def __init__(self, records: list[GeoRecord], image_processor):
        self.records, self.image_processor = records, image_processor

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int):
        record = self.records[i]
        try:
            image = load_image_for_model(record.path)
        except Exception:
            return None
        pixels = self.image_processor(images=[image], return_tensors="pt")["pixel_values"][0]
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
    parts: dict[str, list] = {k: [] for k in ("lat", "lon", "labels", "unit", "components", "weights", "kappa")}
    losses = []
    for batch in loader:
        if batch is None:
            continue
        inputs, labels = batch[0].to(device), batch[1].to(device)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            out = model(**{input_key: inputs}, labels=labels)
        losses.append(float(out.loss) * len(labels))
        for key, value in (("lat", out.lat), ("lon", out.lon), ("labels", labels), ("unit", out.unit),
                           ("components", out.components), ("weights", out.weights), ("kappa", out.kappa)):
            if value is not None:
                parts[key].append(value.float().cpu())
    model.config.kappa_scale = scale
    model.train(was_training)
    labels = torch.cat(parts["labels"])
    return EvalOutputs(torch.cat(parts["lat"]).numpy(), torch.cat(parts["lon"]).numpy(), labels[:, 0].numpy(),
                       labels[:, 1].numpy(), torch.cat(parts["unit"]), torch.cat(parts["components"]),
                       torch.cat(parts["weights"]), torch.cat(parts["kappa"]) if parts["kappa"] else None,
                       sum(losses) / max(1, len(labels)))


def radii90_for(model: GeoLocator, outputs: EvalOutputs) -> np.ndarray | None:
    if outputs.kappa is None:
        return None
    scaled = GeoLocatorOutput(unit=outputs.unit, components=outputs.components, weights=outputs.weights,
                              kappa=outputs.kappa * model.config.kappa_scale)
    return model.region_radii_km(scaled, probabilities=(0.9,), samples=1024)[0].numpy()


def _make_loaders(config: TrainConfig, model: GeoLocator, processor, train_records, val_records,
                  ctx: DistContext, log) -> tuple[DataLoader, DataLoader, str]:
    data = config.data
    if data.use_cache:
        caches = []
        for name, records in (("train", train_records), ("val", val_records)):
            if ctx.is_main:
                log(f"{name} features:")
                caches.append(build_cache(model, processor, records, data.cache_dir, load_image_for_model,
                                          batch_size=data.extract_batch_size, device=ctx.device, log=log,
                                          progress=config.progress))
            ctx.barrier()
        if not ctx.is_main:  # the other ranks open what rank 0 wrote
            caches = [build_cache(model, processor, r, data.cache_dir, load_image_for_model, device=ctx.device,
                                  log=lambda _: None, progress=False) for r in (train_records, val_records)]
        train_set, val_set, key = CachedFeatureDataset(caches[0]), CachedFeatureDataset(caches[1]), "features"
        workers = 0  # memory-mapped reads are cheap; no worker processes needed
    else:
        train_set, val_set, key = ImageDataset(train_records, processor), ImageDataset(val_records, processor), \
            "pixel_values"
        workers = data.num_workers
    sampler = DistributedSampler(train_set, seed=config.seed) if ctx.enabled else None
    generator = torch.Generator().manual_seed(config.seed)
    train_loader = DataLoader(train_set, batch_size=config.optim.batch_size, shuffle=sampler is None, sampler=sampler,
                              num_workers=workers, collate_fn=collate_skip_none, drop_last=len(train_set) >
                              config.optim.batch_size * ctx.world_size, generator=generator,
                              pin_memory=ctx.device.type == "cuda")
    val_loader = DataLoader(val_set, batch_size=config.optim.batch_size * 2, shuffle=False, num_workers=workers,
                            collate_fn=collate_skip_none)
    return train_loader, val_loader, key


def _load_records(config: TrainConfig, log) -> tuple[list[GeoRecord], list[GeoRecord], list[dict]]:
    data = config.data
    records, report = load_geo_csv(data.train_csv, data.images)
    log(report.summary())
    reports = [report]
    if data.val_csv:
        val_records, val_report = load_geo_csv(data.val_csv, data.val_images or data.images)
        log(val_report.summary())
        reports.append(val_report)
        train_records = records
    else:
        train_records, val_records = split_records(records, data.val_fraction, config.seed)
    if not train_records or not val_records:
        raise ValueError("training needs at least one usable training and one validation image; see the data report")
    return train_records, val_records, reports


def _save_checkpoint(folder: Path, model: GeoLocator, optimizer, scheduler, scaler, state: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, include_backbone=False)
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict() if scaler is not None else None, "state": state,
                "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}},
               folder / "trainer_state.pt")


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
    train_records, val_records, reports = _load_records(config, log)
    if ctx.is_main:
        for i, report in enumerate(reports):
            report.write(out / f"data_report_{i}.json")
        (out / "train_config.json").write_text(json.dumps(config.to_dict(), indent=2), encoding="utf-8")
    settings = config.model
    resume_state = None
    if resume and (out / LAST / "trainer_state.pt").exists():
        model = GeoLocator.from_pretrained(out / LAST)
        resume_state = torch.load(out / LAST / "trainer_state.pt", weights_only=False)
        log(f"resuming from {out / LAST} (epoch {resume_state['state']['epoch']})")
    else:
        if resume:
            log(f"no checkpoint in {out / LAST}; starting fresh")
        model = GeoLocator.from_backbone(settings.backbone, **settings.config_kwargs())
    processor = load_image_processor("", model.config.vision_config, settings.backbone)
    model.to(ctx.device)
    train_loader, val_loader, input_key = _make_loaders(config, model, processor, train_records, val_records, ctx, log)
    amp_dtype = resolve_amp(config.optim.amp, ctx.device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.optim.lr, weight_decay=config.optim.weight_decay)
    steps_per_epoch = max(1, len(train_loader))
    total_steps = steps_per_epoch * config.optim.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_cosine(total_steps, int(config.optim.warmup_fraction * total_steps)))
    scaler = torch.amp.GradScaler(ctx.device.type) if amp_dtype == torch.float16 else None
    state = {"epoch": 0, "global_step": 0, "best_median_km": float("inf"), "best_epoch": -1}
    if resume_state is not None:
        optimizer.load_state_dict(resume_state["optimizer"])
        scheduler.load_state_dict(resume_state["scheduler"])
        if scaler is not None and resume_state["scaler"] is not None:
            scaler.load_state_dict(resume_state["scaler"])
        state = resume_state["state"]
        rng = resume_state["rng"]
        torch.set_rng_state(rng["torch"])
        np.random.set_state(rng["numpy"])
        random.setstate(rng["python"])
    net = torch.nn.parallel.DistributedDataParallel(
        model, device_ids=[ctx.local_rank] if ctx.device.type == "cuda" else None) if ctx.enabled else model
    log(f"training {sum(p.numel() for p in trainable):,} head parameters on {ctx.device} x{ctx.world_size}, "
        f"{len(train_loader.dataset):,} train / {len(val_loader.dataset):,} val items, amp={amp_dtype}, "
        f"{'cached features' if input_key == 'features' else 'end-to-end'}")
    writer = _tensorboard(out) if ctx.is_main else None
    interrupted = {"flag": False}
    previous_handler = signal.signal(signal.SIGTERM, lambda *_: interrupted.update(flag=True)) \
        if _in_main_thread() else None
    metrics_path = out / "metrics.csv"
    try:
        for epoch in range(state["epoch"], config.optim.epochs):
            if isinstance(train_loader.sampler, DistributedSampler):
                train_loader.sampler.set_epoch(epoch)
            model.train()
            started, loss_sum, seen = time.time(), 0.0, 0
            for batch in train_loader:
                if batch is None:
                    continue
                inputs, labels = batch[0].to(ctx.device, non_blocking=True), batch[1].to(ctx.device)
                with torch.autocast(ctx.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                    loss = net(**{input_key: inputs}, labels=labels).loss
                optimizer_step(loss, optimizer, scaler, trainable, config.optim.grad_clip)
                scheduler.step()
                state["global_step"] += 1
                loss_sum += float(loss.detach()) * len(labels)
                seen += len(labels)
                if interrupted["flag"]:
                    raise KeyboardInterrupt
            train_seconds = time.time() - started
            state["epoch"] = epoch + 1
            if ctx.is_main:
                val = predict_loader(model, val_loader, ctx.device, input_key, amp_dtype)
                metrics = compute_metrics(val.true_lat, val.true_lon, val.lat, val.lon, radii90_for(model, val),
                                          convention="haversine")
                row = {"epoch": epoch + 1, "train_loss": loss_sum / max(1, seen), "val_loss": val.loss,
                       "val_median_km": metrics.median_km, "val_mean_km": metrics.mean_km,
                       **{f"val_within_{k}_pct": v for k, v in metrics.within_pct.items()},
                       "val_coverage90_pct": metrics.coverage90_pct, "lr": scheduler.get_last_lr()[0],
                       "train_items_per_s": seen / max(train_seconds, 1e-9)}
                _append_csv(metrics_path, row)
                if writer is not None:
                    for key, value in row.items():
                        if key != "epoch" and value is not None:
                            writer.add_scalar(key, value, epoch + 1)
                log(f"epoch {epoch + 1}/{config.optim.epochs}: train loss {row['train_loss']:.4f}, val median "
                    f"{metrics.median_km:,.0f} km, {row['train_items_per_s']:,.0f} items/s")
                if metrics.median_km < state["best_median_km"]:
                    state["best_median_km"], state["best_epoch"] = metrics.median_km, epoch + 1
                    model.save_pretrained(out / BEST, include_backbone=False)
                _save_checkpoint(out / LAST, model, optimizer, scheduler, scaler, state)
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
    return _finalize(config, out, val_loader, input_key, amp_dtype, ctx, processor, train_records, val_records,
                     state, log)


def _finalize(config, out, val_loader, input_key, amp_dtype, ctx, processor, train_records, val_records, state,
              log) -> Path:
    """Best checkpoint -> calibrated, evaluated, self-contained model folder."""
    model = GeoLocator.from_pretrained(out / BEST).to(ctx.device)
    val = predict_loader(model, val_loader, ctx.device, input_key, amp_dtype)
    if config.calibrate and val.kappa is not None:
        model.config.kappa_scale = fit_kappa_scale(val.unit, val.components, val.weights, val.kappa,
                                                   val.true_lat, val.true_lon)
        log(f"calibration: kappa_scale = {model.config.kappa_scale:.4g} (90 % regions fitted on validation)")
    metrics = compute_metrics(val.true_lat, val.true_lon, val.lat, val.lon, radii90_for(model, val))
    model.config.trained_on = {
        "train_csv": config.data.train_csv, "val_csv": config.data.val_csv or f"{config.data.val_fraction:.0%} split",
        "train_images": len(train_records), "val_images": len(val_records), "epochs": config.optim.epochs,
        "best_epoch": state["best_epoch"], "backbone": config.model.backbone, "seed": config.seed,
    }
    model.config.evaluation = {"validation": json.loads(metrics.to_json())}
    final = out / FINAL
    model.save_pretrained(final, include_backbone=True)
    processor.save_pretrained(final)
    (out / "evaluation.md").write_text(metrics.to_markdown("geoloc (validation)"), encoding="utf-8")
    log(metrics.to_markdown("geoloc (validation)"))
    log(f"model saved to {final}")
    return final


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
