"""A prediction's top-k candidates as an analyst reads them: rank, probability, the 50 % / 90 % regions of
each, where each one is (country, admin-1 region, nearest place), and which ones are really the same area.

Why: the model gives alternatives (the regressor's mixture components, the zero-shot predictor's places),
but a bare list of coordinates hides that two of them are one town, or that the runner-up is in another
country. This module turns the candidate record that the analyzer stores with a finding (JSON of
``{lat, lon, weight[, label][, kappa]}``) into rows, offline only.

Regions: a mixture component is a von Mises-Fisher distribution with its own concentration ``kappa``; the
radius of the cap holding probability p is exact (see ``model.distributions``):
``1 - cos r = -log(1 - p (1 - exp(-2 kappa))) / kappa``. A zero-shot candidate is a place (country or
region) in a categorical posterior: it has no cap of its own, so the card says which credible set (50 % /
90 % of the mass, most probable first) it belongs to instead.

Duplicates: a lower-ranked candidate whose 50 % region overlaps a higher-ranked one's (centres closer
than the sum of the two radii) is marked as a duplicate of it, and the group's probabilities are added.
Candidates without radii are duplicates within ``DUPLICATE_KM`` (the same place at the scale of a town).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..places.geodesy import EARTH_RADIUS_KM, haversine_km, latlon_to_unit, unit_to_latlon
from .findings import Finding

DUPLICATE_KM = 25.0


@dataclass
class CandidateRow:
    rank: int  # 1 = most probable
    lat: float
    lon: float
    probability: float
    radius50_km: float | None = None
    radius90_km: float | None = None
    kappa: float | None = None
    label: str = ""  # the zero-shot place name, as the predictor gave it
    credible_set: str = ""  # zero-shot: "50 %" / "90 %" / "" (outside the 90 % set)
    country: str | None = None
    country_code: str | None = None
    region: str | None = None
    nearest_place: str | None = None
    duplicate_of: int | None = None  # rank of the higher-ranked candidate whose region this one overlaps
    group_probability: float | None = None  # a group head: its probability plus its duplicates'

    @property
    def merged(self) -> bool:
        return self.duplicate_of is not None


def parse_candidates(text: str) -> list[dict]:
    """The stored candidate JSON, best first; malformed entries are skipped, never a crash."""
    if not text:
        return []
    try:
        items = json.loads(text)
    except (ValueError, TypeError):
        return []
    out = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        try:
            lat, lon, weight = float(item["lat"]), float(item["lon"]), float(item["weight"])
        except (KeyError, TypeError, ValueError):
            continue
        if not (math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180
                and math.isfinite(weight) and weight >= 0):
            continue
        kappa = item.get("kappa")
        try:
            kappa = float(kappa) if kappa is not None else None
        except (TypeError, ValueError):
            kappa = None
        out.append({"lat": lat, "lon": lon, "weight": weight, "label": str(item.get("label") or ""),
                    "kappa": kappa if kappa is not None and math.isfinite(kappa) and kappa > 0 else None})
    return sorted(out, key=lambda c: -c["weight"])


def vmf_radius_km(kappa: float, p: float) -> float:
    """Radius (km) of the cap around a vMF's mean holding probability ``p`` (exact on S²)."""
    one_minus_cos = -math.log1p(-p * -math.expm1(-2.0 * kappa)) / kappa
    return math.acos(max(-1.0, min(1.0, 1.0 - one_minus_cos))) * EARTH_RADIUS_KM


def kappa_from_radius(radius_km: float, p: float) -> float:
    """The concentration whose p-cap has this radius (inverse of ``vmf_radius_km``; bisection in log kappa).
    Lets a one-component regressor, which stores radii but no candidates, be constrained like a mixture."""
    low, high = math.log(1e-6), math.log(1e12)
    for _ in range(200):
        middle = 0.5 * (low + high)
        if vmf_radius_km(math.exp(middle), p) > radius_km:
            low = middle
        else:
            high = middle
    return math.exp(0.5 * (low + high))


def prediction_components(finding: Finding, which: str = "pred") -> list[dict]:
    """The witness's posterior as vMF components ``{lat, lon, weight, kappa}`` when it has one: the stored
    mixture, or the single component implied by the point and its 50 % radius. [] for a zero-shot posterior
    or a prediction without uncertainty."""
    items = parse_candidates(getattr(finding, f"{which}_candidates", ""))
    if items and all(c["kappa"] for c in items):
        total = sum(c["weight"] for c in items) or 1.0
        return [dict(c, weight=c["weight"] / total) for c in items]
    lat, lon = getattr(finding, f"{which}_lat"), getattr(finding, f"{which}_lon")
    radius50 = getattr(finding, f"{which}_radius50_km")
    if not items and lat is not None and radius50 and getattr(finding, f"{which}_kind", "") != "zero-shot":
        return [{"lat": lat, "lon": lon, "weight": 1.0, "label": "", "kappa": kappa_from_radius(radius50, 0.5)}]
    return []


def candidate_rows(finding: Finding, geocoder=None, which: str = "pred") -> list[CandidateRow]:
    """Rows for the card and the map, best first, with places (offline ``geocoder``) and duplicates marked."""
    items = parse_candidates(getattr(finding, f"{which}_candidates", ""))
    rows = []
    cumulative = 0.0
    for rank, item in enumerate(items, 1):
        row = CandidateRow(rank, item["lat"], item["lon"], item["weight"], kappa=item["kappa"], label=item["label"])
        if item["kappa"]:
            row.radius50_km, row.radius90_km = vmf_radius_km(item["kappa"], 0.5), vmf_radius_km(item["kappa"], 0.9)
        else:  # a place in a categorical posterior: which credible set it is in
            row.credible_set = "50 %" if cumulative < 0.5 else ("90 %" if cumulative < 0.9 else "")
        cumulative += item["weight"]
        rows.append(row)
    if geocoder is not None and rows:
        for row, place in zip(rows, geocoder.reverse_many([r.lat for r in rows], [r.lon for r in rows])):
            row.country, row.country_code = place.country, place.country_code
            row.region, row.nearest_place = place.region, place.nearest_place
    mark_duplicates(rows)
    return rows


def mark_duplicates(rows: Sequence[CandidateRow]) -> None:
    """Mark each candidate whose region overlaps a higher-ranked group head's (see the module docstring)."""
    heads: list[CandidateRow] = []
    for row in rows:
        row.duplicate_of, row.group_probability = None, None
        for head in heads:
            distance = float(haversine_km(head.lat, head.lon, row.lat, row.lon))
            if head.radius50_km and row.radius50_km:
                overlap = distance < head.radius50_km + row.radius50_km
            else:
                overlap = distance < DUPLICATE_KM
            if overlap:
                row.duplicate_of = head.rank
                head.group_probability = (head.group_probability or head.probability) + row.probability
                break
        else:
            heads.append(row)


def sample_components(components: Sequence[dict], per_component: int, seed: int = 0
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``per_component`` exact samples (Wood's algorithm on S²) from each vMF component: (lats, lons,
    component index). Stratified, so each component's own share inside a constraint is estimated."""
    rng = np.random.default_rng(seed)
    lats, lons, index = [], [], []
    for k, component in enumerate(components):
        kappa = float(component["kappa"])
        mu = latlon_to_unit(component["lat"], component["lon"]).reshape(3)
        u = rng.random(per_component)
        w = np.clip(1.0 + np.log(u + (1.0 - u) * np.exp(-2.0 * kappa)) / kappa, -1.0, 1.0)  # cos of the angle
        v = rng.standard_normal((per_component, 3))
        v -= (v @ mu)[:, None] * mu
        v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        x = w[:, None] * mu + np.sqrt(np.clip(1.0 - w * w, 0.0, None))[:, None] * v
        lat, lon = unit_to_latlon(x)
        lats.append(np.asarray(lat).reshape(-1))
        lons.append(np.asarray(lon).reshape(-1))
        index.append(np.full(per_component, k))
    if not lats:
        return np.empty(0), np.empty(0), np.empty(0, dtype=int)
    return np.concatenate(lats), np.concatenate(lons), np.concatenate(index)


def mixture_log_density(components: Sequence[dict], lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """log of the mixture's density (per steradian) at the points: ranks samples for highest-density regions."""
    x = latlon_to_unit(np.asarray(lats), np.asarray(lons)).reshape(-1, 3)
    terms = []
    for component in components:
        kappa = float(component["kappa"])
        mu = latlon_to_unit(component["lat"], component["lon"]).reshape(3)
        difference = x - mu
        log_norm = math.log(kappa) - math.log(2 * math.pi) - math.log(-math.expm1(-2.0 * kappa))
        terms.append(math.log(max(component["weight"], 1e-300)) + log_norm
                     - 0.5 * kappa * (difference * difference).sum(axis=1))
    return np.logaddexp.reduce(np.stack(terms), axis=0)


def heat_points(components: Sequence[dict], count: int = 1500, seed: int = 0) -> list[list[float]]:
    """Samples from the whole mixture (each component in proportion to its weight) for a heat layer."""
    if len(components) < 2:
        return []
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(count, np.array([c["weight"] for c in components], dtype=np.float64)
                             / sum(c["weight"] for c in components))
    points = []
    for component, n in zip(components, counts):
        if n:
            lats, lons, _ = sample_components([component], int(n), seed=int(rng.integers(1 << 31)))
            points.extend([[round(float(a), 5), round(float(b), 5)] for a, b in zip(lats, lons)])
    return points
