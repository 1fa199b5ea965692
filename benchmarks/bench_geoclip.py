"""geoloc vs GeoCLIP per image at the same backbone (ViT-L/14-sized, random weights, CPU).

GeoCLIP needs torchvision, which does not import beside this project's CPU torch wheel, so this
benchmark runs in its own environment (benchmark-only; never part of the app or the tests):

    python3 -m venv .venv-geoclip
    .venv-geoclip/bin/pip install torch==2.14.1 torchvision==0.29.1 geoclip transformers==5.23.0 \\
        safetensors==0.8.0 pillow==13.0.0 pillow-heif==1.8.1 piexif==1.1.3 filetype==1.2.0 exifread==3.5.1 \\
        geopy==2.5.0 pyyaml tqdm
    PYTHONPATH=. .venv-geoclip/bin/python -m benchmarks.bench_geoclip

GeoCLIP(from_pretrained=True, clip_pretrained=False) builds its ViT-L/14 with random weights
offline and loads its shipped head and 100K GPS gallery; ``predict(path, top_k=5)`` encodes the
whole gallery on every call. geoloc: ``Predictor.predict([path])`` with a ViT-L/14-sized
random backbone (top-5 candidates need a 5-component head; the cost is the same).
"""
from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.bench_inference import SIZES, make_photos
from benchmarks.machine import print_table


def time_geoclip(paths, reps: int) -> tuple[float, float]:
    """(predict, vision backbone alone) seconds per image; the model is freed on return."""
    from geoclip import GeoCLIP
    from PIL import Image

    geoclip = GeoCLIP(from_pretrained=True, clip_pretrained=False).eval()
    with Image.open(paths[0]) as image:
        pixels = geoclip.image_encoder.preprocess_image(image.convert("RGB"))

    def backbone(_path):
        with torch.no_grad():
            geoclip.image_encoder.CLIP.vision_model(pixel_values=pixels)

    return (per_image(lambda p: geoclip.predict(str(p), top_k=5), paths, reps), per_image(backbone, paths, reps))


def per_image(fn, paths, reps: int) -> float:
    fn(paths[0])  # warm-up
    start = time.perf_counter()
    for i in range(reps):
        fn(paths[(i + 1) % len(paths)])
    return (time.perf_counter() - start) / reps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    from geoloc_core.model.configuration_geolocator import GeoLocatorConfig
    from geoloc_core.model.inference import Predictor
    from geoloc_core.model.preprocessing import clip_image_processor
    from geoloc_core.model.modeling_geolocator import GeoLocator

    torch.manual_seed(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_photos(Path(tmp), 4)
        geoclip_s, geoclip_backbone_s = time_geoclip(paths, args.reps)
        model = GeoLocator(GeoLocatorConfig(vision_config=SIZES["l14"][1], num_components=5,
                                            backbone_name_or_path="random ViT-L/14"))
        predictor = Predictor(model, clip_image_processor(224), device=torch.device("cpu"), batch_size=1)
        ours_s = per_image(lambda p: predictor.predict([p]), paths, args.reps)
    rows += [
        ("GeoCLIP predict(path, top_k=5), s/image", f"{geoclip_s:.2f}"),
        ("GeoCLIP vision backbone alone, s/image", f"{geoclip_backbone_s:.2f}"),
        ("GeoCLIP / its backbone", f"{geoclip_s / geoclip_backbone_s:.1f}x"),
        ("geoloc Predictor.predict([path]) with 5 candidates, s/image", f"{ours_s:.2f}"),
        ("geoloc speed-up over GeoCLIP (target >= 10x)", f"{geoclip_s / ours_s:.1f}x"),
        ("peak RSS of the process (MiB)", f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f}"),
    ]
    print_table(f"geoloc vs GeoCLIP, ViT-L/14-sized random weights, torch {torch.__version__}, "
                f"{torch.get_num_threads()} threads", rows)


if __name__ == "__main__":
    main()
