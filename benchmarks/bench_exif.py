"""EXIF + evidence hash per file: geoloc vs ``exiftool -n -j`` run once per file, on 200 generated images.

Run: python -m benchmarks.bench_exif [--n 200]
geoloc's number includes what a scan really does per file: the round trip to the
isolated parser process, SHA-256, type detection, header read and a 1/8-scale
decode that catches truncation, and EXIF parsing.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.machine import print_table
from geoloc_core.evidence.inspection import inspect_exif_and_hash, inspect_file
from geoloc_core.evidence.isolation import IsolatedWorker
from tests.imagegen import gps_exif, image_bytes


def make_corpus(folder: Path, n: int) -> list[Path]:
    rng = random.Random(0)
    paths = []
    for i in range(n):
        lat, lon = rng.uniform(-89, 89), rng.uniform(-179.9, 179.9)
        path = folder / f"img_{i:04d}.jpg"
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        path.write_bytes(image_bytes(size=(1024, 768), color=color, exif=gps_exif(lat, lon, altitude=rng.uniform(0, 900))))
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    if shutil.which("exiftool") is None:
        raise SystemExit("exiftool is needed (apt-get install libimage-exiftool-perl)")
    with tempfile.TemporaryDirectory() as tmp, IsolatedWorker() as worker:
        paths = make_corpus(Path(tmp), args.n)
        worker.call(inspect_file, paths[0].read_bytes())  # start the worker outside the timing
        start = time.perf_counter()
        ours = {str(p): worker.call(inspect_exif_and_hash, p.read_bytes()) for p in paths}
        ours_s = (time.perf_counter() - start) / len(paths)
        start = time.perf_counter()
        for p in paths:
            worker.call(inspect_file, p.read_bytes())
        full_s = (time.perf_counter() - start) / len(paths)
        start = time.perf_counter()
        theirs = {}
        for p in paths:
            out = subprocess.run(["exiftool", "-n", "-j", "-GPSLatitude", "-GPSLongitude", str(p)],
                                 capture_output=True, text=True, check=True).stdout
            theirs[str(p)] = json.loads(out)[0]
        theirs_s = (time.perf_counter() - start) / len(paths)
    agree = sum(abs(ours[k][1].GPSLatitude - v["GPSLatitude"]) < 1e-6 and
                abs(ours[k][1].GPSLongitude - v["GPSLongitude"]) < 1e-6 for k, v in theirs.items())
    print_table(f"EXIF + hash per file, {args.n} generated 1024x768 JPEGs", [
        ("geoloc EXIF + hash per file (ms)", f"{ours_s * 1000:.2f}"),
        ("geoloc full inspection incl. forensic facts (pHash, thumbnail, C2PA) (ms)", f"{full_s * 1000:.2f}"),
        ("exiftool -n -j per file (ms)", f"{theirs_s * 1000:.2f}"),
        ("speed-up (target >= 10x)", f"{theirs_s / ours_s:.1f}x"),
        ("GPS agreement within 1e-6 deg (target 100 %)", f"{100 * agree / len(theirs):.1f} %"),
    ])


if __name__ == "__main__":
    main()
