"""Zero-shot CLIP prediction vs the bare vision backbone, on random-weight CLIP models sized like ViT-B/32 and
ViT-L/14 (vision and text towers; the same compute as the real ones; no download needed).

Run: python -m benchmarks.bench_zeroshot [--sizes b32 l14] [--reps 5] [--batch 16] [--device cpu|cuda]

Per image: ``ZeroShotPredictor.predict`` on decoded 224 px PIL images (CLIP preprocessing, vision tower,
projection, one product with the cached prompt embeddings of every country and admin-1 region, the hierarchical
posterior, credible region, records) against the vision tower alone on ready pixel tensors, at the same batch
size and precision. Target: <= 1.1x. One-time cost: embedding all prompts (about 250 countries + 3,700 regions of
GeoNames cities1000) through the text tower, and loading them from the disk cache on later starts. The tokenizer
is word-level over the prompt words (CLIP's BPE vocabulary cannot be downloaded here); CLIP's BPE splits rare
place names into more tokens, so the real prompt cost is somewhat higher than measured.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from benchmarks.machine import print_table
from geoloc_core.model.inference import clip_image_processor
from geoloc_core.model.zeroshot import ZeroShotPredictor
from geoloc_core.model.zeroshot_places import ZeroShotConfig, load_candidates

SIZES = {
    "b32": ("ViT-B/32-sized", dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                    num_attention_heads=12, image_size=224, patch_size=32),
            dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=8), 512),
    "l14": ("ViT-L/14-sized", dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                                    num_attention_heads=16, image_size=224, patch_size=14),
            dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12), 768),
}


def word_tokenizer(texts: list[str]):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<unk>", "<bos>", "<eos>"]
    words = sorted({w for t in texts for w, _ in pre_tokenizers.Whitespace().pre_tokenize_str(t.lower())})
    tokenizer = Tokenizer(models.WordLevel(vocab={w: i for i, w in enumerate(specials + words)}, unk_token="<unk>"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(single="<bos> $A <eos>",
                                                             special_tokens=[("<bos>", 2), ("<eos>", 3)])
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", unk_token="<unk>",
                                   bos_token="<bos>", eos_token="<eos>")


def subset_places(n: int) -> str:
    import pandas as pd

    from geoloc_core.model.zeroshot_places import default_places_csv

    frame = pd.read_csv(default_places_csv(), dtype=str, keep_default_na=False)
    codes = sorted(set(frame["cc"]) - {""})[:n]
    path = Path(tempfile.mkdtemp()) / f"places_{n}.csv"
    frame[frame["cc"].isin(codes)].to_csv(path, index=False)
    return str(path)


def timings(fn, reps: int, sync) -> list[float]:
    fn()  # warm-up
    sync()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--countries", type=int, default=0, metavar="N",
                        help="only the first N countries (by ISO code) and their regions: a quicker run on a slow "
                             "machine; the per-image cost hardly depends on it, the prompt cost scales with it")
    args = parser.parse_args()
    from transformers import CLIPConfig, CLIPModel

    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    places = load_candidates(subset_places(args.countries) if args.countries else None)
    config = ZeroShotConfig()
    prompts = places.country_prompts(config) + places.region_prompts(config)
    tokenizer = word_tokenizer(prompts)
    images = [Image.effect_noise((224, 224), 40 + i).convert("RGB") for i in range(args.batch)]
    rows = [("prompts (countries + regions)", f"{len(places.country_codes)} + {len(places.region_names)}")]
    for key in args.sizes:
        label, vision, text, dim = SIZES[key]
        torch.manual_seed(0)
        model = CLIPModel(CLIPConfig(vision_config=vision, projection_dim=dim,
                                     text_config=dict(text, vocab_size=len(tokenizer), pad_token_id=0,
                                                      bos_token_id=2, eos_token_id=3)))
        with tempfile.TemporaryDirectory() as cache:
            start = time.perf_counter()
            predictor = ZeroShotPredictor(model, tokenizer, clip_image_processor(224), places, config,
                                          checkpoint_id=f"random {label}", cache_dir=cache, device=device,
                                          batch_size=args.batch, name=label)
            sync()
            first = time.perf_counter() - start
            start = time.perf_counter()
            again = ZeroShotPredictor(predictor.model, tokenizer, clip_image_processor(224), places, config,
                                      checkpoint_id=f"random {label}", cache_dir=cache, device=device,
                                      batch_size=args.batch, name=label)
            sync()
            cached = time.perf_counter() - start
            assert again.text_cache_status == "loaded"
        pixels = predictor.image_processor(images=images, return_tensors="pt")["pixel_values"]
        dtype = next(predictor.model.vision_model.parameters()).dtype
        pixels = pixels.to(device, dtype)

        def bare():
            with torch.inference_mode():
                predictor.model.vision_model(pixel_values=pixels)

        bare_t = timings(bare, args.reps, sync)
        zero_t = timings(lambda: predictor.predict(images), args.reps, sync)
        ratios = [z / b for z, b in zip(sorted(zero_t), sorted(bare_t))]
        per = lambda ts: f"{1000 * min(ts) / args.batch:.2f} ms (median {1000 * statistics.median(ts) / args.batch:.2f})"
        rows += [
            (f"{label}: prompt embeddings, first start (one-time)", f"{predictor.text_seconds:.1f} s "
             f"({first:.1f} s with setup)"),
            (f"{label}: prompt embeddings, later starts (disk cache)", f"{cached:.2f} s"),
            (f"{label}, batch {args.batch}: vision tower alone, per image", per(bare_t)),
            (f"{label}, batch {args.batch}: zero-shot predict, per image", per(zero_t)),
            (f"{label}, batch {args.batch}: ratio best/best (target <= 1.1)", f"{min(zero_t) / min(bare_t):.3f} "
             f"(rank-matched range {min(ratios):.3f}-{max(ratios):.3f})"),
        ]
    threads = torch.get_num_threads()
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {threads} threads"
    print_table(f"Zero-shot CLIP, torch {torch.__version__}, {device_name}, {args.reps} reps", rows)


if __name__ == "__main__":
    main()
