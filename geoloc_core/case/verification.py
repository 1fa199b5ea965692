"""Does the image's own EXIF GPS agree with where the pixels say it was taken?

All thresholds live here, so an analyst (and a court) can read exactly what a
verdict means. Bands are the distance scales used by every geolocation paper
(IM2GPS onwards): street 1 km, city 25 km, region 200 km, country 750 km,
continent 2500 km.

Verdicts, from a prediction with uncertainty (radius50/radius90 of the model's
calibrated 50 % and 90 % regions):
* consistent   - EXIF point within the 50 % region (or, without radii, the city band);
* plausible    - within the 90 % region (without radii: the country band);
* unlikely     - beyond the 90 % region but within twice its radius (without: the continent band);
* contradicts  - farther still: the pixels and the claimed location disagree;
* cannot verify: no EXIF GPS / no model / prediction failed / not an image / image too small or flat.
A model is a witness, not proof: a "contradicts" says where to look harder.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..places.geodesy import geodesic_km
from ..places.geocoding import Place
from ..model.prediction import Prediction

BANDS_KM: tuple[tuple[str, float], ...] = (
    ("street", 1.0),
    ("city", 25.0),
    ("region", 200.0),
    ("country", 750.0),
    ("continent", 2500.0),
)
BEYOND_BAND = "beyond continent"
# Used only when the model gives no uncertainty radii.
FALLBACK_CONSISTENT_KM = 25.0
FALLBACK_PLAUSIBLE_KM = 750.0
FALLBACK_UNLIKELY_KM = 2500.0
UNLIKELY_FACTOR = 2.0

CONSISTENT = "consistent"
PLAUSIBLE = "plausible"
UNLIKELY = "unlikely"
CONTRADICTS = "contradicts"
NO_GPS = "cannot verify: no EXIF GPS"
NO_MODEL = "cannot verify: no model"
PREDICTION_FAILED = "cannot verify: prediction failed"
NOT_AN_IMAGE = "cannot verify: not an image"  # a PDF, a text file, ...: there are no pixels to look at
TOO_LITTLE_IMAGE = "cannot verify: image too small or flat"  # see evidence/information.py
VERDICTS = (CONSISTENT, PLAUSIBLE, UNLIKELY, CONTRADICTS, NO_GPS, NO_MODEL, PREDICTION_FAILED, NOT_AN_IMAGE,
            TOO_LITTLE_IMAGE)


@dataclass(frozen=True)
class VerdictThresholds:
    """The adjustable part of the rules above (the app's settings change these)."""

    unlikely_factor: float = UNLIKELY_FACTOR
    fallback_consistent_km: float = FALLBACK_CONSISTENT_KM
    fallback_plausible_km: float = FALLBACK_PLAUSIBLE_KM
    fallback_unlikely_km: float = FALLBACK_UNLIKELY_KM


@dataclass
class Verification:
    distance_km: float | None
    band: str | None
    country_match: bool | None
    continent_match: bool | None
    verdict: str
    reason: str


def band_for(distance_km: float) -> str:
    """Smallest band that contains the distance (bounds inclusive, as GeoCLIP's <=)."""
    for name, limit in BANDS_KM:
        if distance_km <= limit:
            return name
    return BEYOND_BAND


def _match(a: str | None, b: str | None) -> bool | None:
    return None if a is None or b is None else a == b


def verify(
    exif_point: tuple[float, float] | None,
    prediction: Prediction | None,
    exif_place: Place | None = None,
    predicted_place: Place | None = None,
    model_available: bool = True,
    thresholds: VerdictThresholds = VerdictThresholds(),
    subject: str = "EXIF GPS",
) -> Verification:
    """Compare EXIF GPS (or another claimed point, named by ``subject``) with a prediction and
    explain the verdict in one sentence."""
    if prediction is None:
        verdict = NO_MODEL if not model_available else PREDICTION_FAILED
        reason = ("no location model is loaded, so the pixels were not analysed"
                  if not model_available else "the model could not analyse this image")
        return Verification(None, None, None, None, verdict, reason)
    if exif_point is None:
        return Verification(None, None, None, None, NO_GPS,
                            "the file carries no usable EXIF GPS to compare the prediction with")
    distance = geodesic_km(exif_point[0], exif_point[1], prediction.lat, prediction.lon)
    band = band_for(distance)
    country_match = _match(exif_place and exif_place.country_code, predicted_place and predicted_place.country_code)
    continent_match = _match(exif_place and exif_place.continent, predicted_place and predicted_place.continent)
    if prediction.radius50_km is not None and prediction.radius90_km is not None:
        r50, r90 = prediction.radius50_km, prediction.radius90_km
        factor = thresholds.unlikely_factor
        limits = (r50, r90, factor * r90)
        kind = "" if getattr(prediction, "calibrated", True) else "uncalibrated "
        scale = (f"the model's {kind}50 % region ({r50:,.0f} km)", f"its {kind}90 % region ({r90:,.0f} km)",
                 f"{factor:g}x its 90 % radius ({factor * r90:,.0f} km)")
    else:
        limits = (thresholds.fallback_consistent_km, thresholds.fallback_plausible_km, thresholds.fallback_unlikely_km)
        scale = tuple(f"{km:,.0f} km" for km in limits)
    where = f"{subject} lies {distance:,.1f} km from the predicted location ({band} band)"
    if distance <= limits[0]:
        verdict, why = CONSISTENT, f"within {scale[0]}"
    elif distance <= limits[1]:
        verdict, why = PLAUSIBLE, f"within {scale[1]}"
    elif distance <= limits[2]:
        verdict, why = UNLIKELY, f"beyond {scale[1]} but within {scale[2]}"
    else:
        verdict, why = CONTRADICTS, f"beyond {scale[2]}"
    reason = f"{where}, {why}"
    if country_match is False and exif_place and predicted_place:
        label = "EXIF" if subject == "EXIF GPS" else "claimed"
        reason += f"; {label} country {exif_place.country} vs predicted {predicted_place.country}"
    return Verification(distance, band, country_match, continent_match, verdict, reason)
