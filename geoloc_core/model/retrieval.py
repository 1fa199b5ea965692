"""Retrieval refinement: move a regressed point onto a training image that looks the same.

Regression averages: it places an image in the right region but almost never within 1 km.
A landmark seen in training, though, can be located to street level by finding its training
photos again (GeoCLIP's GPS gallery and PIGEON's refinement do this). The index holds the
training set's pooled CLIP embeddings (unit-normalised, fp16) with their GPS; at inference
the k most similar training images are retrieved, those outside the regressor's predicted
99 % region are discarded (so a look-alike on another continent cannot pull the point away), and
the point moves only onto a *place photographed several times*: a retrieved image counts when
at least ``min_support`` of the retrieved images (itself included) lie within ``cluster_km``
of it. That is what a landmark is in Flickr-style data (MP-16), and it keeps an ordinary
photo, whose nearest neighbours are scattered look-alikes, on the regressor's point; the
refined point is the mean of the supporting images' locations.

The most similar supported image must also pass one threshold on cosine similarity, fitted on
the calibration split (``fit_threshold``): the value that minimises the mean log error there,
or none at all (refinement off) when moving points never helps.

Search is exact (a matrix product in chunks with a running top-k, on the query's device):
no new dependency, no training of an approximate index, bit-reproducible. Memory is
2 bytes x dim + 8 bytes per image (2.06 GB per million images for ViT-L/14's 1024-d
embedding); an exact query costs one pass over that memory. FAISS (IVF-PQ) becomes worth its
weight only beyond tens of millions of images or for CPU-only servers with strict latency.

Memory bounds (#30): besides the queries themselves (Q x dim floats) and their top k, a search
holds one similarity block of ``query_chunk`` x ``chunk`` floats and one float copy of ``chunk``
gallery rows, whatever the number of queries (the trainer asks tens of thousands at once: the
whole calibration split), and ``build`` writes
the fp16 index row block by row block from the cache's memory-mapped shards, so the gallery is
held once. Peak memory per million images: ``benchmarks/bench_retrieval_memory.py``.
Saved beside the model as ``retrieval.safetensors`` + ``retrieval.json``; optional.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from .distributions import angle_between, latlon_to_unit, unit_to_latlon
from ..places.geodesy import EARTH_RADIUS_KM

INDEX_FILE, META_FILE = "retrieval.safetensors", "retrieval.json"


@dataclass
class RetrievalIndex:
    embeddings: torch.Tensor  # (N, D) fp16, unit norm
    lat: torch.Tensor  # (N,) float32 degrees
    lon: torch.Tensor
    threshold: float | None = None  # cosine similarity needed to move the point; None = refinement off
    k: int = 16
    region_probability: float = 0.99  # the region searched: the regressor's region of this probability
    min_region_km: float = 25.0  # ... but never smaller than this
    min_support: int = 2  # retrieved photos of one place needed to move the point there
    cluster_km: float = 1.0  # how close photos must be to count as one place
    chunk: int = 32_768  # gallery rows per block (a float copy of one block: chunk x dim x 4 bytes)
    query_chunk: int = 1_024  # queries per block (similarities: query_chunk x chunk x 4 bytes = 128 MiB)

    @classmethod
    def build(cls, embeddings, lat, lon, keep=None, **settings) -> "RetrievalIndex":
        """Index (N, D) embeddings: a tensor, an array, or an iterable of such blocks read in order (a feature
        cache's memory-mapped shards, opened one at a time); ``keep`` an optional boolean mask over all their
        rows (valid items). Rows are normalised ``chunk`` at a time into the one fp16 tensor the index keeps,
        and each block is dropped once read, so building holds the gallery once (plus one float block), not
        a float32 copy and a second fp16 one."""
        if isinstance(embeddings, (torch.Tensor, np.ndarray)):
            embeddings = [embeddings]
        mask = None if keep is None else torch.as_tensor(np.asarray(keep, dtype=bool))
        if mask is None:
            embeddings = list(embeddings)  # the row count must be known before the first block is read
            total = sum(int(block.shape[0]) for block in embeddings)
        else:
            total = int(mask.sum())
        step = int(settings.get("chunk", cls.chunk))
        out, offset, written = None, 0, 0
        for block in embeddings:
            if out is None:
                out = torch.empty((total, int(block.shape[1])), dtype=torch.float16)
            for start in range(0, int(block.shape[0]), step):
                rows = block[start:start + step]
                rows = rows if isinstance(rows, torch.Tensor) else torch.as_tensor(np.asarray(rows))
                if mask is not None:
                    rows = rows[mask[offset + start:offset + start + rows.shape[0]]]
                out[written:written + rows.shape[0]] = torch.nn.functional.normalize(rows.float(), dim=-1)
                written += rows.shape[0]
            offset += int(block.shape[0])
        if mask is not None and offset != mask.numel():
            raise ValueError(f"keep has {mask.numel()} entries for {offset} embeddings")
        if out is None:
            out = torch.empty((0, 0), dtype=torch.float16)
        return cls(out, torch.as_tensor(lat, dtype=torch.float32), torch.as_tensor(lon, dtype=torch.float32),
                   **settings)

    def __len__(self) -> int:
        return self.embeddings.shape[0]

    @property
    def memory_bytes(self) -> int:
        return self.embeddings.numel() * self.embeddings.element_size() + 8 * len(self)

    def _on(self, device: torch.device) -> None:
        if self.embeddings.device != device:
            self.embeddings, self.lat, self.lon = (t.to(device) for t in (self.embeddings, self.lat, self.lon))

    @torch.no_grad()
    def search(self, queries: torch.Tensor, k: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact top-k cosine similarities (B, k) and training indices (B, k)."""
        k = min(k or self.k, len(self))
        self._on(queries.device)
        compute = torch.float16 if queries.device.type == "cuda" else torch.float32
        q = torch.nn.functional.normalize(queries.float(), dim=-1).to(compute)
        best_sim = torch.full((q.shape[0], k), -2.0, device=q.device)
        best_idx = torch.zeros((q.shape[0], k), dtype=torch.long, device=q.device)
        # gallery blocks outside (each converted once), query blocks inside: one similarity block at a time
        for start in range(0, len(self), self.chunk):
            block = self.embeddings[start:start + self.chunk].to(compute)
            for first in range(0, q.shape[0], self.query_chunk):
                rows = slice(first, first + self.query_chunk)
                sims = (q[rows] @ block.T).float()
                top_sim, top_idx = sims.topk(min(k, sims.shape[1]), dim=1)
                del sims
                merged_sim = torch.cat([best_sim[rows], top_sim], 1)
                merged_idx = torch.cat([best_idx[rows], top_idx + start], 1)
                best_sim[rows], order = merged_sim.topk(k, dim=1)
                best_idx[rows] = merged_idx.gather(1, order)
        return best_sim, best_idx

    @torch.no_grad()
    def candidates(self, queries: torch.Tensor, unit: torch.Tensor, radius_km: torch.Tensor | None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """The most similar retrieved image inside the predicted region that belongs to a place with
        enough support: (similarity (B,), refined unit vector (B, 3)); similarity -2 where none.
        Queries go ``query_chunk`` at a time (the (B, k, k) distances among the retrieved stay bounded)."""
        parts = [self._candidates(queries[first:first + self.query_chunk], unit[first:first + self.query_chunk],
                                  None if radius_km is None else radius_km[first:first + self.query_chunk])
                 for first in range(0, queries.shape[0], self.query_chunk)]
        if not parts:
            return self._candidates(queries, unit, radius_km)
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    def _candidates(self, queries: torch.Tensor, unit: torch.Tensor, radius_km: torch.Tensor | None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        sims, idx = self.search(queries)
        where = latlon_to_unit(self.lat[idx], self.lon[idx])  # (B, k, 3)
        distance = angle_between(where, unit.float().to(where.device).unsqueeze(1).expand_as(where)) * EARTH_RADIUS_KM
        region = torch.full_like(sims[:, 0], self.min_region_km) if radius_km is None else \
            radius_km.float().to(sims.device).clamp_min(self.min_region_km)
        inside = distance <= region.unsqueeze(1)  # (B, k)
        pairwise = angle_between(where.unsqueeze(2), where.unsqueeze(1)) * EARTH_RADIUS_KM  # (B, k, k)
        together = (pairwise <= self.cluster_km) & inside.unsqueeze(1) & inside.unsqueeze(2)
        support = together.sum(-1)  # (B, k): retrieved images of the same place, itself included
        eligible = inside & (support >= self.min_support)
        masked = torch.where(eligible, sims, torch.full_like(sims, -2.0))
        best_sim, position = masked.max(dim=1)
        members = together.gather(1, position.view(-1, 1, 1).expand(-1, 1, together.shape[2]))[:, 0]  # (B, k)
        centre = (where * members.unsqueeze(-1).float()).sum(1)
        centre = centre / centre.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return best_sim, centre

    @torch.no_grad()
    def refine(self, queries: torch.Tensor, unit: torch.Tensor, radius_km: torch.Tensor | None,
               threshold: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Refined unit vectors (B, 3) and which points moved (B,) bool."""
        threshold = self.threshold if threshold is None else threshold
        if threshold is None or len(self) == 0:
            return unit, torch.zeros(unit.shape[0], dtype=torch.bool, device=unit.device)
        best_sim, centre = self.candidates(queries, unit, radius_km)
        moved = (best_sim >= threshold).to(unit.device)
        return torch.where(moved.unsqueeze(1), centre.to(unit.device, unit.dtype), unit), moved

    def refine_output(self, output, queries: torch.Tensor,
                      radii: Callable[..., list[torch.Tensor] | None]) -> None:
        """Refine a ``GeoLocatorOutput`` in place (point and lat/lon; regions stay the regressor's)."""
        region = radii(output, probabilities=(self.region_probability,), samples=1024)
        unit, moved = self.refine(queries, output.unit, region[0] if region else None)
        output.unit = unit
        output.lat, output.lon = unit_to_latlon(unit)
        output.refined = moved

    # ----- persistence --------------------------------------------------------------------------
    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        save_file({"embeddings": self.embeddings.cpu().contiguous(), "lat": self.lat.cpu().contiguous(),
                   "lon": self.lon.cpu().contiguous()}, str(folder / INDEX_FILE))
        meta = {"size": len(self), "dim": int(self.embeddings.shape[1]), "threshold": self.threshold, "k": self.k,
                "region_probability": self.region_probability, "min_region_km": self.min_region_km,
                "min_support": self.min_support, "cluster_km": self.cluster_km,
                "memory_bytes": self.memory_bytes}
        (folder / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> "RetrievalIndex | None":
        folder = Path(folder)
        if not (folder / INDEX_FILE).is_file() or not (folder / META_FILE).is_file():
            return None
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        tensors = load_file(str(folder / INDEX_FILE))
        return cls(tensors["embeddings"], tensors["lat"], tensors["lon"], threshold=meta.get("threshold"),
                   k=int(meta.get("k", 16)), region_probability=float(meta.get("region_probability", 0.99)),
                   min_region_km=float(meta.get("min_region_km", 25.0)),
                   min_support=int(meta.get("min_support", 2)), cluster_km=float(meta.get("cluster_km", 1.0)))


def log_error_km(unit: torch.Tensor, true_lat, true_lon) -> torch.Tensor:
    truth = latlon_to_unit(torch.as_tensor(true_lat, dtype=torch.float32), torch.as_tensor(true_lon, dtype=torch.float32))
    return torch.log1p(angle_between(unit.float().cpu(), truth) * EARTH_RADIUS_KM)


def fit_threshold(index: RetrievalIndex, queries: torch.Tensor, unit: torch.Tensor, radius_km: torch.Tensor | None,
                  true_lat, true_lon) -> float | None:
    """The similarity threshold that minimises the mean log(1 + error km) on held-out data, or None
    when moving points never helps there (refinement then stays off)."""
    best_sim, centre = index.candidates(queries, unit, radius_km)
    best_sim = best_sim.cpu()
    base = log_error_km(unit, true_lat, true_lon)
    snapped = log_error_km(centre.cpu(), true_lat, true_lon)
    # moving the n most similar points: cumulative change of the summed log error, O(n log n)
    order = torch.argsort(best_sim, descending=True, stable=True)
    sims = best_sim[order]
    gain = torch.cumsum((snapped - base)[order].double(), 0)
    last_of_tie = torch.ones_like(sims, dtype=torch.bool)
    last_of_tie[:-1] = sims[1:] < sims[:-1]
    usable = last_of_tie & (sims > -1.5)
    if not bool(usable.any()):
        return None
    candidates = torch.where(usable, gain, torch.full_like(gain, float("inf")))
    best = int(torch.argmin(candidates))
    return float(sims[best]) if float(candidates[best]) < -1e-9 else None


def bytes_per_million(dim: int) -> float:
    return 1e6 * (2 * dim + 8)


def describe(index: RetrievalIndex) -> str:
    threshold = "off" if index.threshold is None else f"{index.threshold:.4f}"
    return (f"retrieval index: {len(index):,} images x {index.embeddings.shape[1]} dims, "
            f"{index.memory_bytes / 2**20:,.1f} MiB ({bytes_per_million(index.embeddings.shape[1]) / 1e9:.2f} GB per "
            f"million images), threshold {threshold}, region >= {index.min_region_km:g} km")

