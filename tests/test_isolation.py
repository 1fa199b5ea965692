from __future__ import annotations

import time

import pytest

from geoloc_core.evidence.isolation import IsolatedCallError, IsolatedWorker


def _sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "woke"


def _boom() -> None:
    raise ValueError("bad tag")


def _die() -> None:
    import os

    os._exit(3)


def _hog() -> bytes:
    return b"x" * (8 * 1024**3)


def test_results_errors_timeouts_and_crashes_are_contained():
    with IsolatedWorker(timeout_s=5, memory_limit=1024**3) as worker:
        assert worker.call(_sleep, 0) == "woke"
        with pytest.raises(IsolatedCallError, match="ValueError: bad tag"):
            worker.call(_boom)
        started = time.monotonic()
        with pytest.raises(IsolatedCallError, match="gave up after 0.5 s"):
            worker.call(_sleep, 30, timeout_s=0.5)
        assert time.monotonic() - started < 5
        with pytest.raises(IsolatedCallError, match="process died"):
            worker.call(_die)
        with pytest.raises(IsolatedCallError, match="out of memory"):
            worker.call(_hog)
        assert worker.call(_sleep, 0) == "woke"  # a fresh worker serves the next file


def _loaded(name: str) -> bool:
    import sys

    return name in sys.modules


def test_a_parser_without_pixel_checks_does_not_load_opencv():
    """#35: the pixel checks' figures (OpenCV, 0.2 CPU-s per parser) load only in a worker that may draw them."""
    from geoloc_core.evidence.isolation import PARSERS_ONLY, WITH_PIXEL_FIGURES, WorkerPool

    with WorkerPool(size=1, preload=PARSERS_ONLY) as pool:
        assert pool.call(_loaded, "geoloc_core.evidence.inspection")
        assert not pool.call(_loaded, "cv2")
    with WorkerPool(size=1, preload=WITH_PIXEL_FIGURES) as pool:
        assert pool.call(_loaded, "cv2")


def _pid() -> int:
    import os

    return os.getpid()


def test_a_pool_serves_with_its_active_workers_until_it_grows():
    """#35: held-back workers neither start nor serve before ``grow()``; afterwards they do."""
    import threading

    from geoloc_core.evidence.isolation import PARSERS_ONLY, WorkerPool

    with WorkerPool(size=2, preload=PARSERS_ONLY, active=1) as pool:
        pool.start()
        assert pool._workers[1]._process is None
        pids = set()

        def work():
            for _ in range(20):
                pids.add(pool.call(_pid))

        threads = [threading.Thread(target=work) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(pids) == 1 and pool._workers[1]._process is None
        pool.grow()
        assert pool._workers[1]._process is not None
        seen = set()
        deadline = time.monotonic() + 60
        while len(seen) < 2 and time.monotonic() < deadline:  # both free workers get calls in turn
            seen.add(pool.call(_pid))
        assert len(seen) == 2


def _scan_pools(tmp_path, monkeypatch, files: int, *extra: str) -> list:
    import geoloc_core.evidence.isolation as isolation
    from geoloc_core import cli
    from tests.imagegen import image_bytes

    pools = []
    real = isolation.WorkerPool

    def spy(*args, **kwargs):
        pools.append(real(*args, **kwargs))
        return pools[-1]

    monkeypatch.setattr(isolation, "WorkerPool", spy)
    monkeypatch.setattr(isolation, "default_pool_size", lambda memory_limit=None: 2)
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(files):
        (folder / f"{i}.jpg").write_bytes(image_bytes())
    assert cli.main(["scan", str(folder), "--out", str(tmp_path / "f.csv"), "--no-progress", *extra]) == 0
    return pools


def test_scan_without_pixel_forensics_starts_parsers_without_opencv(tmp_path, monkeypatch):
    """The scan command's hooks: its pool preloads OpenCV only with --pixel-forensics, and a small
    metadata-only scan serves with one parser (a full one with all)."""
    import geoloc_core.evidence.isolation as isolation

    pools = _scan_pools(tmp_path, monkeypatch, 2, "--metadata-only")
    assert [p._workers[0].preload for p in pools] == [isolation.PARSERS_ONLY]
    assert pools[0].size == 2 and len(pools[0]._held) == 1 and pools[0]._workers[1]._process is None


def test_a_larger_metadata_only_scan_grows_its_pool(tmp_path, monkeypatch):
    from geoloc_core.case import scan_mode

    monkeypatch.setattr(scan_mode, "METADATA_ONLY_ONE_PARSER_FILES", 2)
    pools = _scan_pools(tmp_path, monkeypatch, 3, "--metadata-only")
    assert pools[0]._held == []
