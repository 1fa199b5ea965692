"""A "learnable world": generated images whose pixels carry where they were "taken".

No real data set or pretrained weights can be downloaded in CI, yet the training path
must be proven end to end. Each image's colour varies smoothly with latitude and
longitude (longitude through its sine and cosine, so there is no seam at ±180°), a stripe
texture's frequency and angle vary with position too, and noise is added. A correct
pipeline (CSV -> cache -> training -> checkpoint -> evaluation) learns to invert this
mapping; a bug such as swapped latitude/longitude or a wrong unit-vector conversion
cannot reach a low error. Not a geolocation model: it never leaves the tests and checks.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from .datasets import GeoRecord, write_plain_csv

# Population-like clusters: (lat, lon) centres spread over all continents.
CLUSTER_CENTRES = ((48.8, 2.3), (40.7, -74.0), (35.7, 139.7), (-33.9, 151.2), (-23.5, -46.6), (19.4, -99.1),
                   (28.6, 77.2), (30.0, 31.2), (-1.3, 36.8), (55.8, 37.6), (1.3, 103.8), (64.1, -21.9))


def sample_locations(n: int, rng: np.random.Generator, spread_deg: float = 6.0) -> np.ndarray:
    centres = np.array(CLUSTER_CENTRES)[rng.integers(0, len(CLUSTER_CENTRES), n)]
    lat = np.clip(centres[:, 0] + rng.normal(0, spread_deg, n), -89.0, 89.0)
    lon = (centres[:, 1] + rng.normal(0, spread_deg * 1.5, n) + 180.0) % 360.0 - 180.0
    return np.stack([lat, lon], axis=1)


def render(lat: float, lon: float, rng: np.random.Generator, size: int = 64, noise: float = 0.06) -> Image.Image:
    y, x = np.mgrid[0:size, 0:size] / size
    lat_n, lon_r = (lat + 90.0) / 180.0, math.radians(lon)
    base = np.stack([np.full_like(x, lat_n), 0.5 + 0.4 * np.cos(lon_r) + 0 * x, 0.5 + 0.4 * np.sin(lon_r) + 0 * x], -1)
    frequency = 2.0 + 6.0 * lat_n
    angle = lon_r / 2.0
    stripes = 0.15 * np.sin(2 * math.pi * frequency * (x * math.cos(angle) + y * math.sin(angle)))
    pixels = base + stripes[..., None] + rng.normal(0, noise, base.shape)
    return Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8), "RGB")


def make_world(folder: str | Path, n: int, seed: int = 0, size: int = 64, csv_name: str = "world.csv") -> Path:
    """Write ``n`` images and a plain-layout CSV (path, lat, lon); returns the CSV path."""
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    records = []
    for i, (lat, lon) in enumerate(sample_locations(n, rng)):
        path = folder / "images" / f"s{seed}_{i:05d}.png"
        render(float(lat), float(lon), rng, size).save(path)
        records.append(GeoRecord(path, float(lat), float(lon)))
    csv_path = folder / csv_name
    write_plain_csv(records, csv_path, folder)
    return csv_path
