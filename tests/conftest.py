from __future__ import annotations

import pytest

from geoloc_core.places.geocoding import OfflineGeocoder
from geoloc_core.evidence.isolation import IsolatedWorker


@pytest.fixture(scope="session")
def geocoder() -> OfflineGeocoder:
    return OfflineGeocoder()


@pytest.fixture(scope="session")
def worker():
    with IsolatedWorker(timeout_s=20) as shared:
        yield shared


@pytest.fixture(scope="session")
def tiny_backbone_dir(tmp_path_factory):
    from tests.tiny_models import save_tiny_backbone

    return save_tiny_backbone(tmp_path_factory.mktemp("tiny_clip"))


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_backbone_dir, tmp_path_factory):
    """An untrained tiny geoloc model with a 3-component mixture, saved as training would."""
    from tests.tiny_models import save_tiny_model

    return save_tiny_model(tiny_backbone_dir, tmp_path_factory.mktemp("tiny_geoloc"), num_components=3)
