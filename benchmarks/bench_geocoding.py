"""Offline reverse geocoding: load time, points/s, memory, and accuracy at borders.

* speed: 100,000 points uniform on the sphere (~70 % at sea), after load;
* memory: growth of the process's resident set from before the geocoder loads
  (numpy already imported) to after loading, and to after the speed run (its lazily
  built indexes and the 100,000 ``Place`` results included);
* accuracy: ``tests/data/border_points.csv`` (countries and continents) and
  ``tests/data/region_points.csv`` (admin-1 regions, leave-one-out).

Wall-clock figures depend on what else the machine runs; the CPU-time figures (this
process's own CPU seconds; the work is single-threaded) say what an idle core would do.

Run: python -m benchmarks.bench_geocoding [--n 100000]
"""
from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from benchmarks.machine import print_table

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def rss_mib() -> float:
    with open("/proc/self/status", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _rows(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def border_accuracy(geocoder) -> tuple[int, int, int]:
    """(wrong countries, wrong continents, points) on the border set."""
    rows = _rows("border_points.csv")
    places = geocoder.reverse_many([float(r["lat"]) for r in rows], [float(r["lon"]) for r in rows])
    wrong_country = sum((p.country_code or "") != r["country"] for r, p in zip(rows, places))
    wrong_continent = sum((p.continent or "") != r["continent"] for r, p in zip(rows, places))
    return wrong_country, wrong_continent, len(rows)


def option_accuracy(geocoder) -> tuple[int, int, int]:
    """Wrong countries on the border set's land-border points for each data option alone:
    (OpenStreetMap time-zone polygons, Natural Earth 1:10m admin-0, number of points)."""
    rows = [r for r in _rows("border_points.csv") if r["kind"] == "border"]
    lats = np.array([float(r["lat"]) for r in rows])
    lons = np.array([float(r["lon"]) for r in rows])
    truth = np.array([r["country"] for r in rows], dtype=object)
    osm, _ = geocoder.borders.codes_at(lats, lons)
    natural_earth = geocoder.land.codes_at(lats, lons)
    return int((osm != truth).sum()), int((natural_earth != truth).sum()), len(rows)


def region_accuracy(geocoder) -> tuple[int, int]:
    rows = _rows("region_points.csv")
    near = geocoder.places.nearby(np.array([float(r["lat"]) for r in rows]), np.array([float(r["lon"]) for r in rows]),
                                  np.array([r["country"] for r in rows], dtype=object), skip_within_km=0.05)
    return sum(r["region"] == got for r, got in zip(rows, near.region)), len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    rss_before = rss_mib()
    start, cpu_start = time.perf_counter(), time.process_time()
    from geoloc_core.places.geocoding import OfflineGeocoder

    geocoder = OfflineGeocoder()
    load_s, load_cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
    rss_loaded = rss_mib()
    rng = np.random.default_rng(0)
    lats = np.degrees(np.arcsin(rng.uniform(-1, 1, args.n)))  # uniform on the sphere
    lons = rng.uniform(-180, 180, args.n)
    geocoder.reverse_many(lats[:1000], lons[:1000])  # first use builds the coast index lazily
    start, cpu_start = time.perf_counter(), time.process_time()
    places = geocoder.reverse_many(lats, lons)
    query_s, query_cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
    rss_after = rss_mib()
    at_sea = sum(p.at_sea for p in places) / len(places)
    wrong_country, wrong_continent, n_border = border_accuracy(geocoder)
    right_regions, n_regions = region_accuracy(geocoder)
    osm_wrong, ne_wrong, n_land = option_accuracy(geocoder)
    print_table(f"Offline reverse geocoding, {args.n:,} random points", [
        ("load time incl. imports (s, target <= 3)", f"{load_s:.2f}"),
        ("... its CPU time (s)", f"{load_cpu_s:.2f}"),
        ("points/s after load (target >= 10,000)", f"{args.n / query_s:,.0f}"),
        ("... by CPU time (points per CPU-second)", f"{args.n / query_cpu_s:,.0f}"),
        ("geocoder memory after load, RSS growth (MiB, target <= 500)", f"{rss_loaded - rss_before:,.0f}"),
        (f"... after the {args.n:,}-point run, results held (MiB)", f"{rss_after - rss_before:,.0f}"),
        ("share at sea or in a territorial sea (expect ~0.7)", f"{at_sea:.2f}"),
        (f"border set: wrong countries / wrong continents of {n_border}", f"{wrong_country} / {wrong_continent}"),
        (f"region set: right admin-1 regions of {n_regions} (target >= 98)", f"{right_regions}"),
        (f"options alone, {n_land} land-border points: wrong with OSM zones / NE 1:10m", f"{osm_wrong} / {ne_wrong}"),
    ])


if __name__ == "__main__":
    main()
