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
