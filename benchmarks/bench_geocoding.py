"""Offline reverse geocoding: load time and points/s on 100,000 random points.

Run: python -m benchmarks.bench_geocoding [--n 100000]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.machine import print_table
from geoloc_core.places.geocoding import OfflineGeocoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    start = time.perf_counter()
    geocoder = OfflineGeocoder()
    load_s = time.perf_counter() - start
    rng = np.random.default_rng(0)
    lats = np.degrees(np.arcsin(rng.uniform(-1, 1, args.n)))  # uniform on the sphere
    lons = rng.uniform(-180, 180, args.n)
    start = time.perf_counter()
    places = geocoder.reverse_many(lats, lons)
    query_s = time.perf_counter() - start
    at_sea = sum(p.at_sea for p in places) / len(places)
    print_table(f"Offline reverse geocoding, {args.n:,} random points", [
        ("load time (s)", f"{load_s:.2f}"),
        ("points/s (target >= 10,000)", f"{args.n / query_s:,.0f}"),
        ("share at sea (expect ~0.7)", f"{at_sea:.2f}"),
    ])


if __name__ == "__main__":
    main()
