"""The offline geocoder's prepared arrays kept between runs (#35, places/prepared_cache.py): read back only
when they are ours, built from the same source bytes, and unchanged since they were written."""
from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from geoloc_core.places import prepared_cache
from geoloc_core.places.prepared_cache import cached_arrays, read_prepared, source_digest


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOLOC_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "asset.npz"
    source.write_bytes(b"the asset's bytes")
    return tmp_path / "cache" / "prepared", source


def _builder(calls: list):
    def build():
        calls.append(1)
        return {"coords": np.arange(12, dtype=np.float64).reshape(6, 2), "kind": np.array([6], np.int64)}
    return build


def test_built_once_then_read_back_owner_only(cache):
    folder, source = cache
    calls: list = []
    first = cached_arrays("ragged-x", source, _builder(calls))
    second = cached_arrays("ragged-x", source, _builder(calls))
    assert len(calls) == 1
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])
        assert second[name].dtype == first[name].dtype
    path = folder / "ragged-x.safetensors"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert [p.name for p in folder.iterdir()] == ["ragged-x.safetensors"]  # no temporary left behind


def test_a_changed_file_is_ignored_and_rebuilt(cache):
    folder, source = cache
    calls: list = []
    cached_arrays("ragged-x", source, _builder(calls))
    path = folder / "ragged-x.safetensors"
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # one coordinate changed after the file was written
    path.write_bytes(bytes(data))
    assert read_prepared(path, source_digest(source)) is None
    again = cached_arrays("ragged-x", source, _builder(calls))
    assert len(calls) == 2 and again["coords"][-1, -1] == 11.0
    path.write_bytes(b"\x80\x04\x95 a pickle, or anything else")
    assert read_prepared(path, source_digest(source)) is None


def test_other_source_bytes_rebuild(cache):
    folder, source = cache
    calls: list = []
    cached_arrays("ragged-x", source, _builder(calls))
    source.write_bytes(b"a new release of the asset")
    cached_arrays("ragged-x", source, _builder(calls))
    assert len(calls) == 2


def test_a_file_others_may_write_is_refused(cache):
    folder, source = cache
    cached_arrays("ragged-x", source, _builder([]))
    path = folder / "ragged-x.safetensors"
    assert read_prepared(path, source_digest(source)) is not None
    os.chmod(path, 0o620)
    assert read_prepared(path, source_digest(source)) is None


def test_an_unwritable_cache_costs_the_rebuild_not_the_run(tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    monkeypatch.setenv("GEOLOC_CACHE_DIR", str(blocker))
    source = tmp_path / "asset.npz"
    source.write_bytes(b"bytes")
    assert cached_arrays("ragged-x", source, _builder([]))["kind"][0] == 6


def test_the_geocoder_from_the_cache_answers_as_built_fresh(tmp_path, monkeypatch):
    """Cold (builds and writes) and warm (reads) geocoders give the same places, coast notes included."""
    from geoloc_core.places.geocoding import OfflineGeocoder

    monkeypatch.setenv("GEOLOC_CACHE_DIR", str(tmp_path / "cache"))
    lats, lons = [48.85, 40.70, -33.86, 43.30, 0.0, 64.1], [2.35, -74.0, 151.2, 5.37, -30.0, -21.9]
    cold = OfflineGeocoder().reverse_many(lats, lons)
    assert sorted(p.name for p in (tmp_path / "cache" / "prepared").iterdir()) == [
        "coast-ne10m_countries.safetensors", "places-geonames_places.safetensors",
        "ragged-ne10m_admin1_faces.safetensors", "ragged-ne10m_countries.safetensors"]
    reads = []
    real = prepared_cache.read_prepared
    monkeypatch.setattr(prepared_cache, "read_prepared", lambda *a: reads.append(real(*a)) or reads[-1])
    warm = OfflineGeocoder().reverse_many(lats, lons)
    assert len(reads) == 4 and all(r is not None for r in reads)
    assert warm == cold


def test_small_kd_tree_queries_run_on_one_openmp_thread_and_answer_the_same():
    """places/nearest.py (#35): a scan's few-dozen-point queries run on one OpenMP thread (pykdtree's team
    cost 5-8 ms a query on a busy 2-core machine; benchmarks/README.md); the answers are the same as the
    default's and the thread setting is restored after."""
    from geoloc_core.places import nearest

    rng = np.random.default_rng(0)
    points = rng.normal(size=(5000, 3))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    tree = nearest.UnitVectorTree(points)
    small, large = points[:64] * 0.999, rng.normal(size=(nearest.SMALL_QUERY + 10, 3))
    lib = nearest._pykdtree_openmp()
    before = lib.omp_get_max_threads() if lib is not None else None
    for query in (small, large):
        chord, idx = tree.query(query, k=3)
        expected = np.argsort(np.linalg.norm(points[None, :, :] - query[:200, None, :], axis=2), axis=1)[:, :3]
        np.testing.assert_array_equal(idx[:200], expected)
    if lib is not None:
        assert lib.omp_get_max_threads() == before


def test_place_names_read_one_at_a_time_equal_the_split_table():
    """#35: the lazily read place names are the very strings the whole-table split gave, every one."""
    import numpy as np

    from geoloc_core.places.regions import PLACES_NPZ, _blob, _Names, _unblob

    with np.load(PLACES_NPZ, allow_pickle=False) as data:
        blob = data["names"]
    names = _Names(blob)
    split = _unblob(blob)
    assert len(names) == len(split) and [names[i] for i in range(len(split))] == split
    assert names[-1] == split[-1]
    small = _Names(_blob(["Zürich", "", "Kyiv"]))
    assert [small[i] for i in range(len(small))] == ["Zürich", "", "Kyiv"]


def test_the_prepared_place_table_gives_the_same_index(tmp_path, monkeypatch):
    """#35: a PlaceIndex built from the prepared (cached) table holds the arrays and tree points of one built
    from the shipped npz itself."""
    import numpy as np

    from geoloc_core.places import regions
    from geoloc_core.places.natural_earth import Admin1Faces

    monkeypatch.setenv("GEOLOC_CACHE_DIR", str(tmp_path))
    faces = Admin1Faces()
    first = regions.PlaceIndex(faces=faces)  # builds and writes the prepared file
    assert (tmp_path / "prepared" / "places-geonames_places.safetensors").exists()
    second = regions.PlaceIndex(faces=faces)  # reads it back
    with np.load(regions.PLACES_NPZ, allow_pickle=False) as data:
        lat, lon = data["lat_e5"] * regions.QUANTUM, data["lon_e5"] * regions.QUANTUM
    expected = regions.unit_vectors(lat, lon)
    for index in (first, second):
        assert np.array_equal(index._tree._points, expected)
        assert np.array_equal(index._face, first._face) and np.array_equal(index._face_region, first._face_region)
        assert np.array_equal(index.lat, lat) and np.array_equal(index.lon, lon)
