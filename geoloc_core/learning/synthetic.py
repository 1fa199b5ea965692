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


def render_landmark(lat: float, lon: float, landmark: int, rng: np.random.Generator, size: int = 32,
                    noise: float = 0.04) -> Image.Image:
    """A "landmark" photo: the place's look (``render``) with a building-like block pattern unique to
    the landmark in front, re-lit and with fresh noise on every photo (near-duplicates, not copies)."""
    base = np.asarray(render(lat, lon, rng, size, noise), dtype=np.float64) / 255.0
    pattern_rng = np.random.default_rng(10_000 + landmark)
    blocks = pattern_rng.random((4, 4, 3))
    side = size // 2  # the landmark fills a quarter of the frame; the place's look surrounds it
    pattern = np.kron(blocks, np.ones((-(-side // 4), -(-side // 4), 1)))[:side, :side]
    top = left = (size - side) // 2
    photo = base.copy()
    photo[top:top + side, left:left + side] = pattern * rng.uniform(0.9, 1.1)
    photo += rng.normal(0, noise, photo.shape)
    return Image.fromarray((np.clip(photo, 0, 1) * 255).astype(np.uint8), "RGB")


def make_landmark_world(folder: str | Path, n_plain: int, landmarks: int, photos: int, seed: int = 0,
                        size: int = 32, csv_name: str = "world.csv", landmark_seed: int = 7) -> tuple[Path, set[str]]:
    """The learnable world plus ``landmarks`` places photographed ``photos`` times each (GPS within
    ~100 m of the landmark). The same ``landmark_seed`` gives the same landmarks in a training and a
    test world, so the test's landmark photos are near-duplicates of training photos. Returns the
    CSV and the relative paths of the landmark photos."""
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    places = sample_locations(landmarks, np.random.default_rng(landmark_seed))
    records, landmark_paths = [], set()
    for i, (lat, lon) in enumerate(sample_locations(n_plain, rng)):
        path = folder / "images" / f"p{seed}_{i:05d}.png"
        render(float(lat), float(lon), rng, size).save(path)
        records.append(GeoRecord(path, float(lat), float(lon)))
    for landmark, (lat, lon) in enumerate(places):
        for photo in range(photos):
            jitter_lat, jitter_lon = rng.normal(0, 0.0005, 2)  # ~50 m
            path = folder / "images" / f"l{seed}_{landmark:04d}_{photo}.png"
            render_landmark(float(lat), float(lon), landmark, rng, size).save(path)
            records.append(GeoRecord(path, float(lat + jitter_lat), float((lon + jitter_lon + 180) % 360 - 180)))
            landmark_paths.add(path.relative_to(folder).as_posix())
    order = rng.permutation(len(records))
    records = [records[i] for i in order]
    csv_path = folder / csv_name
    write_plain_csv(records, csv_path, folder)
    return csv_path, landmark_paths
