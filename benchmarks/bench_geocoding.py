"""Offline reverse geocoding: load time, points/s, memory, and accuracy at borders.

Each repeat runs in a fresh Python process (the geocoder loads once per process, so a
second load in the same process would only measure caches):

* load: ``OfflineGeocoder()`` including its imports (numpy imported before), wall clock
  and the process's CPU time;
* first use: the first 1,000 points, which also build the lazy coast index;
* speed, after load: 100,000 points uniform on the sphere (~70 % at sea) and 100,000
  points on land (GeoNames places moved by up to ~5 km, the case of most photos:
  every one needs a region);
* memory: resident set growth from before the load to after it, and the peak (VmHWM)
  over the same baseline once both runs and their ``Place`` results are held.

The table gives the median and the range over the repeats. Wall-clock figures depend on
what else the machine runs; the CPU-time figures (this process's own CPU seconds, the
work is single-threaded) say what an idle core would do. Accuracy (border set: countries
and continents; region set: admin-1 regions leave-one-out) is deterministic and run once.

Run: python -m benchmarks.bench_geocoding [--n 100000] [--repeats 5]
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.machine import print_table

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def _status_mib(field: str) -> float:
    with open("/proc/self/status", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def rss_mib() -> float:
    return _status_mib("VmRSS")


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


WIDE_COUNTRIES = ("US", "DE", "IN", "RU", "FR", "BR", "CN", "MX", "CA", "AU", "IT", "ES", "PL", "UA", "AR", "NG", "ZA",
                  "TR", "JP", "ID")


def wide_region_check(geocoder, per_country: int = 150) -> tuple[int, int]:
    """Leave-one-out on up to ``per_country`` GeoNames towns 1-5 km from a Natural Earth admin-1
    line in each of 20 countries, against GeoNames' own admin1 (its errors included): a wider,
    noisier check than the 100-point set, to see that the rule was not fitted to that set."""
    import shapely

    from geoloc_core.places.geodesy import haversine_km
    from geoloc_core.places.natural_earth import NE_ADMIN1_LINES, decode

    lines, _ = decode(NE_ADMIN1_LINES)
    tree, places, rng = shapely.STRtree(lines), geocoder.places, np.random.default_rng(1)
    right = total = 0
    for code in WIDE_COUNTRIES:
        mine = np.nonzero((places.cc == code) & (places._admin1_id != 0))[0]
        points = shapely.points(places.lon[mine], places.lat[mine])
        which, line = tree.query_nearest(points, max_distance=0.1)
        nearest = shapely.get_point(shapely.shortest_line(points[which], lines[line]), 1)
        km = haversine_km(places.lat[mine][which], places.lon[mine][which], shapely.get_y(nearest),
                          shapely.get_x(nearest))
        best: dict[int, float] = {}
        for i, k in zip(which.tolist(), km.tolist()):
            best[i] = min(k, best.get(i, np.inf))
        chosen = mine[[i for i, k in best.items() if 1.0 <= k <= 5.0]]
        rng.shuffle(chosen)
        chosen = chosen[:per_country]
        near = places.nearby(places.lat[chosen], places.lon[chosen], places.cc[chosen].astype(object),
                             skip_within_km=0.05)
        right += sum(got == places.admin1(i) for i, got in zip(chosen.tolist(), near.region))
        total += len(chosen)
    return right, total


def _timed(function, *args) -> tuple[object, float, float]:
    start, cpu_start = time.perf_counter(), time.process_time()
    result = function(*args)
    return result, time.perf_counter() - start, time.process_time() - cpu_start


def child(n: int) -> dict:
    """One measurement in this (fresh) process."""
    rss_before = rss_mib()
    start, cpu_start = time.perf_counter(), time.process_time()
    from geoloc_core.places.geocoding import OfflineGeocoder

    geocoder = OfflineGeocoder()
    out = {"load_s": time.perf_counter() - start, "load_cpu_s": time.process_time() - cpu_start,
           "rss_loaded": rss_mib() - rss_before}
    rng = np.random.default_rng(0)
    lats = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))  # uniform on the sphere
    lons = rng.uniform(-180, 180, n)
    _, out["first_1000_s"], _ = _timed(geocoder.reverse_many, lats[:1000], lons[:1000])
    places, out["sphere_s"], out["sphere_cpu_s"] = _timed(geocoder.reverse_many, lats, lons)
    out["at_sea"] = sum(p.at_sea for p in places) / len(places)
    pick = rng.integers(0, len(geocoder.places.lat), n)  # on land: near GeoNames places
    land_lats = np.clip(geocoder.places.lat[pick] + rng.uniform(-0.045, 0.045, n), -90, 90)
    land_lons = (geocoder.places.lon[pick] + rng.uniform(-0.045, 0.045, n) + 180) % 360 - 180
    land, out["land_s"], out["land_cpu_s"] = _timed(geocoder.reverse_many, land_lats, land_lons)
    out["with_region"] = sum(p.region is not None for p in land) / len(land)
    out["rss_after"] = rss_mib() - rss_before
    out["peak"] = _status_mib("VmHWM") - rss_before
    return out


def _spread(values: list[float], fmt: str) -> str:
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{format(float(np.median(values)), fmt)} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="points per speed run (default 100,000)")
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes to measure in (default 5)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.n)))
        return
    runs = []
    for _ in range(args.repeats):
        result = subprocess.run([sys.executable, "-m", "benchmarks.bench_geocoding", "--child", "--n", str(args.n)],
                                capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1])
        runs.append(json.loads(result.stdout.strip().splitlines()[-1]))

    def col(key):
        return [r[key] for r in runs]

    from geoloc_core.places.geocoding import OfflineGeocoder

    geocoder = OfflineGeocoder()
    wrong_country, wrong_continent, n_border = border_accuracy(geocoder)
    right_regions, n_regions = region_accuracy(geocoder)
    osm_wrong, ne_wrong, n_land = option_accuracy(geocoder)
    wide_right, wide_total = wide_region_check(geocoder)
    n = args.n
    print_table(f"Offline reverse geocoding: {n:,} points a run, median (range) of {args.repeats} fresh processes", [
        ("load incl. imports, wall clock (s, target <= 3)", _spread(col("load_s"), ".2f")),
        ("load, CPU time (s)", _spread(col("load_cpu_s"), ".2f")),
        ("first 1,000 points incl. the lazy coast index (s)", _spread(col("first_1000_s"), ".2f")),
        ("points/s, uniform on the sphere, wall clock (target >= 10,000)",
         _spread([n / s for s in col("sphere_s")], ",.0f")),
        ("... points per CPU-second", _spread([n / s for s in col("sphere_cpu_s")], ",.0f")),
        ("points/s, on land near towns, wall clock (target >= 10,000)", _spread([n / s for s in col("land_s")], ",.0f")),
        ("... points per CPU-second", _spread([n / s for s in col("land_cpu_s")], ",.0f")),
        ("RSS growth after load (MiB, target <= 500)", _spread(col("rss_loaded"), ",.0f")),
        (f"peak RSS growth, both runs' {2 * n:,} Place results held (MiB)", _spread(col("peak"), ",.0f")),
        ("share at sea or in a territorial sea, sphere (expect ~0.7)", _spread(col("at_sea"), ".2f")),
        ("share with a region, land points", _spread(col("with_region"), ".3f")),
        (f"border set: wrong countries / wrong continents of {n_border}", f"{wrong_country} / {wrong_continent}"),
        (f"region set: right admin-1 regions of {n_regions} (target >= 98)", f"{right_regions}"),
        (f"wider check: GeoNames towns 1-5 km from admin-1 lines, 20 countries, right of {wide_total:,}",
         f"{wide_right:,} ({wide_right / wide_total:.1%})"),
        (f"options alone, {n_land} land-border points: wrong with OSM zones / NE 1:10m", f"{osm_wrong} / {ne_wrong}"),
    ])


if __name__ == "__main__":
    main()
