"""geoloc core: everything the app, the scan CLI and training share.

The package is grouped by the stages of the data's path, lowest first; a group
imports only groups below it (``tests/test_layout.py`` keeps it so):

- ``evidence``: what a file's bytes say (type, hash, EXIF, forensic facts, metadata
  checks), parsed in an isolated worker; uploads, folders and zip archives.
- ``places``: geodesy and geocoding (a point to country, region, continent).
- ``model``: the geolocation model, its distributions and calibration, the
  prediction protocol and inference.
- ``learning``: training, data sets, the feature cache, metrics and evaluation.
- ``case``: the finding record, the analysis pipeline, verdicts, the case log,
  exports, maps and near-duplicates: what an analyst works with.

``cli`` (``python -m geoloc_core``) sits on top. Nothing here imports Streamlit:
all analysis logic is plain Python so it can be tested without a browser and
reused headless.

The names users rely on are re-exported here lazily (``from geoloc_core import
GeoLocator``), so importing the package does not import torch.
"""
__version__ = "0.1.0"

_EXPORTS = {
    "GeoLocator": "geoloc_core.model.modeling_geolocator",
    "GeoLocatorConfig": "geoloc_core.model.configuration_geolocator",
    "Predictor": "geoloc_core.model.inference",
    "load_predictor": "geoloc_core.model.inference",
    "Prediction": "geoloc_core.model.prediction",
    "ZeroShotPredictor": "geoloc_core.model.zeroshot",
    "Analyzer": "geoloc_core.case.analyzer",
    "Finding": "geoloc_core.case.findings",
    "CaseLog": "geoloc_core.case.log.caselog",
    "OfflineGeocoder": "geoloc_core.places.geocoding",
    "TrainConfig": "geoloc_core.learning.train_config",
    "train": "geoloc_core.learning.trainer",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'geoloc_core' has no attribute {name!r}")
