"""Run every benchmark in turn: python -m benchmarks.run_all"""
from __future__ import annotations

import importlib
import sys

BENCHMARKS = ["benchmarks.bench_scan", "benchmarks.bench_archive", "benchmarks.bench_exif", "benchmarks.bench_geocoding",
              "benchmarks.bench_inference", "benchmarks.bench_zeroshot", "benchmarks.bench_basemap",
              "benchmarks.bench_pixel_forensics", "benchmarks.bench_team", "benchmarks.bench_video"]


def main() -> None:
    for name in BENCHMARKS:
        sys.argv = [name]
        importlib.import_module(name).main()


if __name__ == "__main__":
    main()
