"""Natural Earth 1:10m layers shipped in ``assets/`` (built by ``tools/build_boundary_assets.py``).

Two jobs that the OpenStreetMap time-zone polygons cannot do: telling land from sea
(those polygons include each country's 12-nautical-mile belt) and Kosovo (no zone of
its own). Natural Earth 1:10m is public domain, its coastlines are good to a few
hundred metres, and the German point-of-view edition follows the conventions written
in the README (Kosovo separate, Crimea in Ukraine, Northern Cyprus in Cyprus).
The admin-1 lines feed ``regions.py``.

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
NE_ADMIN1_LINES = ASSETS_DIR / "ne10m_admin1_lines.npz"
QUANTUM = 1e-5
REFINE_KM = 5.0


def decode(path: Path) -> tuple[np.ndarray, dict]:
    """npz written by the build tool -> (shapely geometries, the other arrays)."""
    import shapely

    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    coords = np.cumsum(arrays.pop("deltas").astype(np.int64), axis=0) * QUANTUM
    offsets = tuple(arrays.pop(f"offsets{i}").astype(np.int64) for i in range(3) if f"offsets{i}" in arrays)
    kind = shapely.GeometryType(int(arrays.pop("kind")))
    return shapely.from_ragged_array(kind, coords, offsets), arrays


def unit_vectors(lats, lons) -> np.ndarray:
    return latlon_to_unit(np.asarray(lats, np.float64), np.asarray(lons, np.float64)).reshape(-1, 3)


def chord_to_km(chord: np.ndarray) -> np.ndarray:
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))


class NaturalEarthCountries:
    """Land polygons by ISO code, with the nearest coast point of each country."""

    def __init__(self, path: Path = NE_COUNTRIES):
        import shapely

        self.geometries, arrays = decode(path)
        self.codes = arrays["codes"].astype(str)
        self.source = str(arrays["source"])
        shapely.prepare(self.geometries)
        self._tree = shapely.STRtree(self.geometries)
        self._coast = None  # built on first use: most batches never need it
        self._lock = threading.Lock()

    def _coast_index(self):
        """Every outline vertex (<= a few km apart at 1:10m) in a k-d tree, for "km to the coast"."""
        import shapely
        from scipy.spatial import cKDTree

        with self._lock:
            if self._coast is None:
                coords, owner = shapely.get_coordinates(self.geometries, return_index=True)
                keep = self.codes[owner] != "-"
                self._coast = (cKDTree(unit_vectors(coords[keep, 1], coords[keep, 0]), balanced_tree=False,
                                       compact_nodes=False), owner[keep])
            return self._coast

    def codes_at(self, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
        """ISO code of the land polygon containing each point: "" at sea, "-" on land this
        edition assigns to no country (Golan, Abyei, Bir Tawil, slivers along coasts)."""
        import shapely

        lats, lons = np.asarray(lats, np.float64), np.asarray(lons, np.float64)
        out = np.full(len(lats), "", dtype=object)
        if not len(lats):
            return out
        # bounding boxes first, then exact tests against each (prepared) polygon for its points:
        # far faster than the tree's own predicate, which prepares the points, not the polygons
        point_idx, geom_idx = self._tree.query(shapely.points(lons, lats))
        order = np.argsort(geom_idx, kind="stable")
        point_idx, geom_idx = point_idx[order], geom_idx[order]
        bounds = np.nonzero(np.diff(geom_idx))[0] + 1
        for points, geoms in zip(np.split(point_idx, bounds), np.split(geom_idx, bounds)):
            if len(points):
                inside = shapely.contains_xy(self.geometries[geoms[0]], lons[points], lats[points])
                out[points[inside]] = self.codes[geoms[0]]
        return out

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
                    nearest = shapely.get_point(shapely.shortest_line(self.geometries[geom[rows]],
                                                                      shapely.points(x, lats[rows])), 0)
                    km[rows] = np.minimum(km[rows], haversine_km(lats[rows], x, shapely.get_y(nearest),
                                                                 shapely.get_x(nearest)))
        return km, self.codes[geom]


@lru_cache(maxsize=1)
def admin1_lines():
    """The 1:10m admin-1 boundary lines: (vertex xy, first vertex of each line, STRtree of the lines)."""
    import shapely

    lines, _ = decode(NE_ADMIN1_LINES)
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    first = np.searchsorted(owner, np.arange(len(lines) + 1))
    return coords, first, shapely.STRtree(lines)


def crossings(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """How many admin-1 line segments each segment (lon/lat start -> end) properly crosses.

    Candidate lines come from the tree by bounding box; their single segments are then
    tested with two orientation tests each, in numpy, with no geometry per segment."""
    import shapely

    coords, first, tree = admin1_lines()
    seg_idx, line_idx = tree.query(shapely.linestrings(np.stack((starts, ends), axis=1)))
    n_segments = first[line_idx + 1] - first[line_idx] - 1  # segments of each candidate line
    pair = np.repeat(np.arange(len(seg_idx)), n_segments)
    offset = np.arange(len(pair)) - np.repeat(np.cumsum(n_segments) - n_segments, n_segments)
    vertex = first[line_idx][pair] + offset
    seg = seg_idx[pair]
    p1, p2, q1, q2 = starts[seg], ends[seg], coords[vertex], coords[vertex + 1]

    def orient(a, b, c):
        return np.sign((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))

    cross = (orient(p1, p2, q1) * orient(p1, p2, q2) < 0) & (orient(q1, q2, p1) * orient(q1, q2, p2) < 0)
    return np.bincount(seg[cross], minlength=len(starts))
