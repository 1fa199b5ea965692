from __future__ import annotations

from functools import lru_cache

import pytest

from geoloc_core.places.geocoding import OfflineGeocoder
from geoloc_core.evidence.isolation import IsolatedWorker
from tests.machine_facts import left_behind, machine_facts


def pytest_report_header(config):
    return machine_facts()


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(machine_facts() + " (at the end)")
    terminalreporter.write_line(left_behind())


@lru_cache(maxsize=1)
def _shared_geocoder() -> OfflineGeocoder:
    """One per process, not per session: `make mutation` (mutmut) runs the tests once in its main process, then
    forks one child per mutant, and each child runs a new pytest session; a per-session geocoder would be loaded
    again (seconds) for each of ~1,000 mutants. Methods are still mutated in the children; the constructors are
    tested on fresh instances in test_geocoding_mutants.py."""
    return OfflineGeocoder()


@pytest.fixture(scope="session", autouse=True)
def _private_cache_dir(tmp_path_factory):
    """Zero-shot prompt embeddings are cached on disk ($GEOLOC_CACHE_DIR, else ~/.cache/geoloc): the tests
    keep theirs in a folder of the session (inherited by the servers and commands they start), so a
    test run never writes into the user's cache nor reads a stale entry from it."""
    import os

    previous = os.environ.get("GEOLOC_CACHE_DIR")
    os.environ["GEOLOC_CACHE_DIR"] = str(tmp_path_factory.mktemp("geoloc_cache"))
    yield
    if previous is None:
        os.environ.pop("GEOLOC_CACHE_DIR", None)
    else:
        os.environ["GEOLOC_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def geocoder() -> OfflineGeocoder:
    return _shared_geocoder()


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


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """The app's data folder for one test (case log, settings), with no model from the environment."""
    monkeypatch.setenv("GEOLOC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GEOLOC_MODEL", raising=False)
    return tmp_path / "data"
