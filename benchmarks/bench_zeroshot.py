"""Zero-shot CLIP on random-weight CLIP models sized like ViT-B/32 and ViT-L/14 (text towers of the real size,
no download needed), with the default candidate places: every country, admin-1 region and city of >= 15,000
people (about 38,000 prompts), embedded as images need them (issue #29).

Run: python -m benchmarks.bench_zeroshot [--sizes b32 l14] [--reps 5] [--batch 16] [--device cpu|cuda]
                                        [--first-images 3] [--prompt-sample 256]

Cold start (the #29 targets: first answer <= 30x one warm image, under 2 min for ViT-B/32, 5 min for ViT-L/14):
from "model loaded" (the predictor built, weights in memory, an empty prompt cache) to the first image's
answer, for ``--first-images`` different images in turn (each a fresh process state: a new predictor on a new
empty cache), against the same image's warm time (median of ``--reps`` repeats, one image per call). The
prompts each first answer needed are counted. A later start (the cache on disk, a new predictor) is timed too.

Text tower speed: prompts/s over ``--prompt-sample`` prompts drawn evenly from all levels, in batches as the
predictor sends them, ``torch.inference_mode``, the machine's threads; the time a full warm-up (every prompt,
``python -m geoloc_core prompts``) would take is extrapolated from it (marked so).

Warm path (the <= 1.1x target of #14): ``ZeroShotPredictor.predict`` on the same decoded 224 px PIL images
(CLIP preprocessing, vision tower, projection, the prompts the hierarchy reaches, posterior down to cities,
credible region, records) against the vision tower alone on the same images' ready pixel tensors, same batch,
precision and thread count; the prompts these images reach are embedded before timing (by the warm-up call).
Timed in alternation ``--reps`` times each after one warm-up, so a load change on a shared machine hits both;
the ratio is taken per pair.

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
from geoloc_core.model.zeroshot import TEXT_BATCH, ZeroShotPredictor
from geoloc_core.model.zeroshot_places import ZeroShotConfig, candidates_for

SIZES = {
    "b32": ("ViT-B/32-sized", dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                    num_attention_heads=12, image_size=224, patch_size=32),
            dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=8), 512),
    "l14": ("ViT-L/14-sized", dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                                    num_attention_heads=16, image_size=224, patch_size=14),
            dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12), 768),
}
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


def first_answers(model, tokenizer, processor, places, config, device, label: str, images, reps: int, sync):
    """Cold start per image: a new predictor on an empty cache, timed to its first answer, then that image warm."""
    rows = []
    for k, image in enumerate(images):
        with tempfile.TemporaryDirectory() as cache:
            predictor = ZeroShotPredictor(model, tokenizer, processor, places, config, checkpoint_id=f"random {label}",
                                          cache_dir=cache, device=device, batch_size=1, name=label)
            sync()
            start = time.perf_counter()
            answer = predictor.predict([image])[0]
            sync()
            cold = time.perf_counter() - start
            prompts = predictor.store.counts.prompts_computed
            warm = []
            for _ in range(reps):
                start = time.perf_counter()
                predictor.predict([image])
                sync()
                warm.append(time.perf_counter() - start)
            later = ZeroShotPredictor(model, tokenizer, processor, places, config, checkpoint_id=f"random {label}",
                                      cache_dir=cache, device=device, batch_size=1, name=label)
            start = time.perf_counter()
            assert later.predict([image])[0] == answer  # the cache gives the same answer
            sync()
            later_s = time.perf_counter() - start
            assert later.store.counts.computed == 0
        median = statistics.median(warm)
        rows += [(f"{label}, image {k + 1}: first answer after loading (cold cache), "
                  f"{prompts:,} prompts embedded ({answer.candidates[0].label.split(', ')[-1][:30]})",
                  f"{cold:,.1f} s"),
                 (f"{label}, image {k + 1}: the same image warm, median (range) of {reps}", median_range(warm, 1000)),
                 (f"{label}, image {k + 1}: **cold / warm** (target <= 30)", f"**{cold / median:,.1f}x**"),
                 (f"{label}, image {k + 1}: first answer after a restart (prompts on disk)", f"{later_s:,.2f} s")]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--reps", type=int, default=MIN_REPS, help=f"timed repeats of each (at least {MIN_REPS})")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--first-images", type=int, default=3, help="cold starts timed, one image each")
    parser.add_argument("--prompt-sample", type=int, default=256, metavar="N",
                        help="prompts timed through the text tower for its rate (default 256)")
    parser.add_argument("--skip-warm-path", action="store_true", help="only the cold start and the text tower rate")
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
    firsts = [Image.effect_noise((224, 224), 10 + 7 * i).convert("RGB").rotate(30 * i) for i in range(args.first_images)]
    rows = [("candidate prompts (countries + regions + cities)",
             f"{len(places.country_codes)} + {len(places.region_names):,} + {len(places.city_names):,} = "
             f"{len(prompts):,}"),
            ("loading the candidate places (once per process)", f"{places_seconds:.1f} s")]
    for key in args.sizes:
        label, vision, text, dim = SIZES[key]
        model = clip_model(vision, text, dim, len(tokenizer))
        # ---- the text tower's rate, as the predictor batches prompts
        with tempfile.TemporaryDirectory() as cache:
            holder = ZeroShotPredictor(model, tokenizer, processor, places, config, checkpoint_id=f"random {label}",
                                       cache_dir=cache, device=device, batch_size=args.batch, name=label)
            sample = [prompts[int(k)] for k in np.linspace(0, len(prompts) - 1, min(args.prompt_sample, len(prompts)))]
            holder.embed_texts(sample[:8])  # warm-up
            sync()
            start = time.perf_counter()
            holder.embed_texts(sample)
            sync()
            rate = len(sample) / (time.perf_counter() - start)
            rows.append((f"{label}: text tower, prompts/s over {len(sample)} prompts (batches of "
                         f"{TEXT_BATCH} by token length)",
                         f"{rate:,.1f} prompts/s; a full warm-up of all {len(prompts):,}: *extrapolated* "
                         f"{len(prompts) / rate / 60:,.0f} min (not needed for an answer)"))
            del holder
        rows += first_answers(model, tokenizer, processor, places, config, device, label, firsts, args.reps, sync)
        if args.skip_warm_path:
            continue
        with tempfile.TemporaryDirectory() as cache:
            predictor = ZeroShotPredictor(model, tokenizer, processor, places, config, checkpoint_id=f"random {label}",
                                          cache_dir=cache, device=device, batch_size=args.batch, name=label)
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
                (f"{label}, batch {args.batch}: zero-shot predict (prompts warm), per image",
                 median_range(zero_t, per_image)),
                (f"{label}, batch {args.batch}: ratio, median of {args.reps} paired repeats (target <= 1.1)",
                 median_range(ratios, unit="", digits=3)),
                (f"{label}, batch {args.batch}: ratio of the medians",
                 f"{statistics.median(zero_t) / statistics.median(bare_t):.3f}"),
                (f"{label}: of which CLIP preprocessing, per image", median_range(pre_t, per_image, digits=2)),
                (f"{label}: of which scoring the prompts the hierarchy reaches + posterior, per image",
                 median_range(text_t, per_image, digits=2)),
            ]
        del model
    threads = torch.get_num_threads()
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {threads} threads"
    print_table(f"Zero-shot CLIP, torch {torch.__version__}, {device_name}, {args.reps} reps", rows)


if __name__ == "__main__":
    main()
