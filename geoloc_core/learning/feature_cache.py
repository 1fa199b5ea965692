"""Cache of frozen-backbone outputs, so that every epoch after the first trains only the head.

Because the CLIP backbone never changes, its outputs for an image never change either:
run it once, store the outputs (fp16), and train the head from memory-mapped shards.

Layout of a cache folder ``ROOT/<key>/``:
* ``meta.json``: the key's ingredients (backbone, its config, preprocessing, feature
  source), feature shape, number of items, shard size;
* ``items.csv``: the records in cache order (path, lat, lon) - labels travel with features;
* ``shard_00000.npy`` ...: fp16 arrays of ``shard_size`` items, written to a temporary name and
  renamed when complete, so an interrupted extraction resumes at the first missing shard;
* ``valid_00000.npy`` ...: per item, whether its image could be decoded;
* ``pooled_00000.npy`` ...: per item, the pooled CLIP embedding (fp16; 2 KB for ViT-L/14), which
  the retrieval index is built from.

The key is a hash of everything that changes the features (the backbone's *weights*, its
config, preprocessing, feature source, the list of items), so new weights saved in the same
folder, a different preprocessing or data set can never silently reuse a stale cache.

Scale (MP-16: 4.7 M images, 2.4 TB of ViT-L/14 tokens):
* every rank extracts its own shards (shard i belongs to rank i mod world size), images are
  decoded in DataLoader worker processes, the backbone runs in fp16/bf16 on CUDA;
* a rank that finishes early waits by watching the folder, not in a collective, so no
  NCCL/Gloo timeout can abort a long extraction;
* free disk space is checked before the first shard is written;
* shards and validity masks are written under writer-unique temporary names (host and
  process id) and renamed atomically, so even two writers of one shard cannot corrupt it.
The cache must be on storage all nodes share (checked by the trainer, ``ensure_shared_dir``).

Reading (``CachedFeatureDataset.__getitems__``) takes a whole batch at once, sorted by
position, and the trainer's ``ShardedBatchSampler`` draws each batch from a bounded buffer of a few shards
(a new permutation of shards each epoch, #30), so an epoch reads the cache a few shards at a time instead
of at random over terabytes, and no batch is one slice of the CSV's order.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from .datasets import GeoRecord, read_record_bytes
from ..evidence.imaging import load_rgb
from ..model.clip_input import ClipInputSpec
from ..model.preprocessing import model_input_side, square_size

DEFAULT_SHARD_SIZE = 4096


def _items_text(records: Sequence[GeoRecord]) -> str:
    return "".join(f"{r.name}\t{r.lat:.7f}\t{r.lon:.7f}\n" for r in records)


def weights_fingerprint(module: torch.nn.Module) -> str:
    """SHA-256 of every backbone tensor (name, dtype, shape, bytes) in fp32, so that the same weights
    give the same key whether the backbone is held in fp32 or half precision. About a second per GB."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        value = tensor.detach().to("cpu", torch.float32).contiguous() if tensor.is_floating_point() else \
            tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{value.dtype}|{tuple(value.shape)}|".encode())
        digest.update(value.numpy().tobytes())
    return digest.hexdigest()


def cache_key(model, image_processor, records: Sequence[GeoRecord], weights: str | None = None) -> str:
    """Hash of everything that determines the cached arrays: backbone weights and config,
    preprocessing, feature source, items. ``weights``: a precomputed ``weights_fingerprint``."""
    ingredients = {
        "items": hashlib.sha256(_items_text(records).encode()).hexdigest(),
        "weights": weights or weights_fingerprint(model.backbone),
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
        return sorted(p for p in self.folder.glob("shard_*.npy") if ".tmp" not in p.name)

    def is_complete(self) -> bool:
        meta = self.meta
        return len(self.shard_paths()) == -(-meta["num_items"] // meta["shard_size"])

    def records(self) -> list[GeoRecord]:
        with (self.folder / "items.csv").open(encoding="utf-8") as handle:
            return [GeoRecord(Path(r["path"]), float(r["lat"]), float(r["lon"]), int(r.get("offset") or -1),
                              int(r.get("size") or -1)) for r in csv.DictReader(handle)]

    def labels(self) -> np.ndarray:
        """(N, 2) float32 latitude, longitude of every item in cache order."""
        with (self.folder / "items.csv").open(encoding="utf-8") as handle:
            return np.array([(float(r["lat"]), float(r["lon"])) for r in csv.DictReader(handle)], dtype=np.float32)

    def pooled(self) -> np.ndarray:
        """(N, H) fp16 pooled embeddings of all items (zeros where invalid), for the retrieval index:
        the backbone's own pooler output, not recomputed from an fp16-rounded CLS token."""
        return np.concatenate(list(self.pooled_shards()))

    def pooled_shards(self) -> Iterator[np.ndarray]:
        """The same, one memory-mapped shard at a time, each opened only when asked for and unmapped once
        dropped: the retrieval index is built from these holding the gallery once (#30)."""
        for path in sorted(self.folder.glob("pooled_*.npy")):
            if ".tmp" not in path.name:
                yield np.load(path, mmap_mode="r")

    def load(self) -> tuple[list[np.ndarray], np.ndarray]:
        """Memory-mapped feature shards and the validity mask (not loaded into RAM)."""
        shards = [np.load(p, mmap_mode="r") for p in self.shard_paths()]
        valid = np.concatenate([np.load(p) for p in sorted(self.folder.glob("valid_*.npy")) if ".tmp" not in p.name])
        return shards, valid


def default_image_loader(image_processor):
    """The decoding inference uses (``preprocessing.decode_for_model``): EXIF orientation, RGB, JPEG draft
    at the side the model's processor resizes to."""
    return _Loader(model_input_side(image_processor))


class _Loader:
    """Picklable (DataLoader workers): reads a record's bytes (file or tar member) and decodes them."""

    def __init__(self, draft_side: int | None):
        self.draft_side, self.handles = draft_side, {}

    def __call__(self, record: GeoRecord):
        return load_rgb(read_record_bytes(record, self.handles), draft_side=self.draft_side)

    def __getstate__(self):
        return {"draft_side": self.draft_side, "handles": {}}


def model_pixels(image, image_processor, input_spec: ClipInputSpec | None) -> torch.Tensor:
    """One decoded picture -> the (3, H, W) float32 input, by the crop inference uses when the processor
    follows CLIP's recipe (``ClipInputSpec``: the processor's pixels bit for bit), else the processor."""
    if input_spec is not None:
        return input_spec.pixel_values([input_spec.crop_of(image)])[0]
    return image_processor(images=[image], return_tensors="pt")["pixel_values"][0]


class _ExtractionItems(torch.utils.data.Dataset):
    """One shard's images, decoded and preprocessed in DataLoader workers; failures yield None."""

    def __init__(self, records: Sequence[GeoRecord], image_processor, load_image: Callable):
        self.records, self.image_processor, self.load_image = records, image_processor, load_image
        self.input_spec = ClipInputSpec.from_processor(image_processor)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int):
        try:
            image = self.load_image(self.records[i])
            return i, model_pixels(image, self.image_processor, self.input_spec)
        except Exception:  # hostile or broken files: counted and marked invalid, never fatal
            return i, None


def _collate_positions(batch):
    good = [(i, pixels) for i, pixels in batch if pixels is not None]
    failed = [i for i, pixels in batch if pixels is None]
    pixels = torch.stack([p for _, p in good]) if good else None
    return [i for i, _ in good], pixels, failed


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    temporary = path.with_name(f"{path.stem}.tmp-{socket.gethostname()}-{os.getpid()}{path.suffix}")
    write(temporary)
    os.replace(temporary, path)


def check_free_disk(folder: Path, needed_bytes: int, log: Callable[[str], None]) -> None:
    free = shutil.disk_usage(folder).free
    if needed_bytes > 0.98 * free:
        raise OSError(f"not enough disk for the feature cache in {folder}: it needs {human_bytes(needed_bytes)} more, "
                      f"{human_bytes(free)} are free. Free space, choose another data.cache_dir, or use "
                      f"model.feature_source: pooled (about 250x smaller than all tokens)")
    log(f"disk: {human_bytes(needed_bytes)} to write, {human_bytes(free)} free")


def build_cache(model, image_processor, records: Sequence[GeoRecord], root: str | Path,
                load_image: Callable[[GeoRecord], object] | None = None, batch_size: int = 64,
                shard_size: int = DEFAULT_SHARD_SIZE, device: torch.device | None = None,
                log: Callable[[str], None] = print, progress: bool = True, rank: int = 0, world_size: int = 1,
                num_workers: int = 0, backbone_dtype: torch.dtype | None = None, weights: str | None = None,
                poll_s: float = 2.0) -> FeatureCache:
    """Extract (or resume extracting) backbone features for ``records`` into ``root/<key>/``.

    Rank ``rank`` of ``world_size`` extracts shards ``rank, rank + world_size, ...`` and then waits
    (without a collective) until every shard exists. ``load_image(record)`` returns an RGB PIL image
    or raises (default: the predictor's own decoding); failures are stored as invalid items and
    reported, never fatal. ``backbone_dtype`` (fp16/bf16 on CUDA) applies to extraction only."""
    device = device or torch.device("cpu")
    load_image = load_image or default_image_loader(image_processor)
    key = cache_key(model, image_processor, records, weights)
    folder = Path(root) / key
    folder.mkdir(parents=True, exist_ok=True)
    shape = feature_shape(model)
    meta = {"key": key, "backbone": model.config.backbone_name_or_path, "feature_source": model.config.feature_source,
            "feature_shape": list(shape), "dtype": "float16", "num_items": len(records), "shard_size": shard_size}
    meta_path = folder / "meta.json"
    if meta_path.exists():  # resuming: the key guarantees the same items and backbone
        if json.loads(meta_path.read_text(encoding="utf-8")) != meta:
            raise ValueError(f"{folder} holds a cache with other settings (shard size?); remove it to rebuild")
    else:  # every rank writes the same content; atomic renames make the race harmless
        def write_items(path: Path) -> None:
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["path", "lat", "lon", "offset", "size"])
                writer.writerows([str(r.path), f"{r.lat:.7f}", f"{r.lon:.7f}", r.offset, r.size] for r in records)

        _atomic_write(folder / "items.csv", write_items)
        _atomic_write(meta_path, lambda path: path.write_text(json.dumps(meta, indent=2), encoding="utf-8"))
    n_shards = -(-len(records) // shard_size)
    mine = [shard for shard in range(n_shards) if shard % world_size == rank
            and not (folder / f"shard_{shard:05d}.npy").exists()]
    per_item = int(np.prod(shape)) * 2
    log(f"feature cache {folder}: {len(records):,} items x {shape} fp16 = "
        f"{human_bytes(disk_cost_bytes(model, len(records)))} on disk; this rank extracts {len(mine)} of {n_shards} "
        f"shards")
    if mine:
        missing = sum(1 for s in range(n_shards) if not (folder / f"shard_{s:05d}.npy").exists())
        check_free_disk(folder, missing * shard_size * per_item, log)
    failures = _extract_shards(model, image_processor, records, folder, mine, shard_size, shape, load_image,
                               batch_size, device, num_workers, backbone_dtype, progress)
    if failures:
        log(f"{failures} images could not be decoded; they are marked invalid in the cache and skipped")
    cache = FeatureCache(folder)
    waited, last_note = 0.0, time.monotonic()
    while not cache.is_complete():  # other ranks still extracting: watch the folder, no collective timeout
        time.sleep(poll_s)
        waited += poll_s
        if time.monotonic() - last_note > 60:
            log(f"waiting for other ranks: {len(cache.shard_paths())} of {n_shards} shards done ({waited:,.0f} s)")
            last_note = time.monotonic()
    return cache


def _extract_shards(model, image_processor, records, folder: Path, shards: list[int], shard_size: int, shape,
                    load_image, batch_size: int, device: torch.device, num_workers: int,
                    backbone_dtype: torch.dtype | None, progress: bool) -> int:
    from tqdm import tqdm

    if not shards:
        return 0
    model = model.to(device).eval()
    original_dtype = next(model.backbone.parameters()).dtype
    if backbone_dtype is not None:
        model.backbone.to(backbone_dtype)
    dtype = next(model.backbone.parameters()).dtype
    failures = 0
    bar = tqdm(total=sum(min(len(records), (s + 1) * shard_size) - s * shard_size for s in shards), unit="img",
               desc="extracting features", disable=not progress)
    try:
        for shard in shards:
            start, stop = shard * shard_size, min(len(records), (shard + 1) * shard_size)
            loader = torch.utils.data.DataLoader(
                _ExtractionItems(records[start:stop], image_processor, load_image), batch_size=batch_size,
                num_workers=num_workers, collate_fn=_collate_positions, pin_memory=device.type == "cuda",
                generator=torch.Generator().manual_seed(shard))  # never draws from the global RNG
            target = folder / f"shard_{shard:05d}.npy"
            temporary = target.with_name(f"{target.stem}.tmp-{socket.gethostname()}-{os.getpid()}.npy")
            array = np.lib.format.open_memmap(temporary, mode="w+", dtype=np.float16, shape=(stop - start, *shape))
            valid = np.zeros(stop - start, dtype=bool)
            pooled = np.zeros((stop - start, shape[-1]), dtype=np.float16)  # the retrieval embedding
            for positions, pixels, failed in loader:
                failures += len(failed)
                if pixels is not None:
                    with torch.inference_mode():
                        features, pooled_out = model.extract_features(pixels.to(device, dtype, non_blocking=True),
                                                                      return_pooled=True)
                    array[positions] = features.to(torch.float16).cpu().numpy()
                    pooled[positions] = pooled_out.to(torch.float16).cpu().numpy()
                    valid[positions] = True
                bar.update(len(positions) + len(failed))
            array.flush()
            del array
            _atomic_write(folder / f"valid_{shard:05d}.npy", lambda path: np.save(path, valid))
            _atomic_write(folder / f"pooled_{shard:05d}.npy", lambda path: np.save(path, pooled))
            os.replace(temporary, target)  # the shard appears only when complete
    finally:
        bar.close()
        if backbone_dtype is not None:
            model.backbone.to(original_dtype)
    return failures


class CachedFeatureDataset(torch.utils.data.Dataset):
    """(features fp16, (lat, lon)) pairs from a complete cache, valid items only.

    ``__getitems__`` (used by DataLoader for a whole batch) reads the batch's rows in position
    order, shard by shard; ``shard_groups`` tells the sampler which items share a shard."""

    def __init__(self, cache: FeatureCache):
        self.shards, valid = cache.load()
        self.shard_size = cache.meta["shard_size"]
        labels = cache.labels()
        self.indices = np.flatnonzero(valid)
        self.labels = torch.from_numpy(labels[self.indices].copy())

    def __len__(self) -> int:
        return len(self.indices)

    def shard_groups(self) -> list[np.ndarray]:
        """Dataset positions grouped by the shard that holds them, in cache order."""
        owner = self.indices // self.shard_size
        cuts = np.flatnonzero(np.diff(owner)) + 1
        return np.split(np.arange(len(self.indices)), cuts) if len(self.indices) else []

    def __getitem__(self, i: int):
        index = int(self.indices[i])
        row = self.shards[index // self.shard_size][index % self.shard_size]
        return torch.from_numpy(np.array(row)), self.labels[i]

    def __getitems__(self, positions: list[int]):
        order = np.argsort(positions, kind="stable")
        rows = [None] * len(positions)
        sorted_positions = np.asarray(positions)[order]
        global_index = self.indices[sorted_positions]
        for shard in np.unique(global_index // self.shard_size):
            chosen = np.flatnonzero(global_index // self.shard_size == shard)
            block = self.shards[shard][global_index[chosen] % self.shard_size]  # one ascending read
            for j, row in zip(chosen, block):
                rows[order[j]] = torch.from_numpy(np.array(row))
        return [(rows[k], self.labels[positions[k]]) for k in range(len(positions))]
