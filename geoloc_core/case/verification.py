"""Does the image's own EXIF GPS agree with where the pixels say it was taken?

All thresholds live here, so an analyst (and a court) can read exactly what a
verdict means. Bands are the distance scales used by every geolocation paper
(IM2GPS onwards): street 1 km, city 25 km, region 200 km, country 750 km,
continent 2500 km.

Verdicts, from a prediction with uncertainty (radius50/radius90 of the model's
calibrated 50 % and 90 % regions):
* inconclusive - the model cannot say where the photo is: its 90 % region is wider than the
                 continent band (2,500 km) or its 50 % region wider than the country band (750 km).
                 Nothing is compared, whatever the distance;
* consistent   - EXIF point within the 50 % region (or, without radii, the city band);
* plausible    - within the 90 % region (without radii: the country band);
* unlikely     - beyond the 90 % region but within twice its radius (without: the continent band);
* contradicts  - farther still: the pixels and the claimed location disagree;
* cannot verify: no EXIF GPS / no model / prediction failed / not an image / image too small or flat.
"consistent" and "plausible" are never given beyond the continent band (``AGREEMENT_CEILING_KM``),
whatever the radii and the thresholds: a point 4,000 km away agrees with nothing an analyst could
publish; such a point is "unlikely" at best.

Why a floor on the model's certainty (issue #28): the verdicts above compare a distance with the
model's own regions, so a model that knows nothing (a 90 % region of 16,000 km on a beach photo)
called a point 8,600 km away "consistent". A verdict an analyst defends must mean the pixels said
something; when they did not, the answer is "inconclusive" and the reason names the witness and
its region. The same rule holds for the second witness and the written (claimed) place.
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
# A model whose regions are wider than these cannot say where the photo is: the verdict is "inconclusive".
UNINFORMATIVE_R90_KM = 2500.0  # the continent band
UNINFORMATIVE_R50_KM = 750.0  # the country band
# No "consistent" or "plausible" beyond this distance, whatever the radii and thresholds (not adjustable).
AGREEMENT_CEILING_KM = 2500.0  # the continent band

CONSISTENT = "consistent"
PLAUSIBLE = "plausible"
UNLIKELY = "unlikely"
CONTRADICTS = "contradicts"
INCONCLUSIVE = "inconclusive"
NO_GPS = "cannot verify: no EXIF GPS"
NO_MODEL = "cannot verify: no model"
PREDICTION_FAILED = "cannot verify: prediction failed"
NOT_AN_IMAGE = "cannot verify: not an image"  # a PDF, a text file, ...: there are no pixels to look at
TOO_LITTLE_IMAGE = "cannot verify: image too small or flat"  # see evidence/information.py
VERDICTS = (INCONCLUSIVE, CONSISTENT, PLAUSIBLE, UNLIKELY, CONTRADICTS, NO_GPS, NO_MODEL, PREDICTION_FAILED,
            NOT_AN_IMAGE, TOO_LITTLE_IMAGE)


@dataclass(frozen=True)
class VerdictThresholds:
    """The adjustable part of the rules above (the app's settings change these)."""

    unlikely_factor: float = UNLIKELY_FACTOR
    fallback_consistent_km: float = FALLBACK_CONSISTENT_KM
    fallback_plausible_km: float = FALLBACK_PLAUSIBLE_KM
    fallback_unlikely_km: float = FALLBACK_UNLIKELY_KM
    uninformative_r90_km: float = UNINFORMATIVE_R90_KM
    uninformative_r50_km: float = UNINFORMATIVE_R50_KM


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


def verdict_rules(thresholds: VerdictThresholds = VerdictThresholds()) -> list[tuple[str, str]]:
    """(verdict, what it means) for every verdict, with the thresholds in force: the README's verdict table
    (for the defaults; a test compares them) and the report's "verdict rules in force"."""
    t = thresholds
    return [
        (INCONCLUSIVE, f"the model's 90 % region is wider than {t.uninformative_r90_km:,.0f} km or its 50 % region "
                       f"wider than {t.uninformative_r50_km:,.0f} km: it cannot say where the photo is, so the "
                       "distance is given and no verdict"),
        (CONSISTENT, f"EXIF GPS inside the model's 50 % region (no radius: within {t.fallback_consistent_km:,.0f} km)"
                     f", never beyond {AGREEMENT_CEILING_KM:,.0f} km"),
        (PLAUSIBLE, f"inside the 90 % region (no radius: within {t.fallback_plausible_km:,.0f} km), never beyond "
                    f"{AGREEMENT_CEILING_KM:,.0f} km"),
        (UNLIKELY, f"beyond the 90 % region, within {t.unlikely_factor:g}x its radius (no radius: within "
                   f"{t.fallback_unlikely_km:,.0f} km)"),
        (CONTRADICTS, "farther still"),
        ("cannot verify: no EXIF GPS / no model / prediction failed", "nothing to compare, and no point is invented"),
        (NOT_AN_IMAGE, "the bytes are a PDF, text, audio, ...: no pixels"),
        (TOO_LITTLE_IMAGE, "under 32 px on a side, or nearly uniform pixels: no prediction"),
    ]


def uninformative(prediction: Prediction, thresholds: VerdictThresholds = VerdictThresholds()) -> str | None:
    """Why a prediction says too little to verify anything against ("90 % region radius 16,842 km, wider than
    2,500 km"), or None when its regions are narrow enough (or it has none)."""
    r50, r90 = prediction.radius50_km, prediction.radius90_km
    kind = "" if getattr(prediction, "calibrated", True) else "uncalibrated "
    if r90 is not None and r90 > thresholds.uninformative_r90_km:
        return f"{kind}90 % region radius {r90:,.0f} km, wider than {thresholds.uninformative_r90_km:,.0f} km"
    if r50 is not None and r50 > thresholds.uninformative_r50_km:
        return f"{kind}50 % region radius {r50:,.0f} km, wider than {thresholds.uninformative_r50_km:,.0f} km"
    return None


def _match(a: str | None, b: str | None) -> bool | None:
    return None if a is None or b is None else a == b


def _analysed(medium: str) -> str:
    """The word for what the model looked at: a photo's reasons have always said "image"."""
    return "image" if medium == "photo" else medium


def verify(
    exif_point: tuple[float, float] | None,
    prediction: Prediction | None,
    exif_place: Place | None = None,
    predicted_place: Place | None = None,
    model_available: bool = True,
    thresholds: VerdictThresholds = VerdictThresholds(),
    subject: str = "EXIF GPS",
    witness: str = "the model",
    point: str = "the predicted location",
    point_country: str = "predicted",
    medium: str = "photo",
) -> Verification:
    """Compare EXIF GPS (or another claimed point, named by ``subject``) with a prediction (made by
    ``witness``: "the model", "the second witness (zero-shot)") and explain the verdict in one sentence.
    ``point`` and ``point_country`` name the compared point in that sentence: the analyst's own point
    (``case.analyst_point``) is verified by these same rules, as a point without regions. ``medium`` ("photo",
    "video", "keyframe") names what was analysed, so a video's reason does not call it a photo (#34)."""
    if prediction is None:
        verdict = NO_MODEL if not model_available else PREDICTION_FAILED
        reason = ("no location model is loaded, so the pixels were not analysed"
                  if not model_available else f"the model could not analyse this {_analysed(medium)}")
        return Verification(None, None, None, None, verdict, reason)
    if exif_point is None:
        return Verification(None, None, None, None, NO_GPS,
                            "the file carries no usable EXIF GPS to compare the prediction with" if medium == "photo"
                            else "the video's container carries no usable GPS to compare the prediction with")
    distance = geodesic_km(exif_point[0], exif_point[1], prediction.lat, prediction.lon)
    band = band_for(distance)
    country_match = _match(exif_place and exif_place.country_code, predicted_place and predicted_place.country_code)
    continent_match = _match(exif_place and exif_place.continent, predicted_place and predicted_place.continent)
    where = f"{subject} lies {distance:,.1f} km from {point} ({band} band)"
    too_wide = uninformative(prediction, thresholds)
    if too_wide is not None:
        return Verification(distance, band, country_match, continent_match, INCONCLUSIVE,
                            f"{witness} is too uncertain about this {medium} ({too_wide}); {where}, which neither "
                            "supports nor contradicts it")
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
    if distance <= limits[0]:
        verdict, why = CONSISTENT, f"within {scale[0]}"
    elif distance <= limits[1]:
        verdict, why = PLAUSIBLE, f"within {scale[1]}"
    elif distance <= limits[2]:
        verdict, why = UNLIKELY, f"beyond {scale[1]} but within {scale[2]}"
    else:
        verdict, why = CONTRADICTS, f"beyond {scale[2]}"
    if verdict in (CONSISTENT, PLAUSIBLE) and distance > AGREEMENT_CEILING_KM:
        verdict, why = UNLIKELY, (f"{why}, but beyond {AGREEMENT_CEILING_KM:,.0f} km (the continent band), where "
                                  "no verdict says the two agree")
    reason = f"{where}, {why}"
    if country_match is False and exif_place and predicted_place:
        label = "EXIF" if subject == "EXIF GPS" else "claimed"
        reason += f"; {label} country {exif_place.country} vs {point_country} {predicted_place.country}"
    return Verification(distance, band, country_match, continent_match, verdict, reason)
