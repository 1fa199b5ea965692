"""Natural Earth 1:10m layers shipped in ``assets/`` (built by ``tools/build_boundary_assets.py``).

Two jobs that the OpenStreetMap time-zone polygons cannot do: telling land from sea
(those polygons include each country's 12-nautical-mile belt) and Kosovo (no zone of
its own). Natural Earth 1:10m is public domain, its coastlines are good to a few
hundred metres, and the German point-of-view edition follows the conventions written
in the README (Kosovo separate, Crimea in Ukraine, Northern Cyprus in Cyprus).

The admin-1 areas for ``regions.py`` are the same countries cut by Natural Earth's
1:10m admin-1 lines (``Admin1Faces``): unnamed polygons, named later by the GeoNames
places inside them.

Stored as shapely ragged arrays, coordinates rounded to 1e-5 degrees and
delta-encoded, so loading is a decompress and a cumulative sum (~0.3 s), not a
shapefile parse (~3 s).
"""
from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from .geodesy import EARTH_RADIUS_KM, haversine_km, latlon_to_unit

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"
NE_COUNTRIES = ASSETS_DIR / "ne10m_countries.npz"
NE_ADMIN1_LINES = ASSETS_DIR / "ne10m_admin1_lines.npz"  # the build tool's input for the faces; not read at run time
NE_ADMIN1_FACES = ASSETS_DIR / "ne10m_admin1_faces.npz"
QUANTUM = 1e-5
REFINE_KM = 5.0


def decode(path: Path) -> tuple[np.ndarray, dict]:
    """npz written by the build tool -> (shapely geometries, the other arrays)."""
    geometries, arrays = decode_lazily(path)
    return geometries.all(), arrays


def decode_lazily(path: Path) -> tuple["RaggedGeometries", dict]:
    """As ``decode``, but each geometry is built the first time a lookup needs it (``RaggedGeometries``)."""
    from .prepared_cache import cached_arrays

    with np.load(path, allow_pickle=False) as data:
        ragged = {"deltas", "kind"} | {f"offsets{i}" for i in range(3)}
        arrays = {k: data[k] for k in data.files if k not in ragged}
        # the decoded outlines are kept between runs (prepared_cache.py, #35): no decompress, no cumsum
        prepared = cached_arrays(f"ragged-{path.stem}", path, lambda: _ragged(data))
    return RaggedGeometries(prepared), arrays


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The concatenated ``arange(start, end)`` of each pair, without a Python loop."""
    lengths = ends - starts
    if not lengths.sum():
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return np.arange(int(lengths.sum()), dtype=np.int64) + offsets


class RaggedGeometries:
    """Stored outlines (shapely's ragged-array layout) whose GEOS geometries are built on first use.

    Why: building all 8,948 admin-1 areas and 449 countries as GEOS objects was 0.05-0.1 s of every scan's
    start-up (#35), and a scan of a folder meets a handful of them. The envelopes come from the coordinates
    (what GEOS computes: their minimum and maximum), so a tree of envelopes finds the same candidates as a tree
    of the geometries; a geometry is built from exactly its own stored coordinates and kept (prepared)."""

    def __init__(self, prepared: dict[str, np.ndarray]):
        import shapely

        self.kind = shapely.GeometryType(int(prepared["kind"][0]))
        self.coords = prepared["coords"]
        self.offsets = tuple(prepared[f"offsets{i}"] for i in range(3) if f"offsets{i}" in prepared)
        starts, ends = np.arange(len(self.offsets[-1]) - 1), np.arange(1, len(self.offsets[-1]))
        for level in reversed(self.offsets):  # geometry -> parts -> rings -> coordinates
            starts, ends = level[starts], level[ends]
        self._coordinate_ranges = (starts, ends)
        self._built = np.full(len(starts), None, dtype=object)
        self._have = np.zeros(len(starts), dtype=bool)

    def __len__(self) -> int:
        return len(self._built)

    def bounds(self) -> np.ndarray:
        """(n, 4) xmin, ymin, xmax, ymax of each geometry, as ``shapely.bounds`` gives them."""
        starts, ends = self._coordinate_ranges
        out = np.full((len(starts), 4), np.nan)
        filled = ends > starts
        for axis in (0, 1):
            column = np.ascontiguousarray(self.coords[:, axis])
            out[filled, axis] = np.minimum.reduceat(column, starts[filled])
            out[filled, axis + 2] = np.maximum.reduceat(column, starts[filled])
        return out

    def __getitem__(self, index):
        """One geometry (an int) or an object array of them (an int array), built and prepared if new."""
        import shapely

        wanted = np.atleast_1d(np.asarray(index, dtype=np.int64)) % len(self)
        missing = np.unique(wanted[~self._have[wanted]])
        if missing.size:
            built = shapely.from_ragged_array(self.kind, *self._subset(missing))
            shapely.prepare(built)
            self._built[missing] = built
            self._have[missing] = True
        return self._built[wanted][0] if np.ndim(index) == 0 else self._built[wanted]

    def _subset(self, geometry_ids: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """The ragged arrays of just these geometries: each level's rows gathered, its offsets restarted at 0."""
        rows, offsets = geometry_ids, []
        for level in reversed(self.offsets):
            starts, ends = level[rows], level[rows + 1]
            offsets.append(np.concatenate(([0], np.cumsum(ends - starts))).astype(np.int64))
            rows = _ranges(starts, ends)
        return self.coords[rows], tuple(reversed(offsets))

    def all(self) -> np.ndarray:
        """Every geometry (for drawing and the tools), built once."""
        return self[np.arange(len(self))]


def _ragged(data) -> dict[str, np.ndarray]:
    """The stored outlines decoded: coordinates, ragged offsets and the geometry kind."""
    prepared = {"coords": np.cumsum(data["deltas"].astype(np.int64), axis=0) * QUANTUM,
                "kind": np.array([int(data["kind"])], dtype=np.int64)}
    for i in range(3):
        if f"offsets{i}" in data.files:
            prepared[f"offsets{i}"] = data[f"offsets{i}"].astype(np.int64)
    return prepared


def unit_vectors(lats, lons) -> np.ndarray:
    return latlon_to_unit(np.asarray(lats, np.float64), np.asarray(lons, np.float64)).reshape(-1, 3)


def chord_to_km(chord: np.ndarray) -> np.ndarray:
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))


def containing(tree, geometries, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Index of the geometry containing each point, -1 where none does.

    Bounding boxes from the tree first, then one exact test per (prepared) polygon for
    all of its candidate points: far faster than the tree's own predicate, which
    prepares the points, not the polygons."""
    import shapely

    out = np.full(len(lats), -1, dtype=np.int64)
    if not len(lats):
        return out
    point_idx, geom_idx = tree.query(shapely.points(lons, lats))
    order = np.argsort(geom_idx, kind="stable")
    point_idx, geom_idx = point_idx[order], geom_idx[order]
    bounds = np.nonzero(np.diff(geom_idx))[0] + 1
    candidates = np.unique(geom_idx)
    polygons = geometries[candidates]  # in one step: a lazily built set builds just these (RaggedGeometries)
    for points, geoms in zip(np.split(point_idx, bounds), np.split(geom_idx, bounds)):
        if len(points):
            polygon = polygons[np.searchsorted(candidates, geoms[0])]
            inside = shapely.contains_xy(polygon, lons[points], lats[points])
            out[points[inside]] = geoms[0]
    return out


class CodedPolygons:
    """A stored set of polygons, each with an ISO country code, prepared for point-in-polygon lookups."""

    def __init__(self, path: Path):
        import shapely

        self.path = path
        self._outlines, arrays = decode_lazily(path)  # GEOS objects only for the areas a lookup meets
        self.codes = arrays["codes"].astype(str)
        self.source = str(arrays["source"])
        self._tree = shapely.STRtree(shapely.box(*self._outlines.bounds().T))  # envelopes: the same candidates
        self._lock = threading.Lock()

    @property
    def geometries(self) -> np.ndarray:
        """Every polygon (built on first use: the lookups below build only those they meet)."""
        with self._lock:
            return self._outlines.all()

    def __len__(self) -> int:
        return len(self._outlines)

    def index_at(self, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
        """Index of the polygon containing each point, -1 where none does."""
        with self._lock:  # GEOS prepared geometries are not thread-safe (libgeos/geos#825)
            return containing(self._tree, self._outlines, np.asarray(lats, np.float64),
                              np.asarray(lons, np.float64))


class NaturalEarthCountries(CodedPolygons):
    """Land polygons by ISO code, with the nearest coast point of each country."""

    def __init__(self, path: Path = NE_COUNTRIES):
        super().__init__(path)
        self._coast = None  # built on first use: most batches never need it

    def _coast_index(self):
        """Every outline vertex (<= a few km apart at 1:10m) in a k-d tree, for "km to the coast"."""
        import shapely

        from .nearest import UnitVectorTree

        with self._lock:
            if self._coast is None:
                from .prepared_cache import cached_arrays

                def vertices() -> dict[str, np.ndarray]:
                    coords, owner = shapely.get_coordinates(self._outlines.all(), return_index=True)
                    keep = self.codes[owner] != "-"
                    return {"unit": unit_vectors(coords[keep, 1], coords[keep, 0]), "owner": owner[keep]}

                prepared = cached_arrays(f"coast-{Path(self.path).stem}", Path(self.path), vertices)
                self._coast = (UnitVectorTree(prepared["unit"]), prepared["owner"])
            return self._coast

    def codes_at(self, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
        """ISO code of the land polygon containing each point: "" at sea, "-" on land this
        edition assigns to no country (Golan, Abyei, Bir Tawil, slivers along coasts)."""
        found = self.index_at(lats, lons)
        return np.where(found >= 0, self.codes[found], "").astype(object)

    def coast_km(self, lats: np.ndarray, lons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance (km) to the nearest outline vertex and that outline's ISO code."""
        if not len(lats):
            return np.zeros(0), np.zeros(0, dtype=object)
        import shapely

        lats, lons = np.asarray(lats, np.float64), np.asarray(lons, np.float64)
        tree, owner = self._coast_index()
        chord, idx = tree.query(unit_vectors(lats, lons))
        km, geom = chord_to_km(chord), owner[idx]
        # vertices can be a few km apart: near the coast, measure to the outline itself
        close = np.nonzero(km < REFINE_KM)[0]
        if close.size:
            km[close] = np.inf
            # outlines are cut at the antimeridian (Fiji, Chukotka): within a degree of it, measure from the
            # point's copy beside the other edge of the map too, else the nearer shore across the line is missed
            for shift in (0.0, 360.0, -360.0):
                rows = close[np.abs(lons[close] + shift) <= 181.0]
                if rows.size:
                    x = lons[rows] + shift
                    with self._lock:  # builds the outlines it meets
                        outlines = self._outlines[geom[rows]]
                    nearest = shapely.get_point(shapely.shortest_line(outlines, shapely.points(x, lats[rows])), 0)
                    km[rows] = np.minimum(km[rows], haversine_km(lats[rows], x, shapely.get_y(nearest),
                                                                 shapely.get_x(nearest)))
        return km, self.codes[geom]


class Admin1Faces(CodedPolygons):
    """Natural Earth 1:10m countries cut by its admin-1 lines: one polygon per state/province
    piece, with its country's ISO code, but no name (the lines carry none)."""

    def __init__(self, path: Path = NE_ADMIN1_FACES):
        super().__init__(path)

    def faces_at(self, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
        """Face index per point, -1 outside every face (at sea, or land no country holds)."""
        return self.index_at(lats, lons)
