"""Zero-shot geolocation with a full CLIP checkpoint (vision *and* text tower): no training.

Why: the regressor needs a trained head; a user with only a CLIP checkpoint (e.g.
``openai/clip-vit-large-patch14`` or ``geolocal/StreetCLIP``) should still get a
prediction. Following StreetCLIP's hierarchical recipe, the image embedding is compared
with embeddings of location prompts:

1. countries: p(country) = softmax(logit_scale * cos(image, "A Street View photo in {country}."));
2. the ``top_countries`` most likely countries are refined: p(region) = p(country) *
   softmax over that country's regions (cos(image, "... in {region}, {country}."));
3. in each refined country its ``top_regions`` most likely regions are refined into their
   cities: p(city) = p(region) * softmax over that region's cities
   (cos(image, "... in {city}, {region}, {country}."));
4. what is not refined keeps its mass at its own level (other countries, the other
   regions of a refined country, a region without cities), so the candidates form one
   posterior that sums to 1.

The point follows the hierarchy as StreetCLIP's evaluation does: the most likely country,
its most likely region, that region's most likely city (or the finest of these that
exists). Candidates of different levels are listed by their posterior mass, so a country
left unrefined can outrank single cities of a more likely country; the point does not jump
to a country's centre for that reason. The "90 % region" is the smallest set of candidates,
most probable first, holding ``credible_mass`` of the posterior; its radius is the farthest
reach (distance plus the candidate's own extent) of that set from the point. CLIP's
softmax is not calibrated against real errors, so every prediction is marked
``calibrated=False`` and the app and exports say "uncalibrated".

Prompt embeddings (countries, regions and cities: about 38,000 texts by default) are
computed once per checkpoint and prompt set and cached on disk (``GEOLOC_CACHE_DIR`` or
``~/.cache/geoloc``), so the per-image cost is the vision tower plus one matrix product
with the cached embeddings and a posterior over a few hundred to a few thousand
candidates.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from ..evidence.private_files import write_private
from ..places.geodesy import haversine_km
from .clip_input import ClipInputSpec
from .prediction import Candidate, CountryProbability, Prediction
from .preprocessing import as_model_input, load_image_processor, model_input, model_input_side, square_size
from .runtime import decoder_pool, prepare_device
from .zeroshot_places import CONFIG_FILE, CandidatePlaces, ZeroShotConfig, candidates_for

CACHE_ENV_VAR = "GEOLOC_CACHE_DIR"
TEXT_BATCH = 256
CACHE_FORMAT = 3  # 2: countries, regions and cities; 3: with the hashes of its checkpoint, prompts and content
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


def embeddings_digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 of prompt-embedding tables: each table's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        table = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}:{table.dtype}:{tuple(table.shape)}\n".encode())
        digest.update(table.numpy().tobytes())
    return digest.hexdigest()


class ZeroShotPredictor:
    """A full CLIP checkpoint used as a location predictor (the ``LocationPredictor`` protocol)."""

    kind = "zero-shot"

    def __init__(self, model, tokenizer, image_processor, candidates: CandidatePlaces,
                 config: ZeroShotConfig | None = None, checkpoint_id: str = "", cache_dir: str | Path | None = None,
                 device: torch.device | None = None, batch_size: int = 16, name: str = "model"):
        self.device = prepare_device(device)
        self.model = model.to(self.device).eval()
        if self.device.type == "cuda":
            self.model.half()
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.input_spec = ClipInputSpec.from_processor(image_processor)  # ready crops from the Analyzer's workers
        self.candidates = candidates
        self.config = config or ZeroShotConfig()
        self.batch_size = batch_size
        self.name = name
        self.input_size = model_input_side(image_processor) or square_size(model.config.vision_config.image_size)
        self.logit_scale = float(model.logit_scale.detach().float().exp().clamp(max=100.0))
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.checkpoint_id = checkpoint_id or name
        # which way the prompt embeddings came: "loaded", "computed", or "recomputed: ..." saying why a cache
        # file there was not used (damaged, changed, or of other prompts)
        self.text_cache_status = ""
        self.text_seconds = 0.0  # the one-time prompt cost, when computed
        self._decoder = decoder_pool()
        self.text_embeds = self._text_embeddings()
        self._flat = _FlatCandidates(candidates)
        cities = (f", {len(candidates.city_names):,} cities in the top {self.config.top_regions} regions of each"
                  if self.config.uses_cities and candidates.city_names else "")
        self.description = (f"{name} (zero-shot CLIP, {len(candidates.country_codes)} countries, "
                            f"{len(candidates.region_names):,} regions, top {self.config.top_countries} countries "
                            f"refined{cities}; uncalibrated)")

    @property
    def country_embeds(self) -> torch.Tensor:
        return self.text_embeds[:len(self.candidates.country_codes)]

    @property
    def region_embeds(self) -> torch.Tensor:
        start = len(self.candidates.country_codes)
        return self.text_embeds[start:start + len(self.candidates.region_names)]

    @property
    def city_embeds(self) -> torch.Tensor:
        return self.text_embeds[len(self.candidates.country_codes) + len(self.candidates.region_names):]

    # ---- loading -------------------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, config: ZeroShotConfig | None = None,
                        cache_dir: str | Path | None = None, device: torch.device | None = None,
                        batch_size: int = 16) -> "ZeroShotPredictor":
        """Load a CLIP checkpoint folder with its tokenizer (``inference.load_predictor`` checks the folder
        first and explains what is missing). A ``zeroshot.json`` beside the weights overrides the recipe."""
        from transformers import AutoTokenizer, CLIPModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        folder = Path(folder).expanduser()
        if config is None:
            config = ZeroShotConfig.from_json(folder / CONFIG_FILE) if (folder / CONFIG_FILE).is_file() \
                else ZeroShotConfig()
        model = CLIPModel.from_pretrained(str(folder))
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        processor = load_image_processor(folder, model.config.vision_config)
        config.check()
        candidates = candidates_for(config)
        return cls(model, tokenizer, processor, candidates, config, checkpoint_id=checkpoint_fingerprint(folder),
                   cache_dir=cache_dir, device=device, batch_size=batch_size, name=str(folder))

    # ---- prompt embeddings (once per checkpoint and prompt set) --------------------------------------------
    def cache_path(self) -> Path:
        key = hashlib.sha256(json.dumps({"checkpoint": self.checkpoint_id,
                                         "prompts": self.candidates.fingerprint(self.config),
                                         "format": CACHE_FORMAT}).encode()).hexdigest()[:32]
        return self.cache_dir / "zeroshot" / f"{key}.safetensors"

    def _text_embeddings(self) -> torch.Tensor:
        """Countries, regions and cities, one unit-length row each (in that order), from the disk cache when it
        holds this checkpoint's embeddings of this prompt set, else through the text tower (then cached).

        The file name is a key of checkpoint and prompts, but a name proves nothing: the file carries the
        checkpoint's and the prompts' full hashes and a SHA-256 of its own tensors, and is used only when all
        three match (matching shapes are not enough: two swapped rows move a prediction to another country).
        Anything else is recomputed and ``text_cache_status`` says why."""
        from safetensors import SafetensorError, safe_open
        from safetensors.torch import load_file, save

        path = self.cache_path()
        places = self.candidates
        expected = {"checkpoint": self.checkpoint_id, "prompts": places.fingerprint(self.config),
                    "format": str(CACHE_FORMAT)}
        sizes = {"country": len(places.country_codes), "region": len(places.region_names),
                 "city": len(places.city_names)}
        problem = ""
        if path.is_file():
            try:
                with safe_open(str(path), "pt") as handle:
                    metadata = handle.metadata() or {}
                tensors = load_file(str(path))
                if any(metadata.get(key) != value for key, value in expected.items()):
                    problem = "it was written for other prompts or another checkpoint"
                elif set(tensors) != set(sizes) or any(tensors[key].shape[0] != n for key, n in sizes.items()):
                    problem = "its tables do not fit these prompts"
                elif metadata.get("content") != embeddings_digest(tensors):
                    problem = "its content does not match its content hash (changed after it was written)"
                else:
                    self.text_cache_status = "loaded"
                    return torch.cat([tensors[key] for key in sizes]).to(self.device)
            except (SafetensorError, OSError, ValueError, RuntimeError):
                problem = "it could not be read"  # a damaged cache file is recomputed, never trusted
        import time

        start = time.perf_counter()
        parts = {"country": self.embed_texts(places.country_prompts(self.config)),
                 "region": self.embed_texts(places.region_prompts(self.config)),
                 "city": self.embed_texts(places.city_prompts(self.config))}
        self.text_seconds = time.perf_counter() - start
        self.text_cache_status = f"recomputed: the cache file was not used, {problem}" if problem else "computed"
        tensors = {key: value.cpu().contiguous() for key, value in parts.items()}
        try:  # owner-only (0700 folders, a 0600 file): nobody else may read or swap it
            write_private(path, save(tensors, metadata={**expected, "content": embeddings_digest(tensors),
                                                         "config": json.dumps(self.config.to_dict())}))
        except OSError:
            pass  # a read-only cache folder costs time on the next start, not correctness
        return torch.cat(list(parts.values()))

    @torch.inference_mode()
    def embed_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """Unit-length text embeddings (float32) of ``texts``, in batches of similar token length (so a batch
        is padded only to its own longest text: city names vary, and padding is most of the cost otherwise).
        CLIP pools at the end-of-text token under an attention mask, so padding does not change a result."""
        dim = self.model.config.projection_dim
        out = torch.empty((len(texts), dim), dtype=torch.float32, device=self.device)
        if not texts:
            return out
        max_length = getattr(self.model.config.text_config, "max_position_embeddings", 77)
        ids = self.tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
        order = sorted(range(len(texts)), key=lambda k: len(ids[k]))
        for start in range(0, len(order), TEXT_BATCH):
            chunk = order[start:start + TEXT_BATCH]
            tokens = self.tokenizer.pad({"input_ids": [ids[k] for k in chunk]}, padding=True, return_tensors="pt")
            pooled = self.model.text_model(input_ids=tokens["input_ids"].to(self.device),
                                           attention_mask=tokens["attention_mask"].to(self.device)).pooler_output
            out[torch.tensor(chunk, device=self.device)] = torch.nn.functional.normalize(
                self.model.text_projection(pooled).float(), dim=-1)
        return out

    # ---- per image ---------------------------------------------------------------------------------------------
    def model_input(self, data: bytes):
        """File bytes -> this model's input, by the one path (``preprocessing.model_input``)."""
        return model_input(data, self.image_processor, self.input_spec)

    def _load(self, item):
        """One item of ``predict`` -> the model's input (``preprocessing.as_model_input``)."""
        return as_model_input(item, self.image_processor, self.input_spec)

    @torch.inference_mode()
    def image_embeddings(self, images: Sequence[Image.Image | np.ndarray | str | os.PathLike]) -> torch.Tensor:
        if not (images and all(isinstance(item, np.ndarray) for item in images)):
            images = list(self._decoder.map(self._load, images))
        if self.input_spec is not None:
            pixels = self.input_spec.pixel_values(images, self.device)  # crops made here or in the workers
        else:
            pixels = self.image_processor(images=list(images), return_tensors="pt")["pixel_values"]
        dtype = next(self.model.vision_model.parameters()).dtype
        pooled = self.model.vision_model(pixel_values=pixels.to(self.device, dtype)).pooler_output
        return torch.nn.functional.normalize(self.model.visual_projection(pooled).float(), dim=-1)

    def predict(self, images: Sequence[Image.Image | str | os.PathLike]) -> list[Prediction]:
        results: list[Prediction] = []
        for start in range(0, len(images), self.batch_size):
            results.extend(self.predict_embeddings(self.image_embeddings(images[start:start + self.batch_size])))
        return results

    def predict_embeddings(self, embeds: torch.Tensor) -> list[Prediction]:
        """Predictions for unit-length image embeddings: everything after the vision tower."""
        embeds = self.logit_scale * embeds
        if self.device.type == "cpu":
            # only the prompts the hierarchy reaches: a few hundred rows per image instead of reading all
            # ~38,000 (74-110 MB) per batch, which on a CPU costs more than the vision tower's last layers
            text = self.text_embeds.numpy()
            rows = [_PromptScores(text, vector) for vector in embeds.numpy()]
        else:  # a GPU reads every row in microseconds: one product, one copy to the host per batch
            rows = list((embeds @ self.text_embeds.T).cpu().numpy())
        return [self._posterior(row) for row in rows]

    def _posterior(self, logits) -> Prediction:
        """The hierarchical posterior over candidates for one image (see the module docstring). ``logits`` holds
        one scaled cosine per prompt (an array, or ``_PromptScores`` computing the rows asked for): countries
        0..C-1, regions C..C+R-1, cities C+R..; the candidate indices below are positions in that flat order."""
        places, config, flat = self.candidates, self.config, self._flat
        n_countries, n_regions = len(places.country_codes), len(places.region_names)
        country_p = _softmax(logits[:n_countries])
        order = np.argsort(-country_p, kind="stable")
        refined = [c for c in order[:config.top_countries] if len(places.regions_of[c])]
        keep = np.ones(n_countries, dtype=bool)
        keep[refined] = False
        probs, index = [country_p[keep]], [np.flatnonzero(keep)]
        point = int(order[0])  # the finest place on the path country -> region -> city
        for c in refined:
            members = places.regions_of[c]
            region_p = country_p[c] * _softmax(logits[n_countries + members])
            by_mass = np.argsort(-region_p, kind="stable")
            split = [k for k in by_mass[:config.top_regions] if len(places.cities_of[members[k]])]
            if c == order[0]:
                point = n_countries + int(members[by_mass[0]])
            keep_region = np.ones(len(members), dtype=bool)
            keep_region[split] = False
            probs.append(region_p[keep_region])
            index.append(n_countries + members[keep_region])
            for k in split:
                cities = places.cities_of[members[k]]
                city_p = region_p[k] * _softmax(logits[n_countries + n_regions + cities])
                if point == n_countries + members[k]:
                    point = n_countries + n_regions + int(cities[np.argmax(city_p)])
                probs.append(city_p)
                index.append(n_countries + n_regions + cities)
        prob, index = np.concatenate(probs), np.concatenate(index)
        rank = np.argsort(-prob, kind="stable")
        prob, index = prob[rank], index[rank]
        cumulative = np.cumsum(prob)
        lat, lon = flat.lat[point], flat.lon[point]

        def radius(mass: float) -> float:
            count = min(len(prob), int(np.searchsorted(cumulative, mass - 1e-12)) + 1)
            members = np.append(index[:count], point)
            return float((haversine_km(lat, lon, flat.lat[members], flat.lon[members]) + flat.extent[members]).max())

        top = index[:max(1, config.top_k)]
        return Prediction(
            lat=float(lat), lon=float(lon),
            radius50_km=radius(0.5), radius90_km=radius(config.credible_mass),
            candidates=[Candidate(float(flat.lat[k]), float(flat.lon[k]), float(p), flat.labels[k])
                        for k, p in zip(top, prob[:len(top)])],
            country_probabilities=[CountryProbability(places.country_codes[c], places.country_names[c],
                                                      float(country_p[c])) for c in order[:max(len(top), 5)]],
            calibrated=False,
        )


class _PromptScores:
    """One image's scaled cosines with the prompts, computed on demand for the rows ``_posterior`` asks for
    (``scores[rows]`` with a slice or an index array), as a full row of logits would give them."""

    def __init__(self, text: np.ndarray, image: np.ndarray):
        self.text, self.image = text, image

    def __getitem__(self, rows) -> np.ndarray:
        return self.text[rows] @ self.image


def _softmax(logits: np.ndarray) -> np.ndarray:
    values = np.exp(logits.astype(np.float64) - logits.max())
    return values / values.sum()


class _FlatCandidates:
    """Countries, regions and cities as flat arrays (point, extent, label) in the prompts' order, built once."""

    def __init__(self, places: CandidatePlaces):
        self.lat = np.concatenate([places.country_lat, places.region_lat, places.city_lat])
        self.lon = np.concatenate([places.country_lon, places.region_lon, places.city_lon])
        self.extent = np.concatenate([places.country_extent_km, places.region_extent_km, places.city_extent_km])
        self.labels = places.labels()
