from __future__ import annotations

import pytest

from geoloc_core.geocoding import OfflineGeocoder
from geoloc_core.isolation import IsolatedWorker


@pytest.fixture(scope="session")
def geocoder() -> OfflineGeocoder:
    return OfflineGeocoder()


@pytest.fixture(scope="session")
def worker():
    with IsolatedWorker(timeout_s=20) as shared:
        yield shared
