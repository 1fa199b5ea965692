"""Zero-shot CLIP prediction vs the bare vision backbone, on random-weight CLIP models sized like ViT-B/32 and
ViT-L/14 (no download needed), with the default candidate places: every country, admin-1 region and city of
>= 15,000 people (about 38,000 prompts).

Run: python -m benchmarks.bench_zeroshot [--sizes b32 l14] [--reps 5] [--batch 16] [--device cpu|cuda]
                                        [--prompt-sample 512 | --all-prompts]

Per image (the <= 1.1x target): ``ZeroShotPredictor.predict`` on the same decoded 224 px PIL images (CLIP
preprocessing, vision tower, projection, one product with every cached prompt embedding, the hierarchical
posterior down to cities, credible region, records) against the vision tower alone on the same images'
ready pixel tensors, at the same batch size, precision and thread count. The two are timed in alternation,
``--reps`` times each after one warm-up, so a load change on a shared machine hits both; the table gives the
median per image with its range, the median of the per-repeat ratios with their range, and where the extra
time goes (preprocessing; the product with the prompts + posterior), each a median over the same repeats.

What the per-image path touches of the text side is only the cached embeddings (rows x projection width), so
the model timed per image has the real vision tower and projection width but a one-layer text tower: that is
what lets the ~38,000 embeddings be made in seconds here. The one-time prompt cost is measured separately
with a text tower of the real size: ``--prompt-sample N`` prompts drawn evenly from all levels, timed and
extrapolated to the whole set (marked so), or ``--all-prompts`` for the real total (hours for ViT-L/14
on a loaded 2-core CPU; expected to be seconds on a GPU). Loading the cached embeddings on later starts is timed too.
The tokenizer is word-level over the prompt words (CLIP's BPE vocabulary cannot be downloaded here); CLIP's
BPE splits rare place names into more tokens, so real prompt costs are somewhat higher than measured.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np
import torch
from PIL import Image

from benchmarks.machine import median_range, print_table
from geoloc_core.model.preprocessing import clip_image_processor
from geoloc_core.model.zeroshot import ZeroShotPredictor
from geoloc_core.model.zeroshot_places import ZeroShotConfig, candidates_for

SIZES = {
    "b32": ("ViT-B/32-sized", dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                    num_attention_heads=12, image_size=224, patch_size=32),
            dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=8), 512),
    "l14": ("ViT-L/14-sized", dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                                    num_attention_heads=16, image_size=224, patch_size=14),
            dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12), 768),
}
ONE_LAYER_TEXT = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=1, num_attention_heads=2)
MIN_REPS = 5


def word_tokenizer(texts: list[str]):
    """The tests' word-level tokenizer over every word of these prompts."""
    from tokenizers import pre_tokenizers

    from tests.tiny_models import word_level_tokenizer

    return word_level_tokenizer({w for t in texts for w, _ in pre_tokenizers.Whitespace().pre_tokenize_str(t.lower())})


def clip_model(vision: dict, text: dict, dim: int, vocab_size: int):
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(0)
    return CLIPModel(CLIPConfig(vision_config=vision, projection_dim=dim,
                                text_config=dict(text, vocab_size=vocab_size, pad_token_id=0, bos_token_id=2,
                                                 eos_token_id=3, max_position_embeddings=77)))


def interleaved(first, second, reps: int, sync) -> tuple[list[float], list[float]]:
    """``reps`` timings of each, alternating first/second after one warm-up of each."""
    first(), second()
    sync()
    a, b = [], []
    for _ in range(reps):
        for fn, out in ((first, a), (second, b)):
            start = time.perf_counter()
            fn()
            sync()
            out.append(time.perf_counter() - start)
    return a, b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--reps", type=int, default=MIN_REPS, help=f"timed repeats of each (at least {MIN_REPS})")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--prompt-sample", type=int, default=512, metavar="N",
                       help="time N prompts through the real-sized text tower and extrapolate (default 512)")
    group.add_argument("--all-prompts", action="store_true", help="embed every prompt with the real-sized text tower")
    args = parser.parse_args()
    if args.reps < MIN_REPS:
        parser.error(f"--reps must be at least {MIN_REPS}: a median and a spread need them")

    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    config = ZeroShotConfig()
    start = time.perf_counter()
    places = candidates_for(config)
    places_seconds = time.perf_counter() - start
    prompts = places.country_prompts(config) + places.region_prompts(config) + places.city_prompts(config)
    tokenizer = word_tokenizer(prompts)
    processor = clip_image_processor(224)
    images = [Image.effect_noise((224, 224), 40 + i).convert("RGB") for i in range(args.batch)]
    rows = [("candidate prompts (countries + regions + cities)",
             f"{len(places.country_codes)} + {len(places.region_names):,} + {len(places.city_names):,} = "
             f"{len(prompts):,}"),
            ("loading the candidate places (once per process)", f"{places_seconds:.1f} s")]
    for key in args.sizes:
        label, vision, text, dim = SIZES[key]
        with tempfile.TemporaryDirectory() as cache:
            # ---- one-time: the prompts through a text tower of the real size
            full_text = clip_model(vision, text, dim, len(tokenizer))
            if args.all_prompts:
                timed = ZeroShotPredictor(full_text, tokenizer, processor, places, config,
                                          checkpoint_id=f"random {label} full", cache_dir=cache, device=device,
                                          batch_size=args.batch, name=label)
                rows.append((f"{label}: prompt embeddings, first start (one-time, all {len(prompts):,})",
                             f"{timed.text_seconds:,.1f} s measured"))
                predictor = timed
            else:
                sample = [prompts[int(k)] for k in np.linspace(0, len(prompts) - 1, min(args.prompt_sample,
                                                                                         len(prompts)))]
                holder = ZeroShotPredictor.__new__(ZeroShotPredictor)  # only embed_texts of the real-sized tower
                holder.model, holder.tokenizer, holder.device = full_text.to(device).eval(), tokenizer, device
                if device.type == "cuda":
                    holder.model.half()
                holder.embed_texts(sample[:8])  # warm-up
                sync()
                start = time.perf_counter()
                holder.embed_texts(sample)
                sync()
                seconds = time.perf_counter() - start
                rows.append((f"{label}: prompt embeddings, first start (one-time)",
                             f"{len(sample) / seconds:,.1f} prompts/s over {len(sample)} prompts: "
                             f"*extrapolated* {len(prompts) / (len(sample) / seconds) / 60:,.1f} min "
                             f"for all {len(prompts):,}"))
                del holder, full_text
                # ---- per image: the real vision tower and projection width, a one-layer text tower
                predictor = ZeroShotPredictor(clip_model(vision, ONE_LAYER_TEXT, dim, len(tokenizer)), tokenizer,
                                              processor, places, config, checkpoint_id=f"random {label}",
                                              cache_dir=cache, device=device, batch_size=args.batch, name=label)
            sync()
            start = time.perf_counter()
            again = ZeroShotPredictor(predictor.model, tokenizer, processor, places, config,
                                      checkpoint_id=predictor.checkpoint_id, cache_dir=cache, device=device,
                                      batch_size=args.batch, name=label)
            sync()
            cached = time.perf_counter() - start
            assert again.text_cache_status == "loaded"
            del again
        rows.append((f"{label}: prompt embeddings, later starts (disk cache, "
                     f"{predictor.text_embeds.numel() * 4 / 2**20:,.0f} MiB)", f"{cached:.2f} s"))
        pixels = processor(images=images, return_tensors="pt")["pixel_values"]
        dtype = next(predictor.model.vision_model.parameters()).dtype
        pixels = pixels.to(device, dtype)

        def bare():
            with torch.inference_mode():
                predictor.model.vision_model(pixel_values=pixels)

        bare_t, zero_t = interleaved(bare, lambda: predictor.predict(images), args.reps, sync)
        ratios = [z / b for z, b in zip(zero_t, bare_t)]
        embeds = predictor.image_embeddings(images)

        pre_t, text_t = interleaved(lambda: processor(images=images, return_tensors="pt"),
                                    lambda: predictor.predict_embeddings(embeds), args.reps, sync)
        per_image = 1000 / args.batch
        rows += [
            (f"{label}, batch {args.batch}: vision tower alone, per image", median_range(bare_t, per_image)),
            (f"{label}, batch {args.batch}: zero-shot predict, per image", median_range(zero_t, per_image)),
            (f"{label}, batch {args.batch}: ratio, median of {args.reps} paired repeats (target <= 1.1)",
             median_range(ratios, unit="", digits=3)),
            (f"{label}, batch {args.batch}: ratio of the medians", f"{statistics.median(zero_t) / statistics.median(bare_t):.3f}"),
            (f"{label}: of which CLIP preprocessing, per image", median_range(pre_t, per_image, digits=2)),
            (f"{label}: of which scoring the prompts the hierarchy reaches + posterior, per image",
             median_range(text_t, per_image, digits=2)),
        ]
        del predictor
    threads = torch.get_num_threads()
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {threads} threads"
    print_table(f"Zero-shot CLIP, torch {torch.__version__}, {device_name}, {args.reps} paired reps", rows)


if __name__ == "__main__":
    main()
