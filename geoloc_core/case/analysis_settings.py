"""What a user chose for an analysis run, and the ``Analyzer`` it implies."""
from __future__ import annotations

from dataclasses import dataclass, field

from .verification import VerdictThresholds


@dataclass(frozen=True)
class AnalysisSettings:
    model_path: str = ""  # empty: no model, no prediction
    online_geocoder: bool = False  # opt-in: sends coordinates to OSM Nominatim
    online_tiles: bool = False  # opt-in: the browser loads OSM tiles
    allow_model_download: bool = False  # opt-in: model_path may be a Hugging Face id (downloads)
    thresholds: VerdictThresholds = field(default_factory=VerdictThresholds)
    second_model_path: str = ""  # a model of the other kind (regressor / zero-shot CLIP): a second witness
