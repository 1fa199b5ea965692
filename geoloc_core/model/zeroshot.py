"""Zero-shot geolocation with a full CLIP checkpoint (vision *and* text tower): no training.

Why: the regressor needs a trained head; a user with only a CLIP checkpoint (e.g.
``openai/clip-vit-large-patch14`` or ``geolocal/StreetCLIP``) should still get a
prediction. Following StreetCLIP's hierarchical recipe, the image embedding is compared
with embeddings of location prompts:

1. countries: p(country) = softmax(logit_scale * cos(image, "A Street View photo in {country}."));
2. the ``top_countries`` most likely countries are refined: p(region) = p(country) *
   softmax over that country's regions (cos(image, "... in {region}, {country}."));
3. the other countries keep their mass at country level, so the candidates (refined
   regions + unrefined countries) form one posterior that sums to 1.

The point is the most probable candidate's point. The "90 % region" is the smallest set
of candidates, most probable first, holding ``credible_mass`` of the posterior; its radius
is the farthest reach (distance plus the candidate's own extent) of that set from the
point. CLIP's softmax is not calibrated against real errors, so every prediction is
marked ``calibrated=False`` and the app and exports say "uncalibrated".

Prompt embeddings are computed once per checkpoint and prompt set and cached on disk
(``GEOLOC_CACHE_DIR`` or ``~/.cache/geoloc``), so the per-image cost is the vision tower
plus one small matrix product.
"""
from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from ..evidence.imaging import load_rgb
from ..places.geodesy import haversine_km
from .prediction import Candidate, CountryProbability, Prediction
from .zeroshot_places import CONFIG_FILE, CandidatePlaces, ZeroShotConfig, load_candidates

CACHE_ENV_VAR = "GEOLOC_CACHE_DIR"
TEXT_BATCH = 256
WEIGHT_SUFFIXES = (".safetensors", ".bin")
EDGE_BYTES = 1 << 20


def default_cache_dir() -> Path:
    """Where prompt embeddings are kept: $GEOLOC_CACHE_DIR, else $XDG_CACHE_HOME/geoloc, else ~/.cache/geoloc."""
    if os.environ.get(CACHE_ENV_VAR):
        return Path(os.environ[CACHE_ENV_VAR]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "geoloc"


def checkpoint_fingerprint(folder: str | Path) -> str:
    """Cheap identity of a checkpoint folder: config.json, and each weight file's name, size and first and
    last MiB. Reading whole multi-GB files at every start would cost seconds; this changes whenever the
    weights do in practice (any retrained or converted file differs in its header or its tail)."""
    folder = Path(folder)
    digest = hashlib.sha256((folder / "config.json").read_bytes())
    for path in sorted(p for p in folder.iterdir() if p.suffix in WEIGHT_SUFFIXES and p.is_file()):
        size = path.stat().st_size
        digest.update(f"{path.name}:{size}".encode())
        with path.open("rb") as handle:
            digest.update(handle.read(EDGE_BYTES))
            if size > EDGE_BYTES:
                handle.seek(max(EDGE_BYTES, size - EDGE_BYTES))
                digest.update(handle.read(EDGE_BYTES))
    return digest.hexdigest()


class ZeroShotPredictor:
    """A full CLIP checkpoint used as a location predictor (the ``LocationPredictor`` protocol)."""

    kind = "zero-shot"

    def __init__(self, model, tokenizer, image_processor, candidates: CandidatePlaces,
                 config: ZeroShotConfig | None = None, checkpoint_id: str = "", cache_dir: str | Path | None = None,
                 device: torch.device | None = None, batch_size: int = 16, name: str = "model"):
        from .inference import default_device, square_size

        self.device = device or default_device()
        if self.device.type == "cpu":
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
            torch.set_num_threads(max(1, cores))
        self.model = model.to(self.device).eval()
        if self.device.type == "cuda":
            self.model.half()
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.candidates = candidates
        self.config = config or ZeroShotConfig()
        self.batch_size = batch_size
        self.name = name
        self.input_size = square_size(model.config.vision_config.image_size)
        self.logit_scale = float(model.logit_scale.detach().float().exp().clamp(max=100.0))
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.checkpoint_id = checkpoint_id or name
        self.text_cache_status = ""  # "loaded" or "computed": which way the prompt embeddings came
        self.text_seconds = 0.0  # the one-time prompt cost, when computed
        self._decoder = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                                           thread_name_prefix="geoloc-decode")
        self.country_embeds, self.region_embeds = self._text_embeddings()
        self.description = (f"{name} (zero-shot CLIP, {len(candidates.country_codes)} countries, "
                            f"{len(candidates.region_names)} regions, top {self.config.top_countries} countries "
                            "refined; uncalibrated)")

    # ---- loading -------------------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, config: ZeroShotConfig | None = None,
                        cache_dir: str | Path | None = None, device: torch.device | None = None,
                        batch_size: int = 16) -> "ZeroShotPredictor":
        """Load a CLIP checkpoint folder with its tokenizer (``inference.load_predictor`` checks the folder
        first and explains what is missing). A ``zeroshot.json`` beside the weights overrides the recipe."""
        from transformers import AutoTokenizer, CLIPModel
        from transformers.utils import logging as hf_logging

        from .inference import load_image_processor

        hf_logging.disable_progress_bar()
        folder = Path(folder).expanduser()
        if config is None:
            config = ZeroShotConfig.from_json(folder / CONFIG_FILE) if (folder / CONFIG_FILE).is_file() \
                else ZeroShotConfig()
        model = CLIPModel.from_pretrained(str(folder))
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        processor = load_image_processor(folder, model.config.vision_config)
        candidates = load_candidates(config.places_csv or None)
        return cls(model, tokenizer, processor, candidates, config, checkpoint_id=checkpoint_fingerprint(folder),
                   cache_dir=cache_dir, device=device, batch_size=batch_size, name=str(folder))

    # ---- prompt embeddings (once per checkpoint and prompt set) --------------------------------------------
    def cache_path(self) -> Path:
        key = hashlib.sha256(json.dumps({"checkpoint": self.checkpoint_id,
                                         "prompts": self.candidates.fingerprint(self.config),
                                         "format": 1}).encode()).hexdigest()[:32]
        return self.cache_dir / "zeroshot" / f"{key}.safetensors"

    def _text_embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        from safetensors import SafetensorError
        from safetensors.torch import load_file, save_file

        path = self.cache_path()
        n_countries, n_regions = len(self.candidates.country_codes), len(self.candidates.region_names)
        if path.is_file():
            try:
                tensors = load_file(str(path))
                country, region = tensors["country"], tensors["region"]
                if country.shape[0] == n_countries and region.shape[0] == n_regions:
                    self.text_cache_status = "loaded"
                    return country.to(self.device), region.to(self.device)
            except (SafetensorError, KeyError, OSError):
                pass  # a damaged cache file is recomputed, never trusted
        import time

        start = time.perf_counter()
        country = self.embed_texts(self.candidates.country_prompts(self.config))
        region = self.embed_texts(self.candidates.region_prompts(self.config))
        self.text_seconds = time.perf_counter() - start
        self.text_cache_status = "computed"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.partial")
            save_file({"country": country.cpu().contiguous(), "region": region.cpu().contiguous()}, str(partial),
                      metadata={"checkpoint": self.checkpoint_id[:200], "config": json.dumps(self.config.to_dict())})
            os.replace(partial, path)
        except OSError:
            pass  # a read-only cache folder costs time on the next start, not correctness
        return country, region

    @torch.inference_mode()
    def embed_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """Unit-length text embeddings (float32) of ``texts``, in batches."""
        dim = self.model.config.projection_dim
        out = torch.empty((len(texts), dim), dtype=torch.float32, device=self.device)
        max_length = getattr(self.model.config.text_config, "max_position_embeddings", 77)
        for start in range(0, len(texts), TEXT_BATCH):
            tokens = self.tokenizer(list(texts[start:start + TEXT_BATCH]), padding=True, truncation=True,
                                    max_length=max_length, return_tensors="pt")
            pooled = self.model.text_model(input_ids=tokens["input_ids"].to(self.device),
                                           attention_mask=tokens["attention_mask"].to(self.device)).pooler_output
            out[start:start + TEXT_BATCH] = torch.nn.functional.normalize(
                self.model.text_projection(pooled).float(), dim=-1)
        return out

    # ---- per image ---------------------------------------------------------------------------------------------
    def _load(self, item: Image.Image | str | os.PathLike) -> Image.Image:
        if isinstance(item, (str, os.PathLike)):
            return load_rgb(Path(item).read_bytes(), draft_side=self.input_size)
        return item if item.mode == "RGB" else item.convert("RGB")

    @torch.inference_mode()
    def image_embeddings(self, images: Sequence[Image.Image | str | os.PathLike]) -> torch.Tensor:
        pixels = self.image_processor(images=list(self._decoder.map(self._load, images)),
                                      return_tensors="pt")["pixel_values"]
        dtype = next(self.model.vision_model.parameters()).dtype
        pooled = self.model.vision_model(pixel_values=pixels.to(self.device, dtype)).pooler_output
        return torch.nn.functional.normalize(self.model.visual_projection(pooled).float(), dim=-1)

    def predict(self, images: Sequence[Image.Image | str | os.PathLike]) -> list[Prediction]:
        results: list[Prediction] = []
        for start in range(0, len(images), self.batch_size):
            embeds = self.image_embeddings(images[start:start + self.batch_size])
            country_p = torch.softmax(self.logit_scale * embeds @ self.country_embeds.T, dim=-1)
            region_logits = self.logit_scale * embeds @ self.region_embeds.T
            for i in range(embeds.shape[0]):
                results.append(self._posterior(country_p[i].cpu().double().numpy(),
                                               region_logits[i].cpu().double().numpy()))
        return results

    def _posterior(self, country_p: np.ndarray, region_logits: np.ndarray) -> Prediction:
        """The hierarchical posterior over candidates for one image (see the module docstring). Candidates are
        indexed as countries 0..C-1 and regions C..C+R-1 of the flat arrays built once in ``_flat``."""
        places, config = self.candidates, self.config
        lat_all, lon_all, extent_all, labels = self._flat()
        n_countries = len(places.country_codes)
        country_p = country_p / country_p.sum()
        order = np.argsort(-country_p, kind="stable")
        refined = [c for c in order[:max(0, config.top_countries)] if len(places.regions_of[c])]
        keep = np.ones(n_countries, dtype=bool)
        keep[refined] = False
        probs, index = [country_p[keep]], [np.flatnonzero(keep)]
        for c in refined:
            members = places.regions_of[c]
            logits = region_logits[members]
            weights = np.exp(logits - logits.max())
            probs.append(country_p[c] * weights / weights.sum())
            index.append(n_countries + members)
        prob, index = np.concatenate(probs), np.concatenate(index)
        rank = np.argsort(-prob, kind="stable")
        prob, index = prob[rank], index[rank]
        cumulative = np.cumsum(prob)
        lat, lon = lat_all[index[0]], lon_all[index[0]]

        def radius(mass: float) -> float:
            count = min(len(prob), int(np.searchsorted(cumulative, mass - 1e-12)) + 1)
            members = index[:count]
            return float((haversine_km(lat, lon, lat_all[members], lon_all[members]) + extent_all[members]).max())

        top = index[:max(1, config.top_k)]
        return Prediction(
            lat=float(lat), lon=float(lon),
            radius50_km=radius(0.5), radius90_km=radius(config.credible_mass),
            candidates=[Candidate(float(lat_all[k]), float(lon_all[k]), float(p), labels[k])
                        for k, p in zip(top, prob[:len(top)])],
            country_probabilities=[CountryProbability(places.country_codes[c], places.country_names[c],
                                                      float(country_p[c])) for c in order[:max(len(top), 5)]],
            calibrated=False,
        )

    def _flat(self):
        """Countries then regions as flat arrays (point, extent, label), built once."""
        if getattr(self, "_flat_cache", None) is None:
            places = self.candidates
            labels = list(places.country_names) + [f"{name}, {places.country_names[c]}" for name, c in
                                                   zip(places.region_names, places.region_country)]
            self._flat_cache = (np.concatenate([places.country_lat, places.region_lat]),
                                np.concatenate([places.country_lon, places.region_lon]),
                                np.concatenate([places.country_extent_km, places.region_extent_km]), labels)
        return self._flat_cache
