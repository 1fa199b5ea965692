"""The one small interface through which a location model enters the analysis.

Anything that maps a batch of PIL images to predictions is a ``Predictor``: the
real CLIP-based model (``inference.Predictor``) or, in tests, a tiny trained one.
With no predictor configured no prediction is made and verdicts say so: geoloc
never shows a placeholder coordinate.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence

from PIL import Image


@dataclass
class Candidate:
    """One alternative location (a mixture component) with its weight in [0, 1]."""

    lat: float
    lon: float
    weight: float


@dataclass
class Prediction:
    """A model's estimate of where an image was taken."""

    lat: float
    lon: float  # in [-180, 180)
    radius50_km: float | None = None  # radius of the 50 % region, when the model is uncertainty-aware
    radius90_km: float | None = None  # radius of the 90 % region
    candidates: list[Candidate] = field(default_factory=list)


class LocationPredictor(Protocol):
    """Callable protocol: a batch of RGB PIL images (EXIF orientation already applied) -> predictions."""

    description: str

    def predict(self, images: Sequence[Image.Image]) -> list[Prediction]: ...
