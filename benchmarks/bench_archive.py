"""Archive scale (#35): Ray on one machine against the local parser pool, and the parts of the GPU plan
that can be measured on a CPU.

Run: python -m benchmarks.bench_archive                     # 2,000 files, 3 pairs (about 10 minutes on 2 cores)
     python -m benchmarks.bench_archive --files 200 --reps 3 --skip-decode

1. Ray vs local, whole commands: ``scan DIR --out f.csv`` against ``scan DIR --engine ray --output-dir
   FRESH --out f.csv`` (a local Ray started and stopped by the command, its actors, Parquet shards, and the
   CSV export), on the same folder of phone-size JPEGs (``bench_scan.make_folder``), alternating pairs,
   median of the per-pair ratios (target <= 1.3). Also the same in one process with Ray already up (what a
   cluster's driver sees: no Ray start, the actors' start included).
2. Decode parts (the GPU plan in benchmarks/README.md): parser CPU-ms per file for the metadata-only
   inspection, the full inspection (its reduced-scale decode: truncation check, perceptual hash), and the
   model's crop (CLIP ViT 224 px) from a reduced-DCT ``draft`` decode (what the scan does) against a
   full-resolution decode, with how much the crop differs, at 1600x1200 and 4032x3024 (a 12 MP phone photo).
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_scan import _ENV, _compile_package, _load, _picture, _spread, make_folder, scan_command
from benchmarks.machine import print_table

ROOT = Path(__file__).resolve().parents[1]


def _run(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_ENV)
    return time.perf_counter() - started


def ray_command(folder: Path, output: Path, out: Path, workers: int) -> list[str]:
    return [sys.executable, "-m", "geoloc_core", "scan", str(folder), "--engine", "ray", "--workers", str(workers),
            "--output-dir", str(output), "--out", str(out), "--no-progress"]


def bench_ray_commands(tmp: Path, count: int, reps: int, extra: list[str]) -> list[tuple[str, str]]:
    _compile_package()
    folder = make_folder(tmp / f"photos_{count}", count)
    workers = len(os.sched_getaffinity(0))
    label = " ".join(extra) or "full scan"
    rows = [("load average (1/5/15 min) before", _load())]
    _run(scan_command(folder, tmp / "l.csv", *extra))  # warm: page cache, the geocoder's prepared arrays
    local, ray = [], []
    for rep in range(reps):
        local.append(_run(scan_command(folder, tmp / "l.csv", *extra)))
        shutil.rmtree(tmp / "ray_out", ignore_errors=True)
        ray.append(_run(ray_command(folder, tmp / "ray_out", tmp / "r.csv", workers) + extra))
    ratios = [b / a for a, b in zip(local, ray)]
    rows += [(f"{count} files, {label}: local pool ({workers} parsers), whole command", _spread(local)),
             (f"{count} files, {label}: --engine ray ({workers} CPUs, Ray started by the command)", _spread(ray)),
             (f"{count} files: ray / local, median of per-pair ratios (target <= 1.3); per pair",
              f"{statistics.median(ratios):.2f}; " + ", ".join(f"{r:.2f}" for r in ratios)),
             ("load average (1/5/15 min) after", _load())]
    return rows


def bench_ray_in_process(tmp: Path, count: int, reps: int) -> list[tuple[str, str]]:
    """Ray already running (a cluster's view): run_archive_scan against the Analyzer on a WorkerPool."""
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    import ray

    from geoloc_core.case.analyzer import Analyzer
    from geoloc_core.case.archive_scan.inputs import list_items
    from geoloc_core.case.archive_scan.ray_engine import ArchiveScanSettings, run_archive_scan
    from geoloc_core.evidence.isolation import WorkerPool
    from geoloc_core.evidence.sources import collect_sources
    from geoloc_core.places.loading import shared_offline_geocoder

    folder = make_folder(tmp / f"photos_{count}", count)
    workers = len(os.sched_getaffinity(0))
    started = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    ray_start = time.perf_counter() - started
    geocoder = shared_offline_geocoder()
    local, remote = [], []
    try:
        with WorkerPool(size=workers) as pool:
            analyzer = Analyzer(geocoder=geocoder, worker=pool)
            list(analyzer.analyze_stream(collect_sources([folder])[:8]))  # parsers started
            for rep in range(reps):
                started = time.perf_counter()
                list(analyzer.analyze_stream(collect_sources([folder])))
                local.append(time.perf_counter() - started)
                shutil.rmtree(tmp / "ray_in", ignore_errors=True)
                started = time.perf_counter()
                run_archive_scan(list_items([str(folder)]), ArchiveScanSettings(output_dir=tmp / "ray_in",
                                                                                progress=False),
                                 say=lambda line: None)
                remote.append(time.perf_counter() - started)
    finally:
        ray.shutdown()
    ratios = [b / a for a, b in zip(local, remote)]
    return [("ray.init (local, loopback, no dashboard)", f"{ray_start:.2f} s"),
            (f"{count} files in one process, Analyzer on a started pool of {workers}", _spread(local)),
            (f"{count} files, run_archive_scan on the running Ray (actors started per run, shards written)",
             _spread(remote)),
            ("ray / local, median of per-pair ratios; per pair",
             f"{statistics.median(ratios):.2f}; " + ", ".join(f"{r:.2f}" for r in ratios))]


def _cpu_ms(function, items, reps: int = 3) -> list[float]:
    out = []
    for _ in range(reps):
        started = time.process_time()
        for item in items:
            function(item)
        out.append((time.process_time() - started) / len(items) * 1000)
    return out


def bench_decode_parts(count: int = 12) -> list[tuple[str, str]]:
    import numpy as np
    from PIL import Image, ImageOps

    from geoloc_core.evidence.imaging import load_rgb
    from geoloc_core.evidence.inspection import inspect_file, inspect_metadata_only
    from geoloc_core.model.clip_input import ClipInputSpec

    spec = ClipInputSpec(224, 224, int(Image.Resampling.BICUBIC), 1 / 255, (0.48145466, 0.4578275, 0.40821073),
                         (0.26862954, 0.26130258, 0.27577711))  # CLIP ViT-B/32 and ViT-L/14's processor

    def full_resolution_crop(data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data)) as image:
            return spec.crop_of(ImageOps.exif_transpose(image).convert("RGB"))

    def reduced_decode(data: bytes) -> None:  # the full scan's truncation/pHash decode, alone
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (128, 128))
            image.load()

    rows = []
    for size in ((1600, 1200), (4032, 3024)):
        files = [_picture(i, size) for i in range(count)]
        label = f"{size[0]}x{size[1]} ({sum(map(len, files)) / len(files) / 1024:,.0f} KB)"
        for function in (inspect_metadata_only, inspect_file, reduced_decode, spec.crop_from_bytes,
                         full_resolution_crop):  # warm: imports, first-use tables
            function(files[0])
        meta = _cpu_ms(inspect_metadata_only, files)
        full = _cpu_ms(inspect_file, files)
        decode = _cpu_ms(reduced_decode, files)
        draft = _cpu_ms(spec.crop_from_bytes, files)
        whole = _cpu_ms(full_resolution_crop, files)
        diffs = [np.abs(spec.crop_from_bytes(d).astype(np.int16) - full_resolution_crop(d).astype(np.int16))
                 for d in files]
        levels = np.concatenate([d.ravel() for d in diffs])
        table = spec.value_table()
        relative = [float(np.linalg.norm(table[np.arange(3), spec.crop_from_bytes(d)].astype(np.float64)
                                         - table[np.arange(3), full_resolution_crop(d)])
                          / np.linalg.norm(table[np.arange(3), full_resolution_crop(d)])) for d in files]
        m, f, r, dr, w = (statistics.median(x) for x in (meta, full, decode, draft, whole))
        rows += [
            (f"{label}: parser CPU-ms/file, metadata-only / full inspection", f"{m:.2f} / {f:.2f}"),
            (f"{label}: the full inspection's reduced-scale decode alone (share of the full inspection)",
             f"{r:.2f} ({r / f:.0%})"),
            (f"{label}: model crop 224 px, draft decode (as scanned) / full-resolution decode, CPU-ms",
             f"{dr:.2f} / {w:.2f} (draft saves {1 - dr / w:.0%})"),
            (f"{label}: draft vs full-resolution crop: mean / max abs difference (0-255 levels); "
             f"pixels off by > 8", f"{levels.mean():.2f} / {levels.max()}; {np.mean(levels > 8):.2%}"),
            (f"{label}: relative L2 difference of the normalised model input, median (max)",
             f"{statistics.median(relative):.4f} ({max(relative):.4f})"),
        ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000, help="folder size for the Ray comparison")
    parser.add_argument("--reps", type=int, default=3, help="alternating pairs")
    parser.add_argument("--metadata-only", action="store_true", help="compare scan --metadata-only instead")
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument("--skip-decode", action="store_true")
    parser.add_argument("--keep", metavar="DIR", default=None, help="generate the folder here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(args.keep or scratch)
        extra = ["--metadata-only"] if args.metadata_only else []
        if not args.skip_ray:
            print_table(f"scan --engine ray vs the local pool, whole commands, {args.reps} pairs",
                        bench_ray_commands(tmp, args.files, args.reps, extra))
        if not args.skip_in_process:
            print_table(f"Ray already running vs the local pool, in one process, {args.reps} pairs",
                        bench_ray_in_process(tmp, args.files, args.reps))
    if not args.skip_decode:
        print_table("Decode parts of a scan (parser process, CPU time per file)", bench_decode_parts())


if __name__ == "__main__":
    main()
