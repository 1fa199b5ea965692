"""Nearest points on the sphere: a k-d tree over unit vectors (chord distance orders like arc length).

Why pykdtree and not ``scipy.spatial.cKDTree``: importing ``scipy.spatial`` takes 0.65 s of CPU
(it pulls scipy.sparse and scipy's array-API layer), more than the rest of the geocoder's load,
and every ``scan`` paid it before its first file could be placed (issue #18). pykdtree (the
pytroll project's k-d tree, used by pyresample and satpy) imports in milliseconds and answers
the same k-nearest queries; its ball query is built here from k-nearest with a growing k.
"""
from __future__ import annotations

import ctypes
import glob
import os
from functools import lru_cache

import numpy as np
import pykdtree
from pykdtree.kdtree import KDTree

# pykdtree runs every query on an OpenMP team of all cores. For the few dozen points of a scan's batch the
# team costs more than the search: 5-8 ms per 64-point query on a busy 2-core machine against 0.03 ms on
# one thread (#35: 0.37 ms of the scan process's time per file). Queries up to this size run on one thread.
SMALL_QUERY = 4096


@lru_cache(maxsize=1)
def _pykdtree_openmp():
    """pykdtree's own bundled OpenMP runtime (its wheel ships a private libgomp; torch has its own, which
    this never touches), or None where there is none to find (then queries keep pykdtree's default)."""
    folder = os.path.join(os.path.dirname(os.path.dirname(pykdtree.__file__)), "pykdtree.libs")
    for path in sorted(glob.glob(os.path.join(folder, "libgomp*.so*"))):
        try:
            lib = ctypes.CDLL(path)
            lib.omp_get_max_threads.restype = ctypes.c_int
            lib.omp_set_num_threads.argtypes = [ctypes.c_int]
            return lib
        except (OSError, AttributeError):
            continue
    return None


def _query(tree: KDTree, xyz: np.ndarray, k: int):
    """``tree.query``; on one OpenMP thread for a small query (the setting is the calling thread's own,
    and restored after)."""
    lib = _pykdtree_openmp() if len(xyz) <= SMALL_QUERY else None
    if lib is None:
        return tree.query(xyz, k=k)
    before = lib.omp_get_max_threads()
    lib.omp_set_num_threads(1)
    try:
        return tree.query(xyz, k=k)
    finally:
        lib.omp_set_num_threads(before)


class UnitVectorTree:
    """k-nearest and within-radius queries over fixed 3-D points (rows of ``points``).

    Thread-safe for queries (the tree is read-only once built)."""

    def __init__(self, points: np.ndarray):
        self._points = np.ascontiguousarray(np.asarray(points, np.float64).reshape(-1, 3))
        self.n = len(self._points)
        self._tree = KDTree(self._points, leafsize=16) if self.n else None

    def query(self, xyz: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """(chord distances, indices) of the ``k`` nearest points, shaped (m,) for k=1 and (m, k)
        otherwise, like cKDTree; where fewer than k points exist, distance inf and index ``n``."""
        xyz = np.ascontiguousarray(np.asarray(xyz, np.float64).reshape(-1, 3))
        if self._tree is None or not len(xyz):
            shape = (len(xyz),) if k == 1 else (len(xyz), k)
            return np.full(shape, np.inf), np.full(shape, self.n, dtype=np.int64)
        chord, idx = _query(self._tree, xyz, k)
        idx = idx.astype(np.int64)
        missing = idx >= self.n  # pykdtree marks them with the index type's maximum and sqrt(DBL_MAX)
        idx[missing], chord[missing] = self.n, np.inf
        return chord, idx

    def within(self, xyz: np.ndarray, chord: float) -> list[np.ndarray]:
        """Per query point, the indices of all points within ``chord`` (inclusive)."""
        xyz = np.ascontiguousarray(np.asarray(xyz, np.float64).reshape(-1, 3))
        out: list[np.ndarray] = []
        for point in xyz:
            k = 16
            while True:
                k = min(k, self.n)
                if k == 0:
                    out.append(np.zeros(0, np.int64))
                    break
                dist, idx = self.query(point[None, :], k=k)
                dist, idx = dist.reshape(-1), idx.reshape(-1)
                if k == self.n or dist[-1] > chord:  # the k-th nearest is outside: all inside were found
                    out.append(idx[dist <= chord])
                    break
                k *= 4
        return out
