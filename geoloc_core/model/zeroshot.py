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

Prompt embeddings are made as images need them (issue #29): the country prompts at the first image,
the regions of a country and the cities of a region the first time an image's hierarchy reaches them,
each group kept in memory and on disk (``prompt_store``, under ``GEOLOC_CACHE_DIR`` or
``~/.cache/geoloc``) for every later image and start. The first answer on a CPU costs the vision tower
plus a few hundred prompts instead of all ~38,000; ``warm_up`` embeds the rest in the background at
the lowest priority, pausing while an image is being predicted, resumable after a restart. A group is
always embedded as the same single call over the same texts, so cold and warm caches give the same
bits and the same answer. ``progress`` tells what is being prepared and how long it should take
(measured prompts/s x prompts left) to whoever listens: the app's pages and ``scan``'s stderr.
"""
from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from PIL import Image

from ..places.geodesy import haversine_km
from .clip_input import ClipInputSpec
from .prediction import Candidate, CountryProbability, Prediction
from .preprocessing import as_model_input, load_image_processor, model_input, model_input_side, square_size
from .prompt_store import PromptGroup, PromptStore
from .runtime import batch_invariant, decoder_pool, prepare_device
from .shared_prefix import common_prefix_length, pooled_text, usable_prefix
from .zeroshot_places import CONFIG_FILE, CandidatePlaces, ZeroShotConfig, candidates_for

CACHE_ENV_VAR = "GEOLOC_CACHE_DIR"
TEXT_BATCH = 64  # prompts per text-tower call: padded only to their own longest (measured 2x faster than 256 on a 2-core CPU)
WEIGHT_SUFFIXES = (".safetensors", ".bin")
EDGE_BYTES = 1 << 20
LOWEST_PRIORITY = 19


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


@dataclass(frozen=True)
class PromptProgress:
    """What the text tower is doing now, for a progress line: ``label`` ("cities of Bavaria, Germany"),
    ``done`` of ``total`` prompts in this step, the rate measured so far on this machine (prompts/s, 0 until
    the first batch is timed) and the seconds left at that rate. ``active`` is False when idle."""

    label: str = ""
    done: int = 0
    total: int = 0
    rate: float = 0.0
    active: bool = False

    @property
    def seconds_left(self) -> float | None:
        return (self.total - self.done) / self.rate if self.rate > 0 else None

    def text(self) -> str:
        """One line an analyst reads: what, how far, how fast, how long."""
        if not self.active:
            return "Zero-shot prompts ready"
        left = self.seconds_left
        eta = ("measuring the speed..." if left is None else
               f"{self.rate:,.0f} prompts/s, about {duration_text(left)} left")
        return f"Preparing zero-shot prompts ({self.label}): {self.done:,} of {self.total:,}, {eta}"


def duration_text(seconds: float) -> str:
    """"40 s", "12 min", "2.5 h": a wait as an analyst reads it."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


class ProgressTracker:
    """Thread-safe progress of the text tower, shared by the predicting thread, the warm-up thread and the
    pages or the command line that show it. Listeners are called on each change, from the working thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._state = PromptProgress()
        self._embedded, self._seconds = 0, 0.0
        self._listeners: list[Callable[[PromptProgress], None]] = []

    def listen(self, listener: Callable[[PromptProgress], None]) -> Callable[[], None]:
        """Call ``listener`` on every change; returns a function that stops it."""
        with self._lock:
            self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def snapshot(self) -> PromptProgress:
        with self._lock:
            return self._state

    @property
    def rate(self) -> float:
        with self._lock:
            return self._embedded / self._seconds if self._seconds > 0 else 0.0

    def start(self, label: str, total: int) -> None:
        self._set(PromptProgress(label, 0, total, self.rate, True))

    def advance(self, label: str, count: int, seconds: float) -> None:
        with self._lock:
            self._embedded += count
            self._seconds += seconds
            state = self._state
            rate = self._embedded / self._seconds if self._seconds > 0 else 0.0
        self._set(PromptProgress(label, min(state.total, state.done + count), state.total, rate, True))

    def finish(self) -> None:
        self._set(PromptProgress(rate=self.rate))

    def _set(self, state: PromptProgress) -> None:
        with self._lock:
            self._state = state
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(state)
            except Exception:  # a display that fails must never stop a prediction
                pass


class _ForegroundGate:
    """Images first: the background warm-up waits between text batches while any image is being predicted."""

    def __init__(self):
        self._busy = 0
        self._condition = threading.Condition()

    def __enter__(self):
        with self._condition:
            self._busy += 1

    def __exit__(self, *exc):
        with self._condition:
            self._busy -= 1
            self._condition.notify_all()

    def wait_idle(self, stop: threading.Event) -> None:
        with self._condition:
            while self._busy and not stop.is_set():
                self._condition.wait(timeout=0.5)


@dataclass(frozen=True)
class WarmUpState:
    """The background warm-up: groups and prompts on disk of all the recipe can reach."""

    groups_ready: int
    groups_total: int
    prompts_ready: int
    prompts_total: int
    running: bool
    error: str = ""


class WarmUp:
    """Embeds every group not yet on disk, one at a time, in a daemon thread at the lowest CPU priority
    (its torch threads inherit it), pausing while an image is predicted. ``stop`` ends it after the current
    text batch; what is written is whole (atomic files), so a later start goes on where it stopped."""

    def __init__(self, predictor: "ZeroShotPredictor"):
        self.predictor = predictor
        self.stop_event = threading.Event()
        groups = predictor.all_groups()
        self._sizes = [len(g.texts) for g in groups]
        self._ready = [predictor.store.ready(g) for g in groups]
        self._groups = groups
        self.error = ""
        self.thread = threading.Thread(target=self._run, name="geoloc-prompt-warmup", daemon=True)

    def start(self) -> "WarmUp":
        self.predictor._warmup = self  # before the thread runs: its text batches check this one's stop event
        self.thread.start()
        return self

    def stop(self, wait: float | None = None) -> None:
        self.stop_event.set()
        if wait is not None and self.thread.is_alive():
            self.thread.join(wait)

    def state(self) -> WarmUpState:
        ready = [size for size, done in zip(self._sizes, self._ready) if done]
        return WarmUpState(len(ready), len(self._sizes), sum(ready), sum(self._sizes), self.thread.is_alive(),
                           self.error)

    def _run(self) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOWEST_PRIORITY)
        except (AttributeError, OSError):
            pass  # not Linux, or not allowed: the foreground gate still gives images the text tower first
        self.predictor._warm_thread = threading.current_thread()
        try:
            for k, group in enumerate(self._groups):
                if self.stop_event.is_set():
                    return
                if not self._ready[k]:
                    self.predictor._gate.wait_idle(self.stop_event)
                    if self.stop_event.is_set():
                        return
                    self.predictor.store.table(group, self.predictor._announce)
                    self._ready[k] = True
        except _Stopped:
            return
        except Exception as exc:  # the warm-up is optional: say why it stopped, never take the app down
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.predictor.warm_progress.finish()


class _Stopped(Exception):
    """The warm-up was asked to stop between two text batches."""


class ZeroShotPredictor:
    """A full CLIP checkpoint used as a location predictor (the ``LocationPredictor`` protocol)."""

    kind = "zero-shot"
    share_prefix = True  # the shared start of the prompts computed once on the CPU (``shared_prefix``)

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
        self.store = PromptStore(self.cache_dir, self.checkpoint_id, self.embed_texts_numpy)
        self.progress = ProgressTracker()  # the prompts an image being predicted needs
        self.warm_progress = ProgressTracker()  # the background warm-up's
        self._label = threading.local()  # the group being embedded, per thread
        self._gate = _ForegroundGate()
        self._warm_thread: threading.Thread | None = None
        self._warmup: WarmUp | None = None
        self._decoder = decoder_pool()
        self._flat = _FlatCandidates(candidates)
        self._groups: dict[tuple[str, int], PromptGroup] = {}  # built once: texts formatted and hashed once
        self._all_groups: list[PromptGroup] | None = None
        places, recipe = candidates, self.config
        if recipe.paper:
            refine = (f"top {recipe.top_countries} countries refined into their "
                      f"{len(places.city_names):,} cities (StreetCLIP's paper recipe)")
        else:
            cities = (f", {len(places.city_names):,} cities in the top {recipe.top_regions} regions of each"
                      if recipe.uses_cities and places.city_names else "")
            refine = f"top {recipe.top_countries} countries refined{cities}"
        self.description = (f"{name} (zero-shot CLIP, {len(places.country_codes)} countries, "
                            f"{len(places.region_names):,} regions, {refine}; uncalibrated)")

    # ---- loading -------------------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, config: ZeroShotConfig | None = None,
                        cache_dir: str | Path | None = None, device: torch.device | None = None,
                        batch_size: int = 16) -> "ZeroShotPredictor":
        """Load a CLIP checkpoint folder with its tokenizer (``inference.load_predictor`` checks the folder
        first and explains what is missing). A ``zeroshot.json`` beside the weights overrides the recipe.
        Nothing is embedded here: prompts are made as images need them (see the module docstring)."""
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

    # ---- prompt embeddings (group by group, as images need them) -------------------------------------------
    @torch.inference_mode()
    def embed_texts(self, texts: Sequence[str], label: str = "") -> torch.Tensor:
        """Unit-length text embeddings (float32) of ``texts``, in batches of similar token length (so a batch
        is padded only to its own longest text: city names vary, and padding is most of the cost otherwise).
        CLIP pools at the end-of-text token under an attention mask, so padding does not change a result.
        On the CPU the tokens all texts start with ("<start> a street view photo in") go through the tower once
        (``shared_prefix``: about half the work). Each batch is counted in ``progress``; in the warm-up thread
        each first waits for images to finish."""
        dim = self.model.config.projection_dim
        out = torch.empty((len(texts), dim), dtype=torch.float32, device=self.device)
        if not texts:
            return out
        max_length = getattr(self.model.config.text_config, "max_position_embeddings", 77)
        ids = self.tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
        order = sorted(range(len(texts)), key=lambda k: len(ids[k]))
        prefix = common_prefix_length(ids) if self.device.type == "cpu" and self.share_prefix else 0
        warm = self._in_warm_up()
        for start in range(0, len(order), TEXT_BATCH):
            if warm:
                self._gate.wait_idle(self._warmup.stop_event if self._warmup else threading.Event())
                if self._warmup is not None and self._warmup.stop_event.is_set():
                    raise _Stopped()
            began = time.perf_counter()
            chunk = order[start:start + TEXT_BATCH]
            shared = usable_prefix(self.model.text_model, [ids[k] for k in chunk], prefix) if prefix else 0
            if shared:
                pooled = pooled_text(self.model.text_model, [ids[k] for k in chunk], shared)
            else:
                tokens = self.tokenizer.pad({"input_ids": [ids[k] for k in chunk]}, padding=True, return_tensors="pt")
                pooled = self.model.text_model(input_ids=tokens["input_ids"].to(self.device),
                                               attention_mask=tokens["attention_mask"].to(self.device)).pooler_output
            out[torch.tensor(chunk, device=self.device)] = torch.nn.functional.normalize(
                self.model.text_projection(pooled).float(), dim=-1)
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self._tracker().advance(getattr(self._label, "text", label) or label, len(chunk),
                                    time.perf_counter() - began)
        return out

    def embed_texts_numpy(self, texts: Sequence[str]) -> np.ndarray:
        """``embed_texts`` as a float32 host array: what the prompt store keeps."""
        return self.embed_texts(texts).cpu().numpy()

    def _in_warm_up(self) -> bool:
        return self._warm_thread is not None and threading.current_thread() is self._warm_thread

    def _tracker(self) -> ProgressTracker:
        """Images report to ``progress``, the background warm-up to ``warm_progress``."""
        return self.warm_progress if self._in_warm_up() else self.progress

    def _announce(self, group: PromptGroup) -> None:
        """Told by the store just before one group goes through the text tower (on its own)."""
        self._label.text = group.label
        self._tracker().start(group.label, len(group.texts))

    def _prepare(self, groups: Sequence[PromptGroup]) -> None:
        """Embed the groups not in memory or on disk, with one progress count over all of them (one step of a
        batch's hierarchy: its countries, its countries' regions, or those regions' cities)."""
        missing = list({g.digest: g for g in groups if not self.store.in_memory(g)}.values())
        missing_texts = sum(len(g.texts) for g in missing if not self.store.on_disk(g))
        if missing_texts:
            self.progress.start(missing[0].label, missing_texts)
        try:
            for group in missing:
                self.store.table(group, lambda g: setattr(self._label, "text", g.label if len(missing) == 1
                                                          else f"{g.label}, 1 of {len(missing)} groups"))
        finally:
            if missing_texts:
                self.progress.finish()

    def group(self, kind: str, index: int = 0) -> PromptGroup:
        """One prompt group of this recipe: ``countries``, ``regions`` of a country, ``region_cities`` of a
        region or ``country_cities`` of a country (the paper recipe), built once."""
        group = self._groups.get((kind, index))
        if group is None:
            places, config = self.candidates, self.config
            group = {"countries": lambda: places.country_group(config),
                     "regions": lambda: places.region_group(index, config),
                     "region_cities": lambda: places.region_city_group(index, config),
                     "country_cities": lambda: places.country_city_group(index, config)}[kind]()
            self._groups[(kind, index)] = group
        return group

    def warm_up(self) -> WarmUp:
        """Start (or return the running) background warm-up of every prompt the recipe can reach."""
        if self._warmup is None or not self._warmup.thread.is_alive():
            WarmUp(self).start()
        return self._warmup

    def all_groups(self) -> list[PromptGroup]:
        """Every group the recipe can reach (``CandidatePlaces.groups``), built and hashed once: the Model page
        counts them on each run and the warm-up walks them (about 38,000 texts formatted and hashed)."""
        if self._all_groups is None:
            self._all_groups = self.candidates.groups(self.config)
        return self._all_groups

    def prompts_on_disk(self) -> tuple[int, int]:
        """(prompts whose group is on disk, prompts the recipe can reach): the Model page's count."""
        groups = self.all_groups()
        return (sum(len(g.texts) for g in groups if self.store.ready(g)), sum(len(g.texts) for g in groups))

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
        with batch_invariant(self.device):  # one image alone or in a batch of 16: one answer (#28, #29)
            pooled = self.model.vision_model(pixel_values=pixels.to(self.device, dtype)).pooler_output
        return torch.nn.functional.normalize(self.model.visual_projection(pooled).float(), dim=-1)

    def predict(self, images: Sequence[Image.Image | str | os.PathLike]) -> list[Prediction]:
        results: list[Prediction] = []
        with self._gate:
            for start in range(0, len(images), self.batch_size):
                results.extend(self.predict_embeddings(self.image_embeddings(images[start:start + self.batch_size])))
        return results

    def predict_embeddings(self, embeds: torch.Tensor) -> list[Prediction]:
        """Predictions for unit-length image embeddings: everything after the vision tower. The hierarchy is
        walked for the whole batch level by level, so each level's missing prompt groups are embedded in one
        step with one progress count; then each image's posterior reads only the rows it reaches."""
        with self._gate:
            vectors = (self.logit_scale * embeds).float().cpu().numpy()
            places, config = self.candidates, self.config
            self._prepare([self.group("countries")])
            countries = self.store.table(self.group("countries"))
            scores = [_GroupScores(self, countries @ vector, vector) for vector in vectors]
            if config.top_countries > 0:
                refined = {c for row in scores for c in _refined(_softmax(row.country()), places, config)}
                if config.paper:
                    self._prepare([self.group("country_cities", c) for c in sorted(refined)])
                else:
                    self._prepare([self.group("regions", c) for c in sorted(refined)])
                    if config.uses_cities:
                        reached = {r for row in scores for r in _split_regions(row, places, config)}
                        self._prepare([self.group("region_cities", r) for r in sorted(reached)])
            return [self._posterior(row) for row in scores]

    def _posterior(self, scores) -> Prediction:
        """The hierarchical posterior over candidates for one image (see the module docstring). ``scores`` gives
        the scaled cosines a level at a time (``_GroupScores``; a flat array of every prompt's logit, countries
        then regions then cities, is accepted too); candidate indices are positions in that flat order."""
        places, config, flat = self.candidates, self.config, self._flat
        if isinstance(scores, np.ndarray):
            scores = _FlatScores(scores, places)
        n_countries, n_regions = len(places.country_codes), len(places.region_names)
        city_offset = n_countries + n_regions
        country_p = _softmax(scores.country())
        order = np.argsort(-country_p, kind="stable")
        refined = _refined(country_p, places, config)
        keep = np.ones(n_countries, dtype=bool)
        keep[refined] = False
        probs, index = [country_p[keep]], [np.flatnonzero(keep)]
        point = int(order[0])  # the finest place on the path country -> (region ->) city
        for c in refined:
            if config.paper:  # StreetCLIP's paper: country -> city
                cities = places.cities_in_country(c)
                city_p = country_p[c] * _softmax(scores.country_cities(c))
                if c == order[0]:
                    point = city_offset + int(cities[np.argmax(city_p)])
                probs.append(city_p)
                index.append(city_offset + cities)
                continue
            members = places.regions_of[c]
            region_p = country_p[c] * _softmax(scores.regions(c))
            by_mass = np.argsort(-region_p, kind="stable")
            split = _regions_to_split(by_mass, members, places, config)
            if c == order[0]:
                point = n_countries + int(members[by_mass[0]])
            keep_region = np.ones(len(members), dtype=bool)
            keep_region[split] = False
            probs.append(region_p[keep_region])
            index.append(n_countries + members[keep_region])
            for k in split:
                cities = places.cities_of[members[k]]
                city_p = region_p[k] * _softmax(scores.region_cities(members[k]))
                if point == n_countries + members[k]:
                    point = city_offset + int(cities[np.argmax(city_p)])
                probs.append(city_p)
                index.append(city_offset + cities)
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


def _refined(country_p: np.ndarray, places: CandidatePlaces, config: ZeroShotConfig) -> list[int]:
    """The countries an image's hierarchy refines: the ``top_countries`` likeliest that have a finer level."""
    order = np.argsort(-country_p, kind="stable")[:config.top_countries]
    if config.paper:
        return [int(c) for c in order if len(places.cities_in_country(c))]
    return [int(c) for c in order if len(places.regions_of[c])]


def _regions_to_split(by_mass: np.ndarray, members: np.ndarray, places: CandidatePlaces,
                      config: ZeroShotConfig) -> list[int]:
    """Positions (in ``members``) of a refined country's regions refined into their cities."""
    if not config.uses_cities:
        return []
    return [int(k) for k in by_mass[:config.top_regions] if len(places.cities_of[members[k]])]


def _split_regions(scores: "_GroupScores", places: CandidatePlaces, config: ZeroShotConfig) -> list[int]:
    """The regions (indices) whose cities an image's hierarchy reaches, once its countries' regions are known."""
    regions = []
    for c in _refined(_softmax(scores.country()), places, config):
        members = places.regions_of[c]
        by_mass = np.argsort(-_softmax(scores.regions(c)), kind="stable")
        regions += [int(members[k]) for k in _regions_to_split(by_mass, members, places, config)]
    return regions


class _GroupScores:
    """One image's scaled cosines, a level at a time, from the prompt store's group tables (embedded on first
    use): only the rows the hierarchy reaches are ever multiplied."""

    def __init__(self, predictor: ZeroShotPredictor, country_logits: np.ndarray, vector: np.ndarray):
        self.predictor, self._country, self.vector = predictor, country_logits, vector

    def _scores(self, group: PromptGroup) -> np.ndarray:
        return self.predictor.store.table(group, self.predictor._announce) @ self.vector  # prepared: no compute

    def country(self) -> np.ndarray:
        return self._country

    def regions(self, c: int) -> np.ndarray:
        return self._scores(self.predictor.group("regions", c))

    def region_cities(self, r: int) -> np.ndarray:
        return self._scores(self.predictor.group("region_cities", r))

    def country_cities(self, c: int) -> np.ndarray:
        return self._scores(self.predictor.group("country_cities", c))


class _FlatScores:
    """The same levels read from one flat row of logits (countries, regions, cities): hand-written scores."""

    def __init__(self, logits: np.ndarray, places: CandidatePlaces):
        self.logits, self.places = logits, places
        self.regions_at = len(places.country_codes)
        self.cities_at = self.regions_at + len(places.region_names)

    def country(self) -> np.ndarray:
        return self.logits[:self.regions_at]

    def regions(self, c: int) -> np.ndarray:
        return self.logits[self.regions_at + self.places.regions_of[c]]

    def region_cities(self, r: int) -> np.ndarray:
        return self.logits[self.cities_at + self.places.cities_of[r]]

    def country_cities(self, c: int) -> np.ndarray:
        return self.logits[self.cities_at + self.places.cities_in_country(c)]


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
