"""Verdicts as an analyst reads them: the limits on both sides of each bound, and the sentence that explains them.

Written from the analyst's side (a claimed place, a model pointing somewhere else) so that each rule in
``case/verification.py`` that decides a verdict fails a test when it changes; ``make mutation`` measures it.
"""
from __future__ import annotations

import pytest

from geoloc_core.case.verification import (CONSISTENT, CONTRADICTS, NO_GPS, NO_MODEL, PLAUSIBLE, PREDICTION_FAILED,
                                           UNLIKELY, VerdictThresholds, verify)
from geoloc_core.model.prediction import Prediction
from geoloc_core.places.geocoding import Place
from geoloc_core.places.geodesy import geodesic_km

PARIS, LONDON = (48.8566, 2.3522), (51.5074, -0.1278)
# Points whose WGS-84 geodesic distance from PARIS is *exactly* 750.0 km and 2500.0 km in floating point
# (found once by bisecting geopy's destination along a bearing, 90 deg and 0 deg; checked in each test).
EXACTLY_750_KM_EAST = (48.40613531571269, 12.512086731770257)
EXACTLY_2500_KM_NORTH = (71.2969394071836, 2.3522)
FRANCE = Place("France", "FR", "Europe", "Paris, Ile-de-France, FR", 1.0)
UK = Place("United Kingdom", "GB", "Europe", "London, England, GB", 1.0)
AT_SEA = Place(None, None, None, "Brest, Brittany, FR", 180.0, at_sea=True, note="open water")


def test_points_at_exactly_750_and_2500_km_are_on_the_inclusive_side():
    assert geodesic_km(*PARIS, *EXACTLY_750_KM_EAST) == 750.0
    assert geodesic_km(*PARIS, *EXACTLY_2500_KM_NORTH) == 2500.0
    at_750 = verify(PARIS, Prediction(*EXACTLY_750_KM_EAST))
    assert (at_750.verdict, at_750.band) == (PLAUSIBLE, "country")
    assert at_750.reason == "EXIF GPS lies 750.0 km from the predicted location (country band), within 750 km"
    at_2500 = verify(PARIS, Prediction(*EXACTLY_2500_KM_NORTH))
    assert (at_2500.verdict, at_2500.band) == (UNLIKELY, "continent")
    assert at_2500.reason.endswith("beyond 750 km but within 2,500 km")


@pytest.mark.parametrize("km,verdict,why", [
    (24.9, CONSISTENT, "within 25 km"), (25.1, PLAUSIBLE, "within 750 km"),
    (749.0, PLAUSIBLE, "within 750 km"), (751.0, UNLIKELY, "beyond 750 km but within 2,500 km"),
    (2499.0, UNLIKELY, "beyond 750 km but within 2,500 km"), (2501.0, CONTRADICTS, "beyond 2,500 km")])
def test_fallback_limits_25_750_2500_km_without_model_radii(km, verdict, why):
    from geopy.distance import geodesic

    target = geodesic(kilometers=km).destination(PARIS, 90.0)
    result = verify(PARIS, Prediction(target.latitude, target.longitude))
    assert result.verdict == verdict
    assert result.reason.endswith(why)


def test_the_models_regions_bound_each_verdict_inclusively():
    d = geodesic_km(*PARIS, *LONDON)  # 343.9 km
    consistent = verify(PARIS, Prediction(*LONDON, radius50_km=d, radius90_km=2 * d))
    assert consistent.verdict == CONSISTENT
    assert consistent.reason.endswith(f"within the model's 50 % region ({d:,.0f} km)")
    plausible = verify(PARIS, Prediction(*LONDON, radius50_km=d / 2, radius90_km=d))
    assert plausible.verdict == PLAUSIBLE and plausible.reason.endswith(f"within its 90 % region ({d:,.0f} km)")
    unlikely = verify(PARIS, Prediction(*LONDON, radius50_km=d / 4, radius90_km=d / 2))
    assert unlikely.verdict == UNLIKELY
    assert unlikely.reason.endswith(f"beyond its 90 % region ({d / 2:,.0f} km) but within 2x its 90 % radius "
                                    f"({d:,.0f} km)")


def test_unlikely_reaches_exactly_twice_the_90_percent_radius_and_no_further():
    d = geodesic_km(*PARIS, *LONDON)
    assert verify(PARIS, Prediction(*LONDON, radius50_km=d / 4, radius90_km=d / 1.99)).verdict == UNLIKELY
    beyond = verify(PARIS, Prediction(*LONDON, radius50_km=d / 4, radius90_km=d / 2.01))
    assert beyond.verdict == CONTRADICTS
    assert beyond.reason.endswith(f"beyond 2x its 90 % radius ({2 * d / 2.01:,.0f} km)")
    wider = verify(PARIS, Prediction(*LONDON, radius50_km=d / 4, radius90_km=d / 2.5),
                   thresholds=VerdictThresholds(unlikely_factor=3.0))
    assert wider.verdict == UNLIKELY and "within 3x its 90 % radius" in wider.reason


def test_a_prediction_with_only_a_50_percent_radius_is_judged_by_the_bands():
    result = verify(PARIS, Prediction(*LONDON, radius50_km=10.0))
    assert result.verdict == PLAUSIBLE and result.reason.endswith("within 750 km")


def test_reason_on_a_country_match_states_no_mismatch():
    result = verify(PARIS, Prediction(48.9, 2.4), FRANCE, FRANCE)
    assert result.country_match is True and result.continent_match is True
    assert "EXIF country" not in result.reason and " vs " not in result.reason
    assert result.reason.startswith("EXIF GPS lies ")


def test_reason_on_a_country_mismatch_keeps_the_distance_sentence():
    result = verify(PARIS, Prediction(*LONDON), FRANCE, UK)
    assert result.reason.startswith("EXIF GPS lies 343.")
    assert result.reason.endswith("within 750 km; EXIF country France vs predicted United Kingdom")


@pytest.mark.parametrize("exif_place,predicted_place", [(FRANCE, None), (None, UK), (AT_SEA, UK), (FRANCE, AT_SEA)])
def test_with_only_one_place_known_the_verdict_is_given_without_a_country_claim(exif_place, predicted_place):
    result = verify(PARIS, Prediction(*LONDON), exif_place, predicted_place)
    assert result.verdict == PLAUSIBLE
    assert result.country_match is None and result.continent_match is None
    assert "EXIF country" not in result.reason


def test_cannot_verify_reasons_say_why():
    default = verify(PARIS, None)  # a model was loaded but failed on this image
    assert default.verdict == PREDICTION_FAILED
    assert default.reason == "the model could not analyse this image"
    no_model = verify(PARIS, None, model_available=False)
    assert no_model.reason == "no location model is loaded, so the pixels were not analysed"
    assert (no_model.band, no_model.country_match, no_model.continent_match) == (None, None, None)
    no_gps = verify(None, Prediction(*LONDON), FRANCE, UK)
    assert no_gps.verdict == NO_GPS and no_gps.band is None and no_gps.country_match is None
    assert no_gps.reason == "the file carries no usable EXIF GPS to compare the prediction with"
    assert NO_MODEL != PREDICTION_FAILED
