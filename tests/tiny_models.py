"""Tiny CLIP backbones and geoloc models built by the tests themselves (no downloads).

Random weights: they exercise the real loading, saving and inference code paths, and are
never presented to a user as a geolocation model."""
from __future__ import annotations

from pathlib import Path

from transformers import CLIPVisionConfig, CLIPVisionModel

from geoloc_core.model.inference import clip_image_processor
from geoloc_core.model.modeling_geolocator import GeoLocator

TINY_VISION = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=32,
                   patch_size=8)
TINY_HEAD = dict(head_width=32, num_attention_heads=4, mlp_ratio=2.0, dropout=0.0)


def save_tiny_backbone(folder: Path, seed: int = 0) -> Path:
    """A CLIP vision model folder laid out as on the Hugging Face hub (config, safetensors, processor)."""
    import torch

    torch.manual_seed(seed)
    CLIPVisionModel(CLIPVisionConfig(**TINY_VISION)).save_pretrained(folder)
    size = TINY_VISION["image_size"]
    clip_image_processor(size).save_pretrained(folder)
    return folder


def build_tiny_model(backbone_dir: Path, **overrides) -> GeoLocator:
    import torch

    torch.manual_seed(overrides.pop("seed", 0))
    return GeoLocator.from_backbone(backbone_dir, **{**TINY_HEAD, **overrides})


def save_tiny_model(backbone_dir: Path, folder: Path, **overrides) -> Path:
    model = build_tiny_model(backbone_dir, **overrides)
    model.save_pretrained(folder)
    clip_image_processor(TINY_VISION["image_size"]).save_pretrained(folder)  # as saved beside the backbone
    return folder
