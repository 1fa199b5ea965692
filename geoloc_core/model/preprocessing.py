"""The backbone's CLIP image processor (the one saved beside a model, or CLIP's standard one rebuilt),
and the one path from a file's bytes to the model's input.

Why a module of its own: the regressor, the zero-shot predictor, training and the feature cache all
preprocess with it, and none of them should import another's module to get it.

Why one path (issue #28): the same file gave different radii on different pages, partly because
evaluation decoded JPEGs at a 512 px draft while inference and the feature cache decoded at the
model's 224. Every path now decodes with ``decode_for_model`` at ``model_input_side`` (the side the
processor resizes the shortest edge to) and, for CLIP's standard recipe, crops with
``ClipInputSpec`` (bit for bit the processor's pixels): Verify, Batch and ``scan`` (in the parser
workers), ``Predictor`` given paths, ``training.evaluate``, end-to-end training and the feature cache.
"""
from __future__ import annotations

from pathlib import Path

from ..evidence.imaging import load_rgb
from .clip_input import ClipInputSpec

PROCESSOR_FILE = "preprocessor_config.json"


def square_size(value: int | list[int] | tuple[int, int]) -> int:
    """Side of a square size given as an int or a pair (CLIP configs allow both)."""
    return value if isinstance(value, int) else value[0]


def clip_image_processor(size: int):
    """CLIP's standard preprocessing at ``size`` px: shortest edge resized, centre crop, CLIP mean/std.
    The PIL implementation: torchvision does not import beside this project's torch."""
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    return CLIPImageProcessorPil(size={"shortest_edge": size}, crop_size={"height": size, "width": size})


def load_image_processor(model_dir: str | Path, vision_config, backbone_name_or_path: str | None = None):
    """The backbone's own CLIP preprocessing, saved beside the model; else rebuilt from the
    backbone's input size with CLIP's published mean/std (what every CLIP checkpoint uses)."""
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    for source in (model_dir, backbone_name_or_path):
        if source and (Path(source) / PROCESSOR_FILE).is_file():
            return CLIPImageProcessorPil.from_pretrained(str(source))
    return clip_image_processor(square_size(vision_config.image_size))


def model_input_side(image_processor) -> int | None:
    """The JPEG draft side every path decodes at: the processor's shortest-edge resize target (else its
    crop). The draft keeps at least this many pixels on the short side, so the resize only shrinks."""
    size = dict(getattr(image_processor, "size", None) or {})
    if size.get("shortest_edge"):
        return int(size["shortest_edge"])
    crop = dict(getattr(image_processor, "crop_size", None) or {})
    return int(crop["height"]) if crop.get("height") else None


def decode_for_model(data: bytes, image_processor):
    """File bytes -> the oriented RGB picture the model's processor is given (``imaging.load_rgb``)."""
    return load_rgb(data, draft_side=model_input_side(image_processor))


def model_input(data: bytes, image_processor, input_spec: ClipInputSpec | None = None):
    """File bytes -> what a predictor's ``predict`` takes: the uint8 CLIP crop when the processor follows
    CLIP's recipe (``input_spec``), else the decoded picture. Raises ``ImageDecodeError``."""
    if input_spec is not None:
        return input_spec.crop_from_bytes(data)
    return decode_for_model(data, image_processor)


def as_model_input(item, image_processor, input_spec: ClipInputSpec | None = None):
    """What ``predict`` was given -> the model's input: a path by ``model_input`` (the one path from bytes),
    a crop as it is, a decoded picture (oriented by the caller) as its crop when the recipe applies (the
    same pixels the processor would make), else as an RGB picture. Shared by both predictor kinds."""
    import os

    import numpy as np

    if isinstance(item, (str, os.PathLike)):
        return model_input(Path(item).read_bytes(), image_processor, input_spec)
    if isinstance(item, np.ndarray):
        return item
    image = item if item.mode == "RGB" else item.convert("RGB")
    return input_spec.crop_of(image) if input_spec is not None else image
