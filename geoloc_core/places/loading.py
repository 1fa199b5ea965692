"""Load the offline geocoder once per process, and off the critical path.

Why: ``OfflineGeocoder()`` reads the OSM border, Natural Earth and GeoNames data, about
0.45 CPU-seconds (1.2-2 before #18 dropped scipy). A headless scan needs places only once the
first files have been inspected, so ``scan`` starts the load in a thread at once and the parser
workers (other processes, other cores) inspect the first files meanwhile; the first
``reverse_many`` waits for it.
One instance per process is shared by everything that asks (``shared_offline_geocoder``).
"""
from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any, Sequence

from .geocoding import OfflineGeocoder, Place


@lru_cache(maxsize=1)
def shared_offline_geocoder() -> OfflineGeocoder:
    """The process's one offline geocoder (thread-safe; built on first call)."""
    return OfflineGeocoder()


class BackgroundGeocoder:
    """Stands in for the shared ``OfflineGeocoder`` while it loads in a thread; every call waits for
    the load (and re-raises its error, if it failed), then is the geocoder's own."""

    def __init__(self):
        self._done = threading.Event()
        self._geocoder: OfflineGeocoder | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._load, name="geoloc-geocoder-load", daemon=True).start()

    def _load(self) -> None:
        try:
            self._geocoder = shared_offline_geocoder()
        except BaseException as exc:  # handed to the first caller, in its thread
            self._error = exc
        finally:
            self._done.set()

    def loaded(self) -> OfflineGeocoder:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._geocoder

    def reverse(self, lat: float, lon: float) -> Place:
        return self.loaded().reverse(lat, lon)

    def reverse_many(self, lats: Sequence[float], lons: Sequence[float]) -> list[Place]:
        return self.loaded().reverse_many(lats, lons)

    def __getattr__(self, name: str) -> Any:  # everything else the geocoder offers
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.loaded(), name)


def offline_geocoder_in_background() -> BackgroundGeocoder:
    """Start loading the shared offline geocoder now; use the returned stand-in like the geocoder."""
    return BackgroundGeocoder()
