from __future__ import annotations

import pytest

from geoloc_core.places.geocoding import Place
from geoloc_core.model.prediction import Prediction
from geoloc_core.case.verification import (BANDS_KM, CONSISTENT, CONTRADICTS, NO_GPS, NO_MODEL, PLAUSIBLE,
                                      PREDICTION_FAILED, UNLIKELY, band_for, verify)

PARIS, LONDON = (48.8566, 2.3522), (51.5074, -0.1278)  # 343.5 km apart (WGS-84 geodesic)


@pytest.mark.parametrize("km,band", [(0.5, "street"), (1.0, "street"), (1.01, "city"), (25, "city"), (199, "region"),
                                     (750, "country"), (2500, "continent"), (2500.1, "beyond continent")])
def test_bands_are_inclusive(km, band):
    assert band_for(km) == band
    assert [name for name, _ in BANDS_KM] == ["street", "city", "region", "country", "continent"]


def test_distance_is_geodesic_paris_london():
    result = verify(PARIS, Prediction(*LONDON))
    assert result.distance_km == pytest.approx(343.9, abs=1.0)
    assert result.band == "country"


@pytest.mark.parametrize("r50,r90,verdict", [(400, 900, CONSISTENT), (100, 400, PLAUSIBLE), (50, 200, UNLIKELY),
                                             (20, 100, CONTRADICTS)])
def test_verdict_uses_the_models_regions(r50, r90, verdict):
    result = verify(PARIS, Prediction(*LONDON, radius50_km=r50, radius90_km=r90))
    assert result.verdict == verdict
    assert f"{result.distance_km:,.1f} km" in result.reason


@pytest.mark.parametrize("pred,verdict", [((48.9, 2.4), CONSISTENT), (LONDON, PLAUSIBLE), ((41.0, 29.0), UNLIKELY),
                                          ((40.7, -74.0), CONTRADICTS)])
def test_verdict_without_radii_uses_bands(pred, verdict):
    assert verify(PARIS, Prediction(*pred)).verdict == verdict


def test_cannot_verify_cases_never_invent_a_point():
    no_model = verify(PARIS, None, model_available=False)
    assert no_model.verdict == NO_MODEL and no_model.distance_km is None
    assert verify(PARIS, None, model_available=True).verdict == PREDICTION_FAILED
    no_gps = verify(None, Prediction(*LONDON))
    assert no_gps.verdict == NO_GPS and no_gps.distance_km is None


def test_country_and_continent_match_in_reason():
    fr = Place("France", "FR", "Europe", "Paris", 1.0)
    gb = Place("United Kingdom", "GB", "Europe", "London", 1.0)
    result = verify(PARIS, Prediction(*LONDON), fr, gb)
    assert result.country_match is False and result.continent_match is True
    assert "EXIF country France vs predicted United Kingdom" in result.reason
