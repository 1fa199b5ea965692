"""The one small interface through which a location model enters the analysis.

Anything that maps a batch of PIL images to predictions is a ``Predictor``: the
real CLIP-based regressor (``inference.Predictor``), the zero-shot CLIP predictor
(``zeroshot.ZeroShotPredictor``) or, in tests, a tiny one.
With no predictor configured no prediction is made and verdicts say so: geoloc
never shows a placeholder coordinate.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence

from PIL import Image


@dataclass
class Candidate:
    """One alternative location (a mixture component, or a zero-shot place) with its weight in [0, 1]."""

    lat: float
    lon: float
    weight: float
    label: str = ""  # a place name for zero-shot candidates ("Bavaria, Germany"); empty for mixture components
    kappa: float | None = None  # a mixture component's own (calibrated) vMF concentration: its own 50 % / 90 % regions


@dataclass
class CountryProbability:
    """A model's probability that the image was taken in one country (zero-shot predictors give these)."""

    country_code: str  # ISO 3166-1 alpha-2
    country: str
    probability: float


@dataclass
class Prediction:
    """A model's estimate of where an image was taken."""

    lat: float
    lon: float  # in [-180, 180)
    radius50_km: float | None = None  # radius of the 50 % region, when the model is uncertainty-aware
    radius90_km: float | None = None  # radius of the 90 % region
    candidates: list[Candidate] = field(default_factory=list)
    country_probabilities: list[CountryProbability] = field(default_factory=list)  # most likely first
    calibrated: bool = True  # False: the radii come from an uncalibrated posterior (zero-shot), say so


class LocationPredictor(Protocol):
    """Callable protocol: a batch of RGB PIL images (EXIF orientation already applied) -> predictions.

    A predictor with an ``input_spec`` (``clip_input.ClipInputSpec``: CLIP's standard preprocessing)
    also takes that spec's uint8 crops, which the Analyzer's parser workers make."""

    description: str

    def predict(self, images: Sequence[Image.Image]) -> list[Prediction]: ...
