"""Inference: images in, ``Prediction`` records out, through the evidence core's predictor protocol.

The same ``GeoLocator`` code serves the app, the scan CLI and evaluation. Images are
oriented by EXIF and flattened to RGB (``imaging.load_rgb``), preprocessed by the
backbone's own CLIP image processor, batched, and run under ``torch.inference_mode``:
on CUDA in half precision, else on the CPU with one thread per available core.
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from .clip_input import ClipInputSpec
from .prediction import Candidate, Prediction
from .choice import MODEL_ENV_VAR, ModelLoadError, configured_model  # noqa: F401  (re-exported for callers)
from .distributions import unit_to_latlon
from .preprocessing import as_model_input, load_image_processor, model_input, model_input_side, square_size
from .runtime import batch_invariant, decoder_pool, prepare_device
HOW_TO_GET_A_MODEL = (
    "Train one with the training/ entry points (see training/README.md), or copy a trained geoloc model "
    "folder (config.json + model.safetensors) to this machine and give its path with --model or the "
    f"{MODEL_ENV_VAR} environment variable. For zero-shot predictions without training, fetch a full CLIP "
    "checkpoint: python -m geoloc_core fetch openai/clip-vit-large-patch14 --to models/clip-vit-large-patch14."
)


ONLINE_MODEL_HINT = ("Downloading is an online action (huggingface.co learns the model id and this machine's "
                     "address), so it is off unless asked for: switch on 'Download models from Hugging Face "
                     "(online)' in the app, or pass --allow-model-download to scan, or use a local model folder.")


def load_failure(subject: str, exc: BaseException) -> ModelLoadError:
    """The one message for a model that failed inside the library that loads it: what, why (the exception's
    type and the start of its text), and how to get a model. ``subject`` names the model ("the geoloc model
    'x'")."""
    return ModelLoadError(f"could not load {subject}: {type(exc).__name__}: {str(exc)[:300]}. {HOW_TO_GET_A_MODEL}")


REGRESSOR, ZERO_SHOT = "regressor", "zero-shot"
TOKENIZER_FILES = ("tokenizer.json", "vocab.json")  # a fast tokenizer, or CLIP's BPE vocabulary (+ merges.txt)


def model_kind(path: str | os.PathLike) -> str:
    """What a model folder holds: ``REGRESSOR`` (a trained geoloc model) or ``ZERO_SHOT`` (a full CLIP
    checkpoint with its text tower and tokenizer). Anything else raises ModelLoadError saying what it is
    and what would do."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelLoadError(f"model folder not found: {path}. {HOW_TO_GET_A_MODEL}")
    if not path.is_dir():
        raise ModelLoadError(f"{path} is a file, but a model is a folder (config.json + model.safetensors). "
                             f"{HOW_TO_GET_A_MODEL}")
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ModelLoadError(f"{path} is not a geoloc model: it has no config.json. {HOW_TO_GET_A_MODEL}")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
        model_type = config.get("model_type")
    except (ValueError, OSError, AttributeError) as exc:
        raise ModelLoadError(f"{config_file} is not valid JSON ({exc}). {HOW_TO_GET_A_MODEL}") from None
    if model_type == "clip":
        weights = [p for p in path.iterdir() if p.suffix in (".safetensors", ".bin") and p.is_file()]
        if not weights:
            raise ModelLoadError(f"{path} has a CLIP config.json but no weights (.safetensors or .bin): was the "
                                 f"download interrupted? Run it again to resume. {HOW_TO_GET_A_MODEL}")
        if not any((path / name).is_file() for name in TOKENIZER_FILES):
            raise ModelLoadError(f"{path} holds a full CLIP model but no tokenizer (tokenizer.json or vocab.json + "
                                 f"merges.txt), which zero-shot prediction needs to read its location prompts. "
                                 f"{HOW_TO_GET_A_MODEL}")
        return ZERO_SHOT
    if model_type != "geolocator":
        raise ModelLoadError(f"{path} holds a {model_type!r} model, not a geoloc model (model_type 'geolocator'). "
                             f"A bare CLIP backbone must first be trained into a geoloc model; a full CLIP "
                             f"checkpoint (model_type 'clip', with its text tower) predicts zero-shot. "
                             f"{HOW_TO_GET_A_MODEL}")
    if not any(path.glob("*.safetensors")):
        raise ModelLoadError(f"{path} has a geoloc config.json but no .safetensors weights. {HOW_TO_GET_A_MODEL}")
    return REGRESSOR


def _check_model_folder(path: Path) -> None:
    if model_kind(path) != REGRESSOR:
        raise ModelLoadError(f"{path} holds a full CLIP checkpoint (a zero-shot predictor), not a trained geoloc "
                             "model: load it with load_predictor.")


def _backbone_to_download(path: Path) -> str | None:
    """The backbone id a model folder would fetch from the Hub when loaded, else None."""
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    source = config.get("backbone_name_or_path") or ""
    if config.get("backbone_bundled", True) or not source or Path(source).expanduser().is_dir():
        return None
    return source


class Predictor:
    """A loaded geoloc model that predicts locations for batches of images. Thread-safe for inference."""

    kind = REGRESSOR

    def __init__(self, model, image_processor, device: torch.device | None = None, batch_size: int = 16,
                 name: str = "model"):
        self.device = prepare_device(device)
        self.model = model.to(self.device).eval()
        if self.device.type == "cuda":
            self.model.backbone.half()  # the frozen backbone is the cost; the small head stays fp32
        self.image_processor = image_processor
        # set for CLIP's standard preprocessing: the Analyzer's workers then send ready crops (clip_input.py)
        self.input_spec = ClipInputSpec.from_processor(image_processor)
        self.batch_size = batch_size
        self._decoder = decoder_pool()
        self._prefetch = ThreadPoolExecutor(max_workers=1, thread_name_prefix="geoloc-prefetch")
        # decode JPEGs no larger than needed, at the side every other path decodes at (preprocessing.py)
        self.input_size = model_input_side(image_processor) or square_size(model.config.vision_config.image_size)
        config = model.config
        # one source for "calibrated": what training recorded (issue 15). Every prediction carries it, so
        # the model line, the finding's pred_calibrated (CSV), the card, the report and KML say the same word.
        self.calibrated = regions_calibrated(config)
        self.description = (f"{name} (backbone {config.backbone_name_or_path or 'unknown'}, "
                            f"{config.output_mode} output, {config.num_components} component"
                            f"{'s' if config.num_components > 1 else ''}"
                            f"{_uncertainty_text(config)})")

    @classmethod
    def from_pretrained(cls, path_or_id: str | os.PathLike, device: torch.device | None = None,
                        batch_size: int = 16, allow_download: bool = False) -> "Predictor":
        """Load a model folder; a Hugging Face id (or a folder whose backbone is not bundled and
        not on this machine) only with ``allow_download``: otherwise a clear ModelLoadError is
        raised before anything touches the network."""
        from transformers.utils import logging as hf_logging

        from .modeling_geolocator import GeoLocator

        hf_logging.disable_progress_bar()
        path = Path(path_or_id).expanduser()
        looks_like_hub_id = not path.exists() and str(path_or_id).count("/") == 1 and not str(path_or_id).startswith(
            (".", "/", "~"))
        if looks_like_hub_id and not allow_download:
            raise ModelLoadError(f"{str(path_or_id)!r} is not a folder on this machine; as a Hugging Face model id it "
                                 f"would be downloaded. {ONLINE_MODEL_HINT}")
        if not looks_like_hub_id:
            _check_model_folder(path)
            backbone = _backbone_to_download(path)
            if backbone and not allow_download:
                raise ModelLoadError(f"{path} does not bundle its CLIP backbone, and the backbone {backbone!r} is not a "
                                     f"folder on this machine, so loading would download it. {ONLINE_MODEL_HINT} "
                                     "Or save the model with its backbone bundled (the default).")
        try:
            model = GeoLocator.from_pretrained(str(path if not looks_like_hub_id else path_or_id))
        except ModelLoadError:
            raise
        except Exception as exc:
            hint = (" (no internet here: a Hugging Face id loads only if it is already in the local cache)"
                    if looks_like_hub_id else "")
            raise load_failure(f"the geoloc model {str(path_or_id)!r}{hint}", exc) from None
        processor = load_image_processor(path if not looks_like_hub_id else "", model.config.vision_config,
                                         model.config.backbone_name_or_path)
        return cls(model, processor, device=device, batch_size=batch_size, name=str(path_or_id))

    def preprocess(self, images: Sequence[Image.Image]) -> torch.Tensor:
        return self.image_processor(images=list(images), return_tensors="pt")["pixel_values"]

    def model_input(self, data: bytes):
        """File bytes -> this model's input, by the one path every page, scan and evaluation takes
        (``preprocessing.model_input``). Raises ``ImageDecodeError``."""
        return model_input(data, self.image_processor, self.input_spec)

    def _load(self, item):
        """One item of ``predict`` -> the model's input (``preprocessing.as_model_input``)."""
        return as_model_input(item, self.image_processor, self.input_spec)

    def _prepare_batch(self, items: Sequence[Image.Image | np.ndarray | str | os.PathLike]) -> torch.Tensor:
        """Decode (in parallel threads: Pillow releases the GIL) and preprocess one batch; crops made by
        ``clip_input`` (the Analyzer's workers) only need normalising."""
        if not (items and all(isinstance(item, np.ndarray) for item in items)):
            items = list(self._decoder.map(self._load, items))
        if self.input_spec is not None:
            return self.input_spec.pixel_values(items, self.device)
        return self.preprocess(items)

    @torch.inference_mode()
    def predict(self, images: Sequence[Image.Image | str | os.PathLike]) -> list[Prediction]:
        """Predictions in input order. Paths are read and oriented; PIL images are used as given
        (callers that decode themselves apply EXIF orientation, as ``imaging.load_rgb`` does).
        The next batch is decoded and preprocessed while the model runs on the current one."""
        chunks = [images[i:i + self.batch_size] for i in range(0, len(images), self.batch_size)]
        results: list[Prediction] = []
        pending = self._prefetch.submit(self._prepare_batch, chunks[0]) if chunks else None
        for index in range(len(chunks)):
            pixels = pending.result()
            if index + 1 < len(chunks):
                pending = self._prefetch.submit(self._prepare_batch, chunks[index + 1])
            dtype = next(self.model.backbone.parameters()).dtype
            with batch_invariant(self.device):
                output = self.model(pixel_values=pixels.to(self.device, dtype))
            results.extend(self._to_predictions(output))
        return results

    def _to_predictions(self, output) -> list[Prediction]:
        radii = self.model.region_radii_km(output)
        lat, lon = output.lat.float().cpu().tolist(), output.lon.float().cpu().tolist()
        predictions = []
        for i in range(len(lat)):
            candidates = []
            if output.components.shape[1] > 1:
                c_lat, c_lon = unit_to_latlon(output.components[i].float())
                weights = output.weights[i].float()
                kappa = output.kappa[i].float() if output.kappa is not None else None
                for k in torch.argsort(weights, descending=True).tolist():
                    candidates.append(Candidate(float(c_lat[k]), float(c_lon[k]), float(weights[k]),
                                                kappa=float(kappa[k]) if kappa is not None else None))
            predictions.append(Prediction(
                lat=lat[i], lon=lon[i],
                radius50_km=float(radii[0][i]) if radii else None,
                radius90_km=float(radii[1][i]) if radii else None,
                candidates=candidates,
                calibrated=self.calibrated,
            ))
        return predictions


def regions_calibrated(config) -> bool:
    """Whether a model's regions are calibrated: only when training recorded that calibration ran (issue 15)."""
    return bool((config.trained_on or {}).get("calibrated"))


def _uncertainty_text(config) -> str:
    if not config.uncertainty:
        return ""
    return ", calibrated uncertainty" if regions_calibrated(config) else ", uncalibrated uncertainty"


def load_predictor(path_or_id: str | os.PathLike, batch_size: int = 16, allow_download: bool = False):
    """Load what a model folder holds, for the scan CLI, the app and evaluation: a trained geoloc regressor
    (``Predictor``) or a full CLIP checkpoint as a zero-shot predictor (``ZeroShotPredictor``).
    Nothing is downloaded unless ``allow_download`` (an online action the caller labels as such).
    Raises ModelLoadError with advice."""
    path = Path(path_or_id).expanduser()
    if path.exists() and model_kind(path) == ZERO_SHOT:
        from .zeroshot import ZeroShotPredictor

        try:
            return ZeroShotPredictor.from_pretrained(path, batch_size=batch_size)
        except ValueError as exc:  # a bad zeroshot.json or places table
            raise ModelLoadError(f"could not load the zero-shot model {str(path)!r}: {exc}") from None
        except Exception as exc:
            raise load_failure(f"the CLIP checkpoint {str(path)!r} for zero-shot prediction", exc) from None
    return Predictor.from_pretrained(path_or_id, batch_size=batch_size, allow_download=allow_download)


def load_witnesses(paths: Sequence[str | os.PathLike], batch_size: int = 16, allow_download: bool = False) -> list:
    """Load one or two models as witnesses: at most one regressor and one zero-shot predictor, the
    regressor first (it is the primary witness: the thesis's model, with calibrated regions)."""
    predictors = [load_predictor(p, batch_size=batch_size, allow_download=allow_download) for p in paths]
    kinds = [p.kind for p in predictors]
    if len(predictors) > 2 or len(set(kinds)) != len(kinds):
        raise ModelLoadError(f"give at most one model of each kind (a trained geoloc regressor and a full CLIP "
                             f"checkpoint for zero-shot); got {', '.join(kinds)}")
    return sorted(predictors, key=lambda p: p.kind != REGRESSOR)
