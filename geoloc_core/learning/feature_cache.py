"""Cache of frozen-backbone outputs, so that every epoch after the first trains only the head.

Because the CLIP backbone never changes, its outputs for an image never change either:
run it once, store the outputs (fp16), and train the head from memory-mapped shards.

Layout of a cache folder ``ROOT/<key>/``:
* ``meta.json``: the key's ingredients (backbone, its config, preprocessing, feature
  source), feature shape, number of items, shard size;
* ``items.csv``: the records in cache order (path, lat, lon) - labels travel with features;
* ``shard_00000.npy`` ...: fp16 arrays of ``shard_size`` items, written to a temporary name and
  renamed when complete, so an interrupted extraction resumes at the first missing shard;
* ``valid_00000.npy`` ...: per item, whether its image could be decoded.

The key is a hash of everything that changes the features (backbone, its config,
preprocessing, feature source, the list of items), so a different backbone, preprocessing
or data set can never silently reuse a stale cache.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from .datasets import GeoRecord
from ..model.inference import square_size

DEFAULT_SHARD_SIZE = 4096


def _items_text(records: Sequence[GeoRecord]) -> str:
    return "".join(f"{r.path}\t{r.lat:.7f}\t{r.lon:.7f}\n" for r in records)


def cache_key(model, image_processor, records: Sequence[GeoRecord]) -> str:
    """Hash of everything that determines the cached arrays: backbone, preprocessing, items."""
    ingredients = {
        "items": hashlib.sha256(_items_text(records).encode()).hexdigest(),
        "backbone": model.config.backbone_name_or_path,
        "vision_config": model.config.vision_config.to_dict(),
        "feature_source": model.config.feature_source,
        "preprocessing": image_processor.to_dict(),
    }
    for volatile in ("transformers_version", "_name_or_path"):
        ingredients["vision_config"].pop(volatile, None)
    blob = json.dumps(ingredients, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def feature_shape(model) -> tuple[int, ...]:
    vision = model.config.vision_config
    if model.config.feature_source == "pooled":
        return (vision.hidden_size,)
    return ((square_size(vision.image_size) // square_size(vision.patch_size)) ** 2 + 1, vision.hidden_size)


def disk_cost_bytes(model, n_items: int) -> int:
    return int(np.prod(feature_shape(model))) * 2 * n_items  # fp16


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TB"


@dataclass
class FeatureCache:
    folder: Path

    @property
    def meta(self) -> dict:
        return json.loads((self.folder / "meta.json").read_text(encoding="utf-8"))

    def shard_paths(self) -> list[Path]:
        return sorted(self.folder.glob("shard_*.npy"))

    def is_complete(self) -> bool:
        meta = self.meta
        return len(self.shard_paths()) == -(-meta["num_items"] // meta["shard_size"])

    def records(self) -> list[GeoRecord]:
        with (self.folder / "items.csv").open(encoding="utf-8") as handle:
            return [GeoRecord(Path(r["path"]), float(r["lat"]), float(r["lon"])) for r in csv.DictReader(handle)]

    def load(self) -> tuple[list[np.ndarray], np.ndarray]:
        """Memory-mapped feature shards and the validity mask (not loaded into RAM)."""
        shards = [np.load(p, mmap_mode="r") for p in self.shard_paths()]
        valid = np.concatenate([np.load(p) for p in sorted(self.folder.glob("valid_*.npy"))])
        return shards, valid


def build_cache(model, image_processor, records: Sequence[GeoRecord], root: str | Path,
                load_image: Callable[[Path], object], batch_size: int = 64, shard_size: int = DEFAULT_SHARD_SIZE,
                device: torch.device | None = None, log: Callable[[str], None] = print,
                progress: bool = True) -> FeatureCache:
    """Extract (or resume extracting) backbone features for ``records`` into ``root/<key>/``.

    ``load_image(path)`` returns an RGB PIL image or raises; failures are stored as invalid
    items and reported, never fatal."""
    from tqdm import tqdm

    device = device or torch.device("cpu")
    key = cache_key(model, image_processor, records)
    folder = Path(root) / key
    folder.mkdir(parents=True, exist_ok=True)
    shape = feature_shape(model)
    meta = {"key": key, "backbone": model.config.backbone_name_or_path, "feature_source": model.config.feature_source,
            "feature_shape": list(shape), "dtype": "float16", "num_items": len(records), "shard_size": shard_size}
    meta_path = folder / "meta.json"
    items_path = folder / "items.csv"
    if meta_path.exists():  # resuming: the key guarantees the same items and backbone
        if json.loads(meta_path.read_text(encoding="utf-8")) != meta:
            raise ValueError(f"{folder} holds a cache with other settings (shard size?); remove it to rebuild")
    else:
        with items_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "lat", "lon"])
            writer.writerows([str(r.path), f"{r.lat:.7f}", f"{r.lon:.7f}"] for r in records)
        meta_path.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    log(f"feature cache {folder}: {len(records):,} items x {shape} fp16 = "
        f"{human_bytes(disk_cost_bytes(model, len(records)))} on disk")
    model = model.to(device).eval()
    dtype = next(model.backbone.parameters()).dtype
    n_shards = -(-len(records) // shard_size)
    failures = 0
    bar = tqdm(total=len(records), unit="img", desc="extracting features", disable=not progress)
    for shard in range(n_shards):
        target = folder / f"shard_{shard:05d}.npy"
        start, stop = shard * shard_size, min(len(records), (shard + 1) * shard_size)
        if target.exists():
            bar.update(stop - start)
            continue
        temporary = folder / f"shard_{shard:05d}.tmp.npy"
        array = np.lib.format.open_memmap(temporary, mode="w+", dtype=np.float16, shape=(stop - start, *shape))
        valid = np.zeros(stop - start, dtype=bool)
        for batch_start in range(start, stop, batch_size):
            batch_records = records[batch_start:min(stop, batch_start + batch_size)]
            images, positions = [], []
            for offset, record in enumerate(batch_records):
                try:
                    images.append(load_image(record.path))
                    positions.append(batch_start - start + offset)
                except Exception:
                    failures += 1
            if images:
                pixels = image_processor(images=images, return_tensors="pt")["pixel_values"].to(device, dtype)
                features = model.extract_features(pixels).float().cpu().numpy().astype(np.float16)
                array[positions] = features
                valid[positions] = True
            bar.update(len(batch_records))
        array.flush()
        del array
        np.save(folder / f"valid_{shard:05d}.npy", valid)
        os.replace(temporary, target)
    bar.close()
    if failures:
        log(f"{failures} images could not be decoded; they are marked invalid in the cache and skipped")
    return FeatureCache(folder)


class CachedFeatureDataset(torch.utils.data.Dataset):
    """(features fp16, (lat, lon)) pairs from a complete cache, valid items only."""

    def __init__(self, cache: FeatureCache):
        self.shards, valid = cache.load()
        self.shard_size = cache.meta["shard_size"]
        records = cache.records()
        self.indices = np.flatnonzero(valid)
        self.labels = torch.tensor([[records[i].lat, records[i].lon] for i in self.indices], dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        index = int(self.indices[i])
        row = self.shards[index // self.shard_size][index % self.shard_size]
        return torch.from_numpy(np.array(row)), self.labels[i]
