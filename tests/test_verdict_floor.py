"""Issue #28: a model too uncertain to say where a photo is never gets "consistent" or "plausible".

The cases named in the issue, seen on the old code: ``gibraltar.jpg`` "consistent" at 8,599 km and
``el_paso.jpg`` at 8,726 km (regions wider than the distance), a 12 MP photo "consistent" at 4,342
km, ``basel_claims_kyiv.jpg`` "plausible" because its 90 % region was 16,842 km wide.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from geoloc_core.case.banner import compose_banner
from geoloc_core.case.findings import Finding
from geoloc_core.case.verification import (AGREEMENT_CEILING_KM, CONSISTENT, INCONCLUSIVE, PLAUSIBLE, UNLIKELY,
                                           VerdictThresholds, verdict_rules, verify)
from geoloc_core.model.prediction import Prediction
from geoloc_core.places.geodesy import geodesic_km

README = Path(__file__).resolve().parents[1] / "README.md"
BASEL, KYIV = (47.5596, 7.5886), (50.4501, 30.5234)
GIBRALTAR, EL_PASO = (36.1408, -5.3536), (31.7619, -106.4850)


def _destination(origin, km, bearing=90.0):
    from geopy.distance import geodesic

    point = geodesic(kilometers=km).destination(origin, bearing)
    return point.latitude, point.longitude


@pytest.mark.parametrize("exif, km, r50, r90", [
    (GIBRALTAR, 8599.0, 9000.0, 15000.0),  # "consistent" at 8,599 km before
    (EL_PASO, 8726.0, 9500.0, 16000.0),
    (BASEL, 4342.0, 4500.0, 9000.0),  # the 12 MP photo's banner: "location consistent ... 4,342 km"
])
def test_wide_regions_give_inconclusive_not_consistent(exif, km, r50, r90):
    predicted = _destination(exif, km)
    result = verify(exif, Prediction(*predicted, radius50_km=r50, radius90_km=r90))
    assert result.verdict == INCONCLUSIVE
    assert result.reason.startswith(f"the model is too uncertain about this photo (90 % region radius {r90:,.0f} km")
    assert f"{km:,.0f}" in f"{result.distance_km:,.0f}"  # the distance is still given


def test_basel_claiming_kyiv_is_not_plausible_with_a_16842_km_region():
    result = verify(BASEL, Prediction(*KYIV, radius50_km=6000.0, radius90_km=16842.0), subject="the claimed place")
    assert result.verdict == INCONCLUSIVE
    assert "16,842 km" in result.reason and "the claimed place lies" in result.reason


def test_a_wide_50_percent_region_alone_is_inconclusive():
    result = verify(BASEL, Prediction(*BASEL, radius50_km=900.0, radius90_km=2000.0))
    assert result.verdict == INCONCLUSIVE and "50 % region radius 900 km, wider than 750 km" in result.reason


def test_the_reason_names_the_uninformative_witness():
    result = verify(BASEL, Prediction(*KYIV, radius50_km=3000.0, radius90_km=9000.0),
                    witness="the second witness (zero-shot)")
    assert result.reason.startswith("the second witness (zero-shot) is too uncertain about this photo")


def test_narrow_regions_still_give_verdicts():
    near = _destination(BASEL, 300.0)
    assert verify(BASEL, Prediction(*near, radius50_km=400.0, radius90_km=900.0)).verdict == CONSISTENT
    assert verify(BASEL, Prediction(*near, radius50_km=100.0, radius90_km=2400.0)).verdict == PLAUSIBLE


@settings(max_examples=400, deadline=None)
@given(distance=st.floats(0.0, 19_000.0), r50=st.one_of(st.none(), st.floats(0.1, 20_000.0)),
       spread=st.floats(1.0, 10.0), factor=st.floats(1.0, 5.0), fallback=st.floats(1.0, 20_000.0),
       wide=st.floats(1.0, 20_000.0), bearing=st.floats(0.0, 359.0))
def test_no_agreement_beyond_the_continent_band_for_any_radii_or_thresholds(distance, r50, spread, factor, fallback,
                                                                             wide, bearing):
    """Whatever the radii and whatever an analyst sets in the sidebar, "consistent"/"plausible" stop at 2,500 km."""
    thresholds = VerdictThresholds(factor, fallback, fallback * 1.5, fallback * 2, wide * spread, wide)
    predicted = _destination(BASEL, distance, bearing)
    prediction = Prediction(*predicted, radius50_km=r50, radius90_km=None if r50 is None else r50 * spread)
    result = verify(BASEL, prediction, thresholds=thresholds)
    if result.verdict in (CONSISTENT, PLAUSIBLE):
        assert result.distance_km <= AGREEMENT_CEILING_KM
    if r50 is not None and r50 > wide:
        assert result.verdict == INCONCLUSIVE


def test_beyond_the_ceiling_is_unlikely_at_best_with_permissive_thresholds():
    loose = VerdictThresholds(fallback_consistent_km=5000.0, fallback_plausible_km=9000.0, fallback_unlikely_km=12000.0,
                              uninformative_r90_km=20000.0, uninformative_r50_km=20000.0)
    far = _destination(BASEL, 4000.0)
    assert verify(BASEL, Prediction(*far), thresholds=loose).verdict == UNLIKELY
    result = verify(BASEL, Prediction(*far, radius50_km=5000.0, radius90_km=9000.0), thresholds=loose)
    assert result.verdict == UNLIKELY and "no verdict says the two agree" in result.reason


def _readme_verdict_table() -> list[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Verdicts"):]
    table = section[section.index("| verdict | meaning |"):]
    rows = []
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append(tuple(cell.strip() for cell in line.strip("|").split("|")))
    return rows


def test_readme_verdict_table_is_the_codes_rules():
    assert _readme_verdict_table() == verdict_rules()


def test_readme_worked_example_is_what_the_banner_says():
    """The README's inconclusive photo, computed: its quoted banner and reason are the code's output."""
    text = README.read_text(encoding="utf-8")
    quoted = " ".join(re.search(r"\n> (location inconclusive:.*?)\n\n", text, re.S).group(1).split("\n> "))
    prediction = Prediction(15.0, -19.0, radius50_km=2900.0, radius90_km=7400.0)
    result = verify(GIBRALTAR, prediction)
    finding = Finding(file="beach.jpg", verdict=result.verdict, verdict_reason=result.reason,
                      distance_km=result.distance_km)
    assert compose_banner(finding).text == quoted
    assert result.reason.endswith(text[text.index('full reason goes on "') + 21:].split('"')[0].replace("\n", " "))
    # under the radii alone it would have been "consistent" (the defect)
    assert result.distance_km < prediction.radius50_km
