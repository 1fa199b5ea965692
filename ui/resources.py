"""Heavy objects, loaded once per process and shared by every browser session (st.cache_resource)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from geoloc_core.case.log.access import ScopedCaseLog, ScopedEvidenceStore
from geoloc_core.case.log.caselog import CaseLog, EvidenceStore, default_data_dir
from geoloc_core.places.geocoding import NominatimGeocoder, OfflineGeocoder
from geoloc_core.places.loading import shared_offline_geocoder
from geoloc_core.evidence.isolation import BESIDE_MODEL_NICENESS, WorkerPool

if TYPE_CHECKING:
    from geoloc_core.model.inference import Predictor

APP_DIR = Path(__file__).resolve().parents[1]
STATIC_VENDOR_DIR = APP_DIR / "static" / "vendor"
STATIC_VENDOR_URL = "/app/static/vendor/"
STATIC_URL = "/app/static/"


@st.cache_resource(show_spinner=False)
def offline_map_assets() -> int:
    from geoloc_core.case.maps.layers import vendor_leaflet_assets  # folium: imported with the first map
    from geoloc_core.case.maps.vector_basemap import vendor_vector_assets

    return len(vendor_leaflet_assets(STATIC_VENDOR_DIR)) + len(vendor_vector_assets(STATIC_VENDOR_DIR))


@st.cache_resource(show_spinner="Preparing the local basemap...")
def local_basemap(path: str):
    """The configured basemap (MBTiles or PMTiles, raster or vector), extracted once into static/ and
    served by this app. Returns a Basemap, or the reason it cannot be used (a sentence for people):
    either is cached, so a refused basemap is not read again on every map (extract_basemap also keeps
    its refusal on disk for the next start). Nothing is raised: a stack trace is no message."""
    import mimetypes

    from geoloc_core.case.maps.basemap import TILE_MEDIA_TYPES, BasemapError, extract_basemap

    for extension, media_type in TILE_MEDIA_TYPES.items():  # Streamlit's static route asks mimetypes
        mimetypes.add_type(media_type, extension)
    try:
        return extract_basemap(path, APP_DIR / "static")
    except BasemapError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001  (extract_basemap turns every failure into BasemapError; in case not)
        return f"{Path(path).name} could not be prepared as a basemap ({type(exc).__name__})"


@st.cache_resource(show_spinner="Loading offline country outlines and places...")
def offline_geocoder() -> OfflineGeocoder:
    return shared_offline_geocoder()


@st.cache_resource(show_spinner=False)
def online_geocoder() -> NominatimGeocoder:
    return NominatimGeocoder(fallback=offline_geocoder())


@st.cache_resource(show_spinner=False)
def parser_worker() -> WorkerPool:
    """The isolated parser processes shared by all sessions: one per core as far as memory holds them, so a Batch
    inspects files in parallel through the same pipeline as ``scan`` (issue #18). At the lowest
    priority, as beside a model in ``scan``: this server process runs the model and the pages."""
    return WorkerPool(niceness=BESIDE_MODEL_NICENESS)


@st.cache_resource(show_spinner="Loading the geolocation model...")
def predictor(model_path: str, allow_download: bool = False) -> Predictor:
    """Raises ModelLoadError (not cached) when the folder is not a usable model, or when it would
    have to be downloaded and the online switch is off. torch is imported here, when a model is first asked
    for, not when the app starts (#32: a cold start without a model never waits for it)."""
    from geoloc_core.model.inference import load_predictor

    return load_predictor(model_path, allow_download=allow_download)


@st.cache_resource(show_spinner=False)
def case_log(path: str) -> CaseLog:
    return CaseLog(path)


@st.cache_resource(show_spinner=False)
def evidence_store(folder: str) -> EvidenceStore:
    return EvidenceStore(folder)


def current_case_log() -> CaseLog | ScopedCaseLog:
    """The case log under the data folder ($GEOLOC_DATA_DIR or the per-user default); on a team server (#36) as
    the signed-in analyst sees it (``geoloc_core.case.log.access``): every page's reads and writes go through it."""
    from ui.login import current_member

    log = case_log(str(default_data_dir() / "caselog.sqlite3"))
    member = current_member()
    return ScopedCaseLog(log, member) if member is not None else log


def evidence_of(log: CaseLog | ScopedCaseLog) -> EvidenceStore | ScopedEvidenceStore:
    """The kept originals beside ``log``, as its reader may see them (a team member: their cases' only)."""
    if isinstance(log, ScopedCaseLog):
        return log.evidence
    return evidence_store(str(log.path.parent / "evidence"))
