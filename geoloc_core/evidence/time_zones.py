"""One timezonefinder per process, behind one lock, for the country borders and the time checks.

In ``evidence`` (the lowest group) because both use it: the checks here and ``places/osm_borders.py`` above.

Why: ``TimezoneFinder`` memory-maps its polygon files and is not thread-safe (its buffers are shared between
calls). The border lookup (``osm_borders``) guarded its own instance with a lock, while the time checks
(``evidence/checks.py``) built a second instance (about 10 ms and its own file maps in every scan) and used it
from the app's session threads without one."""
from __future__ import annotations

import threading
from typing import Any

_LOCK = threading.Lock()
_FINDER: list[Any] = []


def shared_timezone_finder() -> tuple[Any, threading.Lock]:
    """(the process's TimezoneFinder, the lock every use of it must hold); built on first call."""
    with _LOCK:
        if not _FINDER:
            from timezonefinder import TimezoneFinder

            _FINDER.append(TimezoneFinder())
    return _FINDER[0], _LOCK


def timezone_at(lat: float, lon: float) -> str | None:
    """IANA time zone at a point (offline); None where no zone answers (open sea beyond the 12-mile belts)."""
    finder, lock = shared_timezone_finder()
    with lock:
        return finder.timezone_at(lat=lat, lng=lon)
