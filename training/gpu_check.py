"""GPU check of training: feature extraction and head training with AMP, throughput and memory.

python -m training.gpu_check            # on a CUDA machine: ViT-B/16-sized random backbone
python -m training.gpu_check --tiny     # any machine, tiny sizes (CI runs this so it cannot rot)

Prints images/s for feature extraction, items/s for head training from cached features and
for end-to-end training (pixels through the frozen backbone every step), their ratio (the
per-epoch speed-up of caching; target >= 20x), and peak GPU memory.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import torch

from geoloc_core.model.configuration_geolocator import GeoLocatorConfig
from geoloc_core.model.modeling_geolocator import GeoLocator
from geoloc_core.learning.train_config import OptimSettings
from geoloc_core.learning.trainer import optimizer_step, resolve_amp

VIT_B16 = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12, image_size=224,
               patch_size=16)
TINY = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=32,
            patch_size=8)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, steps: int, device: torch.device) -> float:
    fn()  # warm-up (kernels, allocator)
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    _sync(device)
    return time.perf_counter() - start


def run(tiny: bool, steps: int, batch: int, head_batch: int) -> dict:
    device = torch.device("cuda" if torch.cuda.is_available() and not tiny else "cpu")
    vision = TINY if tiny else VIT_B16
    config = GeoLocatorConfig(vision_config=vision, backbone_name_or_path="random ViT-B/16-sized" if not tiny else
                              "random tiny", **({"head_width": 32, "num_attention_heads": 4} if tiny else {}))
    torch.manual_seed(0)
    model = GeoLocator(config).to(device)
    model.freeze_backbone()
    amp = resolve_amp("auto", device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    size = vision["image_size"]
    pixels = torch.randn(batch, 3, size, size, device=device)
    labels = torch.stack([torch.rand(head_batch) * 180 - 90, torch.rand(head_batch) * 360 - 180], 1).to(device)

    def extract():
        with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            return model.extract_features(pixels)

    extract_s = _timed(extract, steps, device)
    features = extract().to(torch.float16)
    features = features.repeat((head_batch + batch - 1) // batch, *([1] * (features.dim() - 1)))[:head_batch]
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-4)
    scaler = torch.amp.GradScaler(device.type) if amp == torch.float16 else None

    def step(**inputs):
        with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            loss = model(**inputs, labels=labels[: len(next(iter(inputs.values())))]).loss
        optimizer_step(loss, optimizer, scaler, trainable, OptimSettings.grad_clip)  # the training loop's own step

    model.train()
    cached_s = _timed(lambda: step(features=features), steps, device)
    end_to_end_s = _timed(lambda: step(pixel_values=pixels), steps, device)
    cached_rate = steps * head_batch / cached_s
    e2e_rate = steps * batch / end_to_end_s
    return {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "backbone": "ViT-B/16-sized (random weights)" if not tiny else "tiny (random weights)",
        "amp": str(amp).replace("torch.", "") if amp else "off",
        "extract_images_per_s": steps * batch / extract_s,
        "head_train_cached_items_per_s": cached_rate,
        "train_end_to_end_items_per_s": e2e_rate,
        "cached_speedup_per_epoch": cached_rate / e2e_rate,
        "peak_gpu_memory_gib": torch.cuda.max_memory_allocated(device) / 1024**3 if device.type == "cuda" else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="tiny sizes on whatever device (CI)")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--batch", type=int, default=None, help="images per extraction / end-to-end step")
    parser.add_argument("--head-batch", type=int, default=None, help="items per cached-feature step")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    steps = args.steps or (3 if args.tiny else 20)
    batch = args.batch or (8 if args.tiny else 128)
    head_batch = args.head_batch or (16 if args.tiny else 1024)
    results = run(args.tiny, steps, batch, head_batch)
    from benchmarks.machine import machine_info

    print(f"machine: {machine_info()}")
    for key, value in results.items():
        print(f"{key:32s} {value:,.2f}" if isinstance(value, float) else f"{key:32s} {value}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
