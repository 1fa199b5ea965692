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


def test_scan_without_pixel_forensics_starts_parsers_without_opencv(tmp_path, monkeypatch):
    """The scan command's hook: its pool preloads OpenCV only with --pixel-forensics."""
    import geoloc_core.evidence.isolation as isolation
    from geoloc_core import cli

    seen = []
    real = isolation.WorkerPool

    def spy(*args, **kwargs):
        pool = real(*args, **kwargs)
        seen.append(pool._workers[0].preload)
        return pool

    monkeypatch.setattr(isolation, "WorkerPool", spy)
    (tmp_path / "in").mkdir()
    assert cli.main(["scan", str(tmp_path / "in"), "--out", str(tmp_path / "f.csv"), "--no-progress",
                     "--metadata-only"]) == 0
    assert seen == [isolation.PARSERS_ONLY]
