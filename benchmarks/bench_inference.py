"""End-to-end prediction vs the bare backbone forward pass, on random-weight backbones sized like
CLIP ViT-B/32 and ViT-L/14 (same compute as the real ones; no download needed).

Run: python -m benchmarks.bench_inference [--sizes b32 l14] [--reps 3]

End-to-end = read file + decode + EXIF orientation + CLIP preprocessing + backbone + location
head + uncertainty radii + Prediction records (``Predictor.predict`` on paths). Target: <= 1.15x
the bare backbone time at the same batch size.
"""
from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import piexif
import torch
from PIL import Image

from benchmarks.machine import print_table
from geoloc_core.model.configuration_geolocator import GeoLocatorConfig
from geoloc_core.model.inference import Predictor
from geoloc_core.model.preprocessing import clip_image_processor
from geoloc_core.model.modeling_geolocator import GeoLocator

SIZES = {
    "b32": ("ViT-B/32-sized", dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                    num_attention_heads=12, image_size=224, patch_size=32)),
    "l14": ("ViT-L/14-sized", dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                                    num_attention_heads=16, image_size=224, patch_size=14)),
}


def make_photos(folder: Path, n: int) -> list[Path]:
    paths = []
    for i in range(n):
        image = Image.effect_noise((1600, 1200), 40 + i).convert("RGB")
        path = folder / f"photo_{i:02d}.jpg"
        image.save(path, "JPEG", quality=90, exif=piexif.dump({"0th": {piexif.ImageIFD.Orientation: 6}}))
        paths.append(path)
    return paths


def best_of(fn, reps: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        photos = make_photos(Path(tmp), 16)
        for key in args.sizes:
            label, vision = SIZES[key]
            torch.manual_seed(0)
            model = GeoLocator(GeoLocatorConfig(vision_config=vision, backbone_name_or_path=f"random {label}"))
            predictor = Predictor(model, clip_image_processor(224), device=torch.device("cpu"), batch_size=16)
            for batch in (1, 16):
                pixels = torch.randn(batch, 3, 224, 224)
                paths = photos[:batch]

                def bare(backbone=model.backbone, pixels=pixels):
                    with torch.inference_mode():
                        backbone(pixel_values=pixels)

                reps = args.reps if batch == 1 else max(1, args.reps - 1)
                bare_s = best_of(bare, reps)
                e2e_s = best_of(lambda predictor=predictor, paths=paths: predictor.predict(paths), reps)
                rows.append((f"{label}, batch {batch}: backbone / end-to-end (s)", f"{bare_s:.3f} / {e2e_s:.3f}"))
                rows.append((f"{label}, batch {batch}: ratio (target <= 1.15)", f"{e2e_s / bare_s:.3f}"))
                rows.append((f"{label}, batch {batch}: images/s end-to-end", f"{batch / e2e_s:.2f}"))
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            rows.append((f"{label}: peak RSS of the process so far (MiB)", f"{peak:,.0f}"))
    print_table(f"Inference, torch {torch.__version__}, {torch.get_num_threads()} threads", rows)


if __name__ == "__main__":
    main()
