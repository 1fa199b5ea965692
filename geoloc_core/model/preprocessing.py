"""The backbone's CLIP image processor: the one saved beside a model, or CLIP's standard one rebuilt.

Why a module of its own: the regressor, the zero-shot predictor, training and the feature cache all
preprocess with it, and none of them should import another's module to get it.
"""
from __future__ import annotations

from pathlib import Path

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
