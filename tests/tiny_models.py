"""Tiny CLIP backbones and geoloc models built by the tests themselves (no downloads).

Random weights: they exercise the real loading, saving and inference code paths, and are
never presented to a user as a geolocation model."""
from __future__ import annotations

from pathlib import Path

from transformers import CLIPVisionConfig, CLIPVisionModel

from geoloc_core.model.preprocessing import clip_image_processor
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


# ---- a tiny full CLIP (vision + text towers) with a tiny tokenizer, for zero-shot prediction -------------------
# Four synthetic "countries", each with two regions of two places; images of a country are a solid colour.
SYNTHETIC_COUNTRIES = {  # code: (name, colour, [(region, [(lat, lon), ...]), ...])
    "XA": ("Redonia", (220, 30, 30), [("North Redonia", [(60.0, 10.0), (61.0, 12.0)]),
                                      ("South Redonia", [(55.0, 11.0), (54.0, 9.0)])]),
    "XB": ("Greenmark", (30, 200, 40), [("Greenmark Coast", [(-33.0, 151.0), (-34.0, 150.0)]),
                                        ("Greenmark Hills", [(-30.0, 145.0), (-29.0, 146.0)])]),
    "XC": ("Bluvia", (30, 40, 220), [("Bluvia Bay", [(40.0, -74.0), (41.0, -73.0)]),
                                     ("Bluvia Plains", [(39.0, -95.0), (38.0, -96.0)])]),
    "XD": ("Yellowstan", (230, 220, 40), [("Yellowstan East", [(35.0, 139.0), (36.0, 140.0)]),
                                          ("Yellowstan West", [(34.0, 135.0), (35.0, 136.0)])]),
}
TINY_TEXT = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                 max_position_embeddings=32)


def write_synthetic_places(path: Path) -> Path:
    """The places table (GeoNames layout plus country and population columns) of the synthetic countries. With
    its population column it also serves as a cities table: each region's "town 0" has 50,000 people, "town 1"
    20,000."""
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lat", "lon", "name", "admin1", "admin2", "cc", "country", "population"])
        for code, (name, _, regions) in SYNTHETIC_COUNTRIES.items():
            for region, points in regions:
                for k, (lat, lon) in enumerate(points):
                    writer.writerow([lat, lon, f"{region} town {k}", region, "", code, name, (50_000, 20_000)[k]])
    return path


def synthetic_country_image(code: str, seed: int = 0, size: int = 48):
    """A solid image in the country's colour with a little noise (so no two images are identical)."""
    import numpy as np
    from PIL import Image

    colour = np.array(SYNTHETIC_COUNTRIES[code][1], dtype=np.int16)
    noise = np.random.default_rng(seed).integers(-12, 13, size=(size, size, 3))
    return Image.fromarray(np.clip(colour + noise, 0, 255).astype("uint8"), "RGB")


def _tiny_tokenizer():
    """The tiny CLIP's tokenizer: every word of the synthetic countries' and regions' prompts."""
    words = {"a", "street", "view", "photo", "in", ".", ",", "town", "0", "1"}
    for name, _, regions in SYNTHETIC_COUNTRIES.values():
        words |= set(name.lower().split())
        for region, _ in regions:
            words |= set(region.lower().split())
    return word_level_tokenizer(words)


def word_level_tokenizer(words: set[str]):
    """A word-level tokenizer over ``words`` (lower-cased, split on whitespace and punctuation) that wraps
    each text as <bos> ... <eos>; unknown words map to <unk>. Saved, it loads with AutoTokenizer like
    CLIP's own. Shared with benchmarks/bench_zeroshot.py."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<unk>", "<bos>", "<eos>"]
    vocab = {token: i for i, token in enumerate(specials + sorted(words))}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(single="<bos> $A <eos>",
                                                             special_tokens=[("<bos>", 2), ("<eos>", 3)])
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", unk_token="<unk>",
                                   bos_token="<bos>", eos_token="<eos>")


def save_tiny_clip(folder: Path, seed: int = 0, aligned: bool = True) -> Path:
    """A full CLIP checkpoint folder (config, safetensors, tokenizer, processor) whose projections are solved so
    that the mean embedding of each synthetic country's images equals the embedding of that country's prompt
    (the country prompts are mapped to orthonormal directions). ``aligned=False`` keeps random projections."""
    import torch
    from transformers import CLIPConfig, CLIPModel

    from geoloc_core.model.zeroshot_places import ZeroShotConfig

    torch.manual_seed(seed)
    tokenizer = _tiny_tokenizer()
    config = CLIPConfig(text_config=dict(TINY_TEXT, vocab_size=len(tokenizer), pad_token_id=0, bos_token_id=2,
                                         eos_token_id=3),
                        vision_config=TINY_VISION, projection_dim=16)
    model = CLIPModel(config).eval()
    processor = clip_image_processor(TINY_VISION["image_size"])
    if aligned:
        with torch.no_grad():
            model.logit_scale.fill_(float(torch.log(torch.tensor(100.0))))
            template = ZeroShotConfig().country_template
            texts = [template.format(country=name) for name, _, _ in SYNTHETIC_COUNTRIES.values()]
            tokens = tokenizer(texts, padding=True, return_tensors="pt")
            text_pooled = model.text_model(**tokens).pooler_output  # (4, 32)
            images = [synthetic_country_image(code, seed=s) for code in SYNTHETIC_COUNTRIES for s in range(4)]
            pixels = processor(images=images, return_tensors="pt")["pixel_values"]
            image_pooled = model.vision_model(pixel_values=pixels).pooler_output.reshape(4, 4, -1).mean(1)
            targets = torch.eye(4, config.projection_dim)  # country i -> direction e_i
            model.text_projection.weight.copy_(torch.linalg.pinv(text_pooled).matmul(targets).T)
            model.visual_projection.weight.copy_(torch.linalg.pinv(image_pooled).matmul(targets).T)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
