"""Write the learnable-world smoke data set and a tiny random CLIP backbone (no downloads):

python -m training.make_world --out data/world --n 1500 [--backbone-out data/tiny_clip]

For checking the training path on any machine; the result is not a geolocation model.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from geoloc_core.learning.synthetic import make_world


def save_tiny_clip(folder: Path, image_size: int = 32, patch_size: int = 8, hidden: int = 64, layers: int = 2) -> Path:
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModel

    from geoloc_core.model.preprocessing import clip_image_processor

    torch.manual_seed(0)
    config = CLIPVisionConfig(hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=layers,
                              num_attention_heads=4, image_size=image_size, patch_size=patch_size)
    CLIPVisionModel(config).save_pretrained(folder)
    clip_image_processor(image_size).save_pretrained(folder)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--n", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backbone-out", default="data/tiny_clip")
    args = parser.parse_args(argv)
    print(make_world(args.out, args.n, seed=args.seed))
    print(save_tiny_clip(Path(args.backbone_out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
