"""Pixel forensics (issue #37): detection rates on generated forgeries, false positives on single-compressed
pictures, and the cost of each check on a 12 MP picture.

Run: python -m benchmarks.bench_pixel_forensics [--cases 40] [--size 1024x768] [--repeats 3]

The pictures are photograph-like but generated (tests/forensic_images.py), not camera files; every case
is seeded (case i uses seed ``--seed + i``), so a run is repeatable. The thresholds in the checks were set on
``--tune`` seeds (1000 onwards), never on the seeds the rates are measured on.

- copy-move: a square of 12-25 % of the short side copied elsewhere in the picture, saved once (quality
  85-95, or a camera-like table for every other case); detected = a pair whose both boxes have
  IoU >= 0.5 with the true source and target (either way round). Then again with the copy turned by
  10-40 degrees and scaled by 0.85-1.2 (the target box is the turned copy's bounding box).
- double compression: saved at q1, decoded, saved at q2, q1 and q2 drawn from 50..95 at least 5 apart;
  half the cases with q1 < q2 (lower then higher quality), half q1 > q2; rates given for each order.
- false positives: single-compressed pictures, half with a camera-like table beside a camera name (EXIF
  Make/Model "Canon"/"Canon EOS 5D": the stand-in for a camera JPEG), half saved by libjpeg at 50..95 with
  no camera named; flagged by any check.
- cost: one 4000 x 3000 picture, ``--repeats`` times: each check alone, then all five as the app runs them
  (``analyse_pixels_isolated`` in a warm isolated worker), alternated so both see the same load; median
  and range. ``--cases 0`` measures the cost alone.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.machine import median_range, print_table
from geoloc_core.evidence.pixel_forensics import (check_copy_move, check_double_compression, check_error_level,
                                                  check_noise, check_quantisation)
from tests.forensic_images import copy_moved, decoded, double_compressed, iou, jpeg, photo_like

CAMERA = ("Canon", "Canon EOS 5D")


def _size(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


def _pair_iou(result, source, target) -> float:
    return max([max(min(iou(p.source, source), iou(p.target, target)), min(iou(p.source, target), iou(p.target, source)))
                for p in result.pairs] or [0.0])


def copy_move_cases(seeds: range, size: tuple[int, int], verbose: bool, turned: bool = False) -> tuple[int, int]:
    found = 0
    for seed in seeds:
        rng = np.random.default_rng(seed)
        fraction = float(rng.uniform(0.12, 0.25))
        angle = float(rng.uniform(10, 40) * rng.choice([-1, 1])) if turned else 0.0
        scale = float(rng.uniform(0.85, 1.2)) if turned else 1.0
        forged, source, target = copy_moved(photo_like(seed, size), seed, fraction=fraction, angle=angle, scale=scale)
        data = jpeg(forged, camera_tables=True) if seed % 2 else jpeg(forged, int(rng.integers(85, 96)))
        result = check_copy_move(data)
        overlap = _pair_iou(result, source, target)
        found += overlap >= 0.5
        if verbose:
            print(f"copy-move seed {seed} (turned {angle:.0f} deg, scaled {scale:.2f}): pairs {result.count}, "
                  f"matches {result.measure}, IoU {overlap:.2f}")
    return found, len(seeds)


def double_cases(seeds: range, size: tuple[int, int], verbose: bool) -> dict[str, tuple[int, int]]:
    tally = {"lower then higher": [0, 0], "higher then lower": [0, 0]}
    for seed in seeds:
        rng = np.random.default_rng(seed + 50_000)
        while True:
            a, b = sorted(int(v) for v in rng.integers(50, 96, 2))
            if b - a >= 5:
                break
        first, second = (a, b) if seed % 2 == 0 else (b, a)
        result = check_double_compression(double_compressed(photo_like(seed, size), first, second))
        order = "lower then higher" if first < second else "higher then lower"
        tally[order][0] += result.flagged
        tally[order][1] += 1
        if verbose:
            print(f"double seed {seed}: {first}->{second} periodicity {result.measure} ghost {result.ghost_rise} "
                  f"flagged {result.flagged}")
    return {k: (v[0], v[1]) for k, v in tally.items()}


def clean_cases(seeds: range, size: tuple[int, int], verbose: bool) -> dict[str, tuple[int, int]]:
    tally = {"quantisation": 0, "double compression": 0, "copy-move": 0, "any": 0}
    for seed in seeds:
        picture = photo_like(seed, size)
        if seed % 2:
            data, (make, model) = jpeg(picture, camera_tables=True), CAMERA
        else:
            data, make, model = jpeg(picture, int(np.random.default_rng(seed).integers(50, 96))), "", ""
        results = [check_quantisation(data, make, model), check_double_compression(data), check_copy_move(data),
                   check_error_level(data), check_noise(data)]
        for result in results:
            if result.flagged:
                tally[result.name] += 1
        tally["any"] += any(r.flagged for r in results)
        if verbose:
            print(f"clean seed {seed}: " + ", ".join(f"{r.name} {r.measure}" for r in results[:3]))
    return {k: (v, len(seeds)) for k, v in tally.items()}


def cost_rows(repeats: int) -> list[tuple[str, str]]:
    """Each check alone, then all five as the app runs them, alternated in every repeat: on a shared machine
    the load changes from minute to minute, and the rows compare only when they saw the same load."""
    from geoloc_core.evidence.isolation import IsolatedWorker
    from geoloc_core.evidence.pixel_forensics import analyse_pixels_isolated

    picture = photo_like(7, (4000, 3000))
    data = jpeg(decoded(jpeg(picture, 70)), camera_tables=True)  # a ghost and a periodicity to find: the full path
    checks = [("quantisation", lambda: check_quantisation(data, *CAMERA)),
              ("double compression", lambda: check_double_compression(data)),
              ("error levels (view)", lambda: check_error_level(data)),
              ("noise residual (view)", lambda: check_noise(data)),
              ("copy-move", lambda: check_copy_move(data))]
    times: dict[str, list[float]] = {name: [] for name, _ in checks}
    whole, isolated = [], []
    # All checks as Verify, Batch and ``scan --pixel-forensics`` run them: ``analyse_pixels_isolated`` in one
    # warm isolated worker (the pipe round trip and the views' PNGs included); the worker's start is not
    # counted (the app and scan start theirs before the first file).
    with IsolatedWorker() as worker:
        worker.call(len, b"")  # started and ready
        for _ in range(repeats):
            for name, run in checks:
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
            whole.append(sum(times[name][-1] for name, _ in checks))
            start = time.perf_counter()
            result = analyse_pixels_isolated(data, *CAMERA, worker=worker)
            isolated.append(time.perf_counter() - start)
            if result.errors:
                raise SystemExit(f"the isolated run failed: {result.errors}")
    rows = [(f"cost per 12 MP picture: {name}", median_range(times[name], unit="s", digits=2)) for name, _ in checks]
    rows.append(("cost per 12 MP picture: the five one after another, in this process",
                 median_range(whole, unit="s", digits=2)))
    rows.append(("cost per 12 MP picture: all five in the isolated worker (as the app and scan run them)",
                 median_range(isolated, unit="s", digits=2)))
    return rows


def _rate(hit: int, total: int) -> str:
    return f"{hit}/{total} = {100 * hit / total:.0f} %" if total else "no cases"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=40, help="cases per measure (e.g. 40)")
    parser.add_argument("--size", default="1024x768", help="picture size for the rates, e.g. 1024x768")
    parser.add_argument("--seed", type=int, default=0, help="first seed (cases use seed .. seed+cases-1)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each check on the 12 MP picture")
    parser.add_argument("--no-cost", action="store_true", help="skip the 12 MP timings")
    parser.add_argument("--tune", action="store_true", help="use the tuning seeds (1000 onwards) and print each case")
    parser.add_argument("--verbose", action="store_true", help="print each case's numbers")
    args = parser.parse_args()
    size = _size(args.size)
    start = 1000 if args.tune else args.seed
    seeds = range(start, start + args.cases)
    verbose = args.verbose or args.tune
    rows = []
    found, total = copy_move_cases(seeds, size, verbose)
    rows.append(("copy-move detected and outlined (IoU >= 0.5)", _rate(found, total)))
    found, total = copy_move_cases(seeds, size, verbose, turned=True)
    rows.append(("copy-move turned 10-40 deg and scaled 0.85-1.2, outlined", _rate(found, total)))
    doubles = double_cases(seeds, size, verbose)
    all_hit = sum(h for h, _ in doubles.values())
    all_total = sum(t for _, t in doubles.values())
    rows.append(("double compression flagged, all", _rate(all_hit, all_total)))
    rows += [(f"double compression flagged, {order}", _rate(*v)) for order, v in doubles.items()]
    for name, value in clean_cases(seeds, size, verbose).items():
        rows.append((f"single-compressed flagged by {name}", _rate(*value)))
    if not args.no_cost:
        rows += cost_rows(args.repeats)
    print_table(f"Pixel forensics: {args.cases} cases per measure at {size[0]}x{size[1]}, seeds {seeds.start}.."
                f"{seeds.stop - 1}", rows)


if __name__ == "__main__":
    main()
