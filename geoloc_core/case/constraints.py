"""Constrain a prediction to where a source says the photo is: a country, an admin-1 region or a circle.

Why: an analyst often knows more than the pixels ("the source says it is in Ukraine"). Conditioning the
model's posterior on that knowledge is Bayes' rule with a 0/1 likelihood: keep the posterior's mass inside
the constraint and renormalise it. What the analyst must see is both the conditioned answer *and* how much
of the model's belief lay inside before (a constraint holding 2 % of the mass contradicts the pixels).

- Regressor (a vMF mixture, or one component rebuilt from its 50 % radius): there is no closed form for
  a component's mass inside a border, so each component is sampled exactly (stratified, ``SAMPLES``
  samples in all) and the samples are classified with the offline geocoder: a component's share inside is
  its inside fraction; the mass inside is the weighted sum; the components are reweighted by it. The
  constrained point is the inside sample of highest mixture density; the constrained 50 % / 90 % regions
  are the highest-density inside samples holding that share of the inside mass, drawn as grid cells whose
  centres are inside too. Nothing of the result leaves the constraint.
- Zero-shot (a categorical posterior over places): the listed candidates inside are kept and renormalised;
  for a country the mass inside is the country's own probability when the predictor listed it.

A circle is tested by great-circle distance; a country by the same borders the geocoder decides with; an
admin-1 region by the geocoder's region of the point (GeoNames' admin-1 name, as in the card).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from ..places.geocoding import country_name
from ..places.geodesy import haversine_km
from .candidates import mixture_log_density, parse_candidates, prediction_components, sample_components
from .findings import Finding

SAMPLES = 6000
KINDS = ("country", "region", "circle")


class ConstraintError(ValueError):
    """A constraint that cannot be applied, with a sentence for people."""


@dataclass(frozen=True)
class Constraint:
    kind: str  # "country" | "region" | "circle"
    country_code: str = ""  # ISO alpha-2 (country and region)
    region: str = ""  # admin-1 name as the geocoder writes it (region)
    lat: float | None = None  # circle
    lon: float | None = None
    radius_km: float | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ConstraintError(f"unknown constraint kind {self.kind!r}: use country, region or circle")
        if self.kind in ("country", "region") and not self.country_code:
            raise ConstraintError("a country or region constraint needs a country")
        if self.kind == "region" and not self.region:
            raise ConstraintError("a region constraint needs the region's name")
        if self.kind == "circle":
            values = (self.lat, self.lon, self.radius_km)
            if any(v is None or not math.isfinite(v) for v in values) or abs(self.lat) > 90 or abs(self.lon) > 180:
                raise ConstraintError("a circle needs a centre (latitude -90..90, longitude -180..180) and a radius")
            if self.radius_km <= 0:
                raise ConstraintError("a circle's radius must be more than 0 km")

    def describe(self) -> str:
        if self.kind == "country":
            return f"{country_name(self.country_code)} ({self.country_code})"
        if self.kind == "region":
            return f"{self.region}, {country_name(self.country_code)}"
        return f"within {self.radius_km:,.1f} km of {self.lat:.5f}, {self.lon:.5f}"

    def contains(self, lats, lons, geocoder) -> np.ndarray:
        """True for each point inside. ``geocoder``: the offline geocoder (countries and regions)."""
        lats, lons = np.asarray(lats, dtype=np.float64), np.asarray(lons, dtype=np.float64)
        if lats.size == 0:
            return np.zeros(0, dtype=bool)
        if self.kind == "circle":
            return haversine_km(self.lat, self.lon, lats, lons) <= self.radius_km
        codes = geocoder.countries(lats, lons)[0]
        inside = codes == self.country_code
        if self.kind == "region" and inside.any():
            wanted = np.flatnonzero(inside)
            places = geocoder.reverse_many(lats[wanted], lons[wanted])
            inside[wanted] = [p.region == self.region for p in places]
        return inside


def parse_constraint(text: str) -> Constraint:
    """The ``scan --constrain`` form: ``country:UA``, ``region:UA:Kyiv City`` or ``circle:LAT,LON,KM``."""
    kind, _, rest = str(text).partition(":")
    kind = kind.strip().lower()
    try:
        if kind == "country":
            return Constraint("country", country_code=rest.strip().upper())
        if kind == "region":
            code, _, region = rest.partition(":")
            return Constraint("region", country_code=code.strip().upper(), region=region.strip())
        if kind == "circle":
            lat, lon, km = (float(x) for x in rest.split(","))
            return Constraint("circle", lat=lat, lon=lon, radius_km=km)
    except ValueError as exc:
        if isinstance(exc, ConstraintError):
            raise
        raise ConstraintError(f"cannot read {text!r}: a circle is circle:LAT,LON,KM (numbers)") from None
    raise ConstraintError(f"cannot read {text!r}: use country:CC, region:CC:Name or circle:LAT,LON,KM")


@dataclass
class ConstrainedCandidate:
    rank: int  # the candidate's rank before constraining
    lat: float
    lon: float
    weight_before: float
    weight_after: float
    inside_fraction: float  # of this candidate's own mass (1/0 for a zero-shot place)
    label: str = ""


@dataclass
class ConstrainedPrediction:
    constraint: Constraint
    which: str  # "pred" or "second"
    mass_inside: float  # of the posterior, before renormalising
    mass_error: float  # Monte Carlo standard error (0 when exact)
    method: str  # how the mass was measured, for the card
    candidates: list[ConstrainedCandidate] = field(default_factory=list)
    lat: float | None = None  # the constrained point (None: nothing of the posterior lies inside)
    lon: float | None = None
    cells50: list[list[float]] = field(default_factory=list)  # [south, west, north, east] grid cells
    cells90: list[list[float]] = field(default_factory=list)
    cell_deg: float = 0.0

    @property
    def empty(self) -> bool:
        return self.lat is None

    def summary(self) -> str:
        """One sentence for the card."""
        where = self.constraint.describe()
        share = f"{100 * self.mass_inside:.1f} %"
        if self.mass_error:
            share += f" (± {100 * self.mass_error:.1f} %)"
        if self.empty:
            return (f"Constrained to {where}: {share} of the prediction's mass was inside ({self.method}); "
                    "no part of it lies inside, so there is no constrained point.")
        return (f"Constrained to {where}: {share} of the prediction's mass was inside before renormalising "
                f"({self.method}); the constrained point is {self.lat:.4f}, {self.lon:.4f}.")


def constrain(finding: Finding, constraint: Constraint, geocoder, which: str = "pred", samples: int = SAMPLES,
              seed: int = 0) -> ConstrainedPrediction:
    """Condition one witness's posterior on ``constraint`` (see the module docstring). Raises
    ConstraintError when the witness made no prediction."""
    if getattr(finding, f"{which}_lat") is None:
        raise ConstraintError("there is no prediction to constrain")
    components = prediction_components(finding, which)
    if components:
        return _constrain_mixture(components, constraint, geocoder, which, samples, seed)
    listed = parse_candidates(getattr(finding, f"{which}_candidates", ""))
    if listed:
        return _constrain_places(finding, listed, constraint, geocoder, which)
    # a point without regions or candidates: all or nothing
    lat, lon = getattr(finding, f"{which}_lat"), getattr(finding, f"{which}_lon")
    inside = bool(constraint.contains([lat], [lon], geocoder)[0])
    return ConstrainedPrediction(constraint, which, float(inside), 0.0, "the prediction has no uncertainty: its "
                                 "point alone", [ConstrainedCandidate(1, lat, lon, 1.0, float(inside), float(inside))],
                                 lat if inside else None, lon if inside else None)


def _constrain_mixture(components, constraint, geocoder, which, samples, seed) -> ConstrainedPrediction:
    per = max(100, samples // len(components))
    lats, lons, index = sample_components(components, per, seed)
    inside = constraint.contains(lats, lons, geocoder)
    weights = np.array([c["weight"] for c in components], dtype=np.float64)
    fractions = np.array([inside[index == k].mean() for k in range(len(components))])
    mass = float((weights * fractions).sum())
    error = float(math.sqrt(((weights ** 2) * fractions * (1 - fractions) / per).sum()))
    method = f"Monte Carlo, {per * len(components):,} samples of the {len(components)}-component vMF mixture"
    after = weights * fractions / mass if mass > 0 else np.zeros_like(weights)
    result = ConstrainedPrediction(constraint, which, mass, error, method, [
        ConstrainedCandidate(k + 1, c["lat"], c["lon"], float(weights[k]), float(after[k]), float(fractions[k]))
        for k, c in enumerate(components)])
    if mass <= 0:
        return result
    lat_in, lon_in, k_in = lats[inside], lons[inside], index[inside]
    density = mixture_log_density(components, lat_in, lon_in)
    order = np.argsort(-density, kind="stable")
    result.lat, result.lon = float(lat_in[order[0]]), float(lon_in[order[0]])
    share = weights[k_in[order]] / per  # each inside sample stands for this much of the posterior
    cumulative = np.cumsum(share) / share.sum()
    spread = float(haversine_km(result.lat, result.lon, lat_in, lon_in).max()) if lat_in.size > 1 else 1.0
    result.cell_deg = _cell_size(spread)
    for p, target in ((0.5, "cells50"), (0.9, "cells90")):
        count = int(np.searchsorted(cumulative, p - 1e-12)) + 1
        chosen = order[:count]
        setattr(result, target, _cells(lat_in[chosen], lon_in[chosen], result.cell_deg, constraint, geocoder))
    return result


def _cell_size(spread_km: float) -> float:
    """A grid of about 40 cells across the inside samples, on round degree steps."""
    target = max(spread_km / 40.0 / 111.0, 1e-4)
    for step in (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0):
        if step >= target:
            return step
    return 5.0


def _cells(lats, lons, step, constraint, geocoder) -> list[list[float]]:
    """Grid cells holding the samples, each kept only when its centre is inside the constraint too."""
    keys = sorted(set(zip(np.floor(np.asarray(lats) / step).astype(int).tolist(),
                          np.floor(np.asarray(lons) / step).astype(int).tolist())))
    if not keys:
        return []
    south = np.array([k[0] * step for k in keys])
    west = np.array([k[1] * step for k in keys])
    keep = constraint.contains(south + step / 2, west + step / 2, geocoder)
    return [[round(float(s), 6), round(float(w), 6), round(float(s + step), 6), round(float(w + step), 6)]
            for s, w, k in zip(south, west, keep) if k]


def _constrain_places(finding, listed, constraint, geocoder, which) -> ConstrainedPrediction:
    total = sum(c["weight"] for c in listed)
    inside = constraint.contains([c["lat"] for c in listed], [c["lon"] for c in listed], geocoder)
    kept = sum(c["weight"] for c, k in zip(listed, inside) if k)
    mass, method = kept, f"the {len(listed)} listed candidates, which hold {100 * total:.1f} % of the posterior"
    if constraint.kind == "country":
        probs = {}
        try:
            probs = {c["country_code"]: float(c["p"]) for c in json.loads(getattr(finding, f"{which}_country_probs")
                                                                          or "[]")}
        except (ValueError, TypeError, KeyError):
            pass
        if constraint.country_code in probs:
            mass, method = probs[constraint.country_code], "the predictor's own probability for the country"
    result = ConstrainedPrediction(constraint, which, float(mass), 0.0, method, [
        ConstrainedCandidate(rank, c["lat"], c["lon"], c["weight"], c["weight"] / kept if (k and kept) else 0.0,
                             float(k), c["label"]) for rank, (c, k) in enumerate(zip(listed, inside), 1)])
    best = next((c for c in result.candidates if c.weight_after > 0), None)
    if best is not None:
        result.lat, result.lon = best.lat, best.lon
    return result


def region_names(geocoder, country_code: str) -> list[str]:
    """The admin-1 names the geocoder can give for a country (GeoNames' admin1 of its places), sorted: the
    choices for a region constraint, spelled exactly as the region test compares them."""
    places = geocoder.places
    indices = np.flatnonzero(places.cc == country_code)
    return sorted({places.admin1(int(i)) for i in indices} - {""})


def fill_constrained(finding: Finding, constraint: Constraint, geocoder) -> None:
    """Write the constrained first witness into the finding's constraint columns (scan --constrain). A finding
    without a prediction gets the constraint's name and no numbers."""
    finding.constraint = constraint.describe()
    if finding.pred_lat is None:
        return
    result = constrain(finding, constraint, geocoder)
    finding.constraint_mass_inside = round(result.mass_inside, 4)
    finding.constrained_lat = None if result.empty else round(result.lat, 6)
    finding.constrained_lon = None if result.empty else round(result.lon, 6)
