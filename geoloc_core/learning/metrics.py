"""Geolocation metrics in the form of the thesis and its peers.

Table: share of images whose predicted point lies within 1 / 25 / 200 / 750 / 2500 km
(street / city / region / country / continent) of the truth, plus median and mean error,
GeoScore (mean of 5000 * exp(-d / 1492.7), as in OSV-5M) and, for models with uncertainty,
the coverage of the 50 % and 90 % regions (share of true points inside the predicted circle;
honest only on data that fitted neither the model nor its calibration).

Distance conventions differ between peers, so one is fixed and stated in every output:
* ``geodesic`` (default, GeoCLIP's): WGS-84 geodesic distance, a threshold counts d <= t;
* ``haversine`` (OSV-5M's): great circle on a sphere of R = 6371 km, a threshold counts d < t.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np

from ..places.geodesy import geodesic_km_many

THRESHOLDS_KM = (("street", 1.0), ("city", 25.0), ("region", 200.0), ("country", 750.0), ("continent", 2500.0))
GEOSCORE_SCALE_KM = 1492.7
OSV5M_RADIUS_KM = 6371.0
CONVENTIONS = {
    "geodesic": ("WGS-84 geodesic distance (Karney's algorithm, as geopy computes it), within threshold means "
                 "d <= t (GeoCLIP's convention)"),
    "haversine": "haversine great-circle distance, R = 6371 km, within threshold means d < t (OSV-5M's convention)",
}
# Published numbers, % of images within 1 / 25 / 200 / 750 / 2500 km, for side-by-side tables. Kept as the
# text the source prints (22.4 is not 22.40) with NOT_PUBLISHED where the source gives no figure; a cell is
# never filled by estimate. Sources per model in REFERENCE_SOURCES; pinned by tests/test_published_results.py.
NOT_PUBLISHED = "–"
REFERENCE_MODELS = ("StreetCLIP", "TransLocator", "GeoDecoder", "GeoCLIP", "thesis (regression)")
REFERENCE_RESULTS: dict[str, dict[str, tuple[str, str, str, str, str]]] = {
    "gws15k": {
        "StreetCLIP": ("–", "–", "–", "–", "–"),
        "TransLocator": ("–", "–", "–", "–", "–"),
        "GeoDecoder": ("0.7", "1.5", "8.7", "26.9", "50.5"),
        "GeoCLIP": ("0.6", "3.1", "16.9", "45.7", "74.1"),
        "thesis (regression)": ("0.0", "0.59", "13.49", "46.14", "81.87"),
    },
    "im2gps3k": {
        "StreetCLIP": ("–", "22.4", "37.4", "61.3", "80.4"),
        "TransLocator": ("11.8", "31.1", "46.7", "58.9", "80.1"),
        "GeoDecoder": ("12.8", "33.5", "45.9", "61.0", "76.1"),
        "GeoCLIP": ("14.11", "34.47", "50.65", "69.67", "83.82"),
        "thesis (regression)": ("0.0", "3.44", "32.43", "68.03", "84.95"),
    },
    "im2gps": {
        "StreetCLIP": ("–", "28.3", "45.1", "74.7", "88.2"),
        "TransLocator": ("–", "48.1", "64.6", "75.6", "86.7"),
        "GeoDecoder": ("–", "–", "–", "–", "–"),
        "GeoCLIP": ("–", "–", "–", "–", "–"),
        "thesis (regression)": ("0.0", "6.33", "37.97", "75.11", "93.67"),
    },
}
REFERENCE_SOURCES = {
    "StreetCLIP": "Haas et al. 2023, arXiv 2302.00275 (zero-shot; no 1 km figure published; GWS15K not evaluated)",
    "TransLocator": "Pramanick et al. 2022, arXiv 2204.13861 (IM2GPS3K); IM2GPS as tabulated in the StreetCLIP paper "
                    "(25 km and coarser only); no GWS15K figure found in the sources consulted",
    "GeoDecoder": "Clark et al. 2023, arXiv 2303.04249 (IM2GPS3K, GWS15K); no IM2GPS figure found in the sources "
                  "consulted",
    "GeoCLIP": "Vivanco Cepeda et al. 2023, arXiv 2309.16020 (IM2GPS3K, GWS15K; IM2GPS not evaluated)",
    "thesis (regression)": "the thesis this project implements (its regression head)",
}


def reference_rows(dataset: str | None) -> dict[str, tuple[float | None, ...]]:
    """The published rows for ``dataset`` as numbers (None where nothing is published); {} for an unknown name."""
    rows = REFERENCE_RESULTS.get((dataset or "").lower(), {})
    return {model: tuple(None if v == NOT_PUBLISHED else float(v) for v in values) for model, values in rows.items()}


def distances_km(true_lat, true_lon, pred_lat, pred_lon, convention: str = "geodesic") -> np.ndarray:
    true_lat, true_lon = np.asarray(true_lat, float), np.asarray(true_lon, float)
    pred_lat, pred_lon = np.asarray(pred_lat, float), np.asarray(pred_lon, float)
    if convention == "geodesic":
        return geodesic_km_many(true_lat, true_lon, pred_lat, pred_lon).reshape(true_lat.shape)
    if convention == "haversine":
        p1, p2 = np.radians(true_lat), np.radians(pred_lat)
        dl = np.radians(pred_lon - true_lon)
        a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
        return 2 * OSV5M_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
    raise ValueError(f"unknown convention {convention!r}; choose {', '.join(CONVENTIONS)}")


@dataclass
class GeoMetrics:
    n: int
    convention: str
    within_pct: dict[str, float]
    median_km: float
    mean_km: float
    geoscore: float
    coverage90_pct: float | None = None
    extra: dict = field(default_factory=dict)
    coverage50_pct: float | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self) | {"convention_text": CONVENTIONS[self.convention]}, indent=2)

    def to_markdown(self, name: str = "geoloc", dataset: str | None = None) -> str:
        header = "| model | " + " | ".join(f"{n} {t:g} km" for n, t in THRESHOLDS_KM) + \
            " | median km | mean km | GeoScore | 50 % coverage | 90 % coverage |"
        rule = "|---" * (len(THRESHOLDS_KM) + 6) + "|"
        c50, c90 = ("n/a" if c is None else f"{c:.2f} %" for c in (self.coverage50_pct, self.coverage90_pct))
        ours = f"| {name} | " + " | ".join(f"{self.within_pct[n]:.2f}" for n, _ in THRESHOLDS_KM) + \
            f" | {self.median_km:,.1f} | {self.mean_km:,.1f} | {self.geoscore:,.0f} | {c50} | {c90} |"
        rows = [header, rule, ours]
        published = REFERENCE_RESULTS.get((dataset or "").lower(), {})
        for peer, values in published.items():
            rows.append(f"| {peer} (published) | " + " | ".join(values) + " | | | | | |")
        text = "\n".join(rows) + f"\n\n{self.n:,} images; % within each distance. Distance: {CONVENTIONS[self.convention]}."
        if published:
            text += (f" Published rows as printed by their sources ({NOT_PUBLISHED}: no figure published), measured "
                     "under each paper's own protocol: " + "; ".join(f"{m}: {REFERENCE_SOURCES[m]}" for m in published) + ".")
        return text


def compute_metrics(true_lat, true_lon, pred_lat, pred_lon, radius90_km=None, convention: str = "geodesic",
                    radius50_km=None) -> GeoMetrics:
    d = distances_km(true_lat, true_lon, pred_lat, pred_lon, convention)
    if d.size == 0:
        raise ValueError("no predictions to evaluate")
    inclusive = convention == "geodesic"
    within = {name: float(100.0 * np.mean(d <= t if inclusive else d < t)) for name, t in THRESHOLDS_KM}
    coverage = {p: None if r is None else float(100.0 * np.mean(d <= np.asarray(r, float)))
                for p, r in ((50, radius50_km), (90, radius90_km))}
    return GeoMetrics(n=int(d.size), convention=convention, within_pct=within, median_km=float(np.median(d)),
                      mean_km=float(np.mean(d)), geoscore=float(np.mean(5000.0 * np.exp(-d / GEOSCORE_SCALE_KM))),
                      coverage90_pct=coverage[90], coverage50_pct=coverage[50])
