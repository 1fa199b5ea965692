"""Constraints (#17): a prediction restricted to a country, an admin-1 region or a circle is renormalised
inside it; the mass inside before renormalising is measured; the constrained result never leaves it.
Candidates (#17): per-candidate 50 % / 90 % regions, places, and overlapping candidates merged."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from geoloc_core.case.candidates import (DUPLICATE_KM, candidate_rows, heat_points, kappa_from_radius,
                                         prediction_components, vmf_radius_km)
from geoloc_core.case.constraints import Constraint, ConstraintError, constrain, parse_constraint
from geoloc_core.case.findings import Finding
from geoloc_core.places.geodesy import haversine_km


def _mixture(components, kind="regressor") -> Finding:
    """A finding whose regressor stored these (lat, lon, weight, radius90_km) components."""
    items = [{"lat": lat, "lon": lon, "weight": w, "kappa": kappa_from_radius(r90, 0.9)}
             for lat, lon, w, r90 in components]
    best = max(items, key=lambda c: c["weight"])
    return Finding(file="x.jpg", pred_lat=best["lat"], pred_lon=best["lon"], pred_radius_km=1000.0,
                   pred_radius50_km=500.0, pred_candidates=json.dumps(items), pred_kind=kind)


def _cell_centres(cells):
    return [((s + n) / 2, (w + e) / 2) for s, w, n, e in cells]


# ---- the vMF cap radius and its inverse -----------------------------------------------------------------

@pytest.mark.parametrize("radius", [0.5, 12.0, 300.0, 4000.0])
@pytest.mark.parametrize("p", [0.5, 0.9])
def test_kappa_from_radius_inverts_the_exact_cap_radius(radius, p):
    assert vmf_radius_km(kappa_from_radius(radius, p), p) == pytest.approx(radius, rel=1e-6)


# ---- circle ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.5, 0.9])
def test_circle_at_the_mean_holds_exactly_the_caps_mass(geocoder, p):
    """One component (rebuilt from the 50 % radius, as a one-component regressor stores it): a circle of
    its exact p-radius around its mean holds p of the mass (Monte Carlo, within 4 standard errors)."""
    finding = Finding(file="x.jpg", pred_lat=48.85, pred_lon=2.35, pred_radius50_km=80.0, pred_radius_km=200.0,
                      pred_kind="regressor")
    kappa = prediction_components(finding)[0]["kappa"]
    circle = Constraint("circle", lat=48.85, lon=2.35, radius_km=vmf_radius_km(kappa, p))
    result = constrain(finding, circle, geocoder, samples=8000)
    assert abs(result.mass_inside - p) < 4 * result.mass_error + 1e-9, (result.mass_inside, result.mass_error)
    assert result.mass_error == pytest.approx(math.sqrt(p * (1 - p) / 8000), rel=0.2)
    assert sum(c.weight_after for c in result.candidates) == pytest.approx(1.0)
    assert haversine_km(48.85, 2.35, result.lat, result.lon) <= circle.radius_km
    for lat, lon in _cell_centres(result.cells90):
        assert haversine_km(48.85, 2.35, lat, lon) <= circle.radius_km
    assert "Constrained to within" in result.summary() and f"{100 * result.mass_inside:.1f} %" in result.summary()


def test_circle_around_one_component_renormalises_the_mixture_to_it(geocoder):
    """Paris 70 % and Madrid 30 %, each with a 90 % radius of 50 km: a 300 km circle at Madrid holds 30 %
    of the mass; after renormalising Madrid has all of it and the weights sum to 1."""
    finding = _mixture([(48.85, 2.35, 0.7, 50.0), (40.42, -3.70, 0.3, 50.0)])
    result = constrain(finding, Constraint("circle", lat=40.42, lon=-3.70, radius_km=300.0), geocoder)
    assert result.mass_inside == pytest.approx(0.3, abs=0.01)
    after = {c.rank: c.weight_after for c in result.candidates}
    assert after[1] == pytest.approx(0.0) and after[2] == pytest.approx(1.0)
    assert sum(after.values()) == pytest.approx(1.0)
    assert haversine_km(40.42, -3.70, result.lat, result.lon) < 100


def test_a_circle_outside_the_posterior_gives_no_point(geocoder):
    finding = _mixture([(48.85, 2.35, 0.7, 50.0), (40.42, -3.70, 0.3, 50.0)])
    result = constrain(finding, Constraint("circle", lat=-33.9, lon=151.2, radius_km=100.0), geocoder)
    assert result.mass_inside == 0.0 and result.empty and result.cells90 == []
    assert "no constrained point" in result.summary()


# ---- country and region ---------------------------------------------------------------------------------

def test_country_constraint_at_a_border_never_leaves_the_country(geocoder):
    """A component centred on Strasbourg with a 90 % radius of 120 km straddles France and Germany (and
    touches Switzerland); the German part: point and every region cell are in Germany, the masses inside
    France and Germany are each a real share and add up to at most 1."""
    finding = _mixture([(48.58, 7.75, 0.8, 120.0), (48.14, 11.58, 0.2, 30.0)])
    germany = constrain(finding, Constraint("country", country_code="DE"), geocoder)
    france = constrain(finding, Constraint("country", country_code="FR"), geocoder)
    assert 0.25 < germany.mass_inside < 0.9 and 0.1 < france.mass_inside < 0.75
    assert germany.mass_inside + france.mass_inside <= 1.0 + 4 * (germany.mass_error + france.mass_error)
    for result, code in ((germany, "DE"), (france, "FR")):
        assert sum(c.weight_after for c in result.candidates) == pytest.approx(1.0)
        assert geocoder.reverse(result.lat, result.lon).country_code == code
        assert result.cells50 and result.cells90 and len(result.cells50) <= len(result.cells90)
        lats, lons = zip(*_cell_centres(result.cells90))
        assert set(geocoder.countries(lats, lons)[0].tolist()) == {code}
    # Munich's component is wholly German: its share rises by renormalising, and is zero in France
    assert germany.candidates[1].inside_fraction == pytest.approx(1.0)
    assert france.candidates[1].weight_after == 0.0


def test_region_constraint_keeps_only_that_admin1_region(geocoder):
    """Karlsruhe (Baden-Wuerttemberg) near the Rhineland-Palatinate line, 90 % radius 60 km."""
    finding = _mixture([(49.01, 8.40, 1.0, 60.0)])
    result = constrain(finding, Constraint("region", country_code="DE", region="Baden-Wuerttemberg"), geocoder,
                       samples=3000)
    assert 0.2 < result.mass_inside < 0.95
    lats, lons = zip(*_cell_centres(result.cells90))
    assert {p.region for p in geocoder.reverse_many(lats, lons)} == {"Baden-Wuerttemberg"}
    assert geocoder.reverse(result.lat, result.lon).region == "Baden-Wuerttemberg"


def test_zero_shot_posterior_is_renormalised_over_its_places(geocoder):
    """Zero-shot candidates are places in a categorical posterior: those inside keep their ratios and
    sum to 1; for a country the mass inside is the predictor's own probability for it."""
    places = [{"lat": 50.45, "lon": 30.52, "weight": 0.40, "label": "Kyiv City, Ukraine"},
              {"lat": 52.23, "lon": 21.01, "weight": 0.30, "label": "Masovia, Poland"},
              {"lat": 49.84, "lon": 24.03, "weight": 0.20, "label": "Lviv, Ukraine"}]
    finding = Finding(file="x.jpg", pred_lat=50.45, pred_lon=30.52, pred_radius_km=900.0, pred_kind="zero-shot",
                      pred_candidates=json.dumps(places),
                      pred_country_probs=json.dumps([{"country_code": "UA", "country": "Ukraine", "p": 0.62},
                                                     {"country_code": "PL", "country": "Poland", "p": 0.33}]))
    result = constrain(finding, Constraint("country", country_code="PL"), geocoder)
    assert result.mass_inside == pytest.approx(0.33) and "own probability" in result.method
    assert [c.weight_after for c in result.candidates] == pytest.approx([0.0, 1.0, 0.0])
    assert (result.lat, result.lon) == (52.23, 21.01)
    circle = constrain(finding, Constraint("circle", lat=50.0, lon=27.0, radius_km=400.0), geocoder)
    assert circle.mass_inside == pytest.approx(0.6)
    assert [c.weight_after for c in circle.candidates] == pytest.approx([2 / 3, 0.0, 1 / 3])


def test_no_prediction_cannot_be_constrained(geocoder):
    with pytest.raises(ConstraintError, match="no prediction"):
        constrain(Finding(file="x.jpg"), Constraint("country", country_code="UA"), geocoder)


@pytest.mark.parametrize("text, expected", [
    ("country:ua", Constraint("country", country_code="UA")),
    ("region:DE:Bavaria", Constraint("region", country_code="DE", region="Bavaria")),
    ("circle:50.45,30.52,25", Constraint("circle", lat=50.45, lon=30.52, radius_km=25.0)),
])
def test_parse_constraint(text, expected):
    assert parse_constraint(text) == expected


@pytest.mark.parametrize("text, message", [
    ("circle:1,2", "circle:LAT,LON,KM"), ("circle:91,0,5", "latitude"), ("circle:1,2,-3", "more than 0"),
    ("country:", "needs a country"), ("region:DE", "region's name"), ("planet:earth", "use country"),
])
def test_bad_constraints_say_what_is_wrong(text, message):
    with pytest.raises(ConstraintError, match=message):
        parse_constraint(text)


# ---- candidates: regions, places, duplicates, heat -------------------------------------------------------

def test_candidate_rows_have_exact_regions_places_and_merge_overlaps(geocoder):
    """Two components 40 km apart with 50 % radii of ~30 km overlap: the second is marked a duplicate of
    the first and the group's probability is their sum; a component in Madrid stays its own."""
    finding = _mixture([(48.85, 2.35, 0.5, 60.0), (48.60, 2.70, 0.3, 60.0), (40.42, -3.70, 0.2, 60.0)])
    rows = candidate_rows(finding, geocoder)
    assert [r.rank for r in rows] == [1, 2, 3]
    assert rows[0].radius90_km == pytest.approx(60.0, rel=1e-6) and rows[0].radius50_km < rows[0].radius90_km
    assert [r.country_code for r in rows] == ["FR", "FR", "ES"]
    assert rows[0].region == "Ile-de-France" and "Paris" in rows[0].nearest_place
    assert rows[1].duplicate_of == 1 and rows[1].merged and rows[2].duplicate_of is None
    assert rows[0].group_probability == pytest.approx(0.8)


def test_candidates_without_radii_merge_only_when_they_are_the_same_place(geocoder):
    places = [{"lat": 50.45, "lon": 30.52, "weight": 0.4, "label": "Kyiv"},
              {"lat": 50.45 + 0.1, "lon": 30.52, "weight": 0.3, "label": "Kyiv Oblast"},
              {"lat": 49.84, "lon": 24.03, "weight": 0.2, "label": "Lviv"}]
    finding = Finding(file="x.jpg", pred_lat=50.45, pred_lon=30.52, pred_kind="zero-shot",
                      pred_candidates=json.dumps(places))
    rows = candidate_rows(finding, geocoder)
    assert haversine_km(50.45, 30.52, 50.55, 30.52) < DUPLICATE_KM
    assert [r.duplicate_of for r in rows] == [None, 1, None]
    assert [r.credible_set for r in rows] == ["50 %", "50 %", "90 %"]  # smallest sets holding 50 % / 90 %
    assert rows[0].radius50_km is None and rows[0].label == "Kyiv"


def test_malformed_candidate_json_is_skipped_not_a_crash(geocoder):
    finding = Finding(file="x.jpg", pred_lat=1.0, pred_lon=1.0,
                      pred_candidates='[{"lat": "x"}, {"lat": 95, "lon": 0, "weight": 1}, 3, '
                                      '{"lat": 1, "lon": 2, "weight": 0.5, "kappa": "nan"}]')
    rows = candidate_rows(finding, geocoder)
    assert len(rows) == 1 and rows[0].kappa is None
    assert candidate_rows(Finding(file="y.jpg", pred_candidates="{not json"), geocoder) == []


def test_heat_points_follow_the_mixture_weights():
    finding = _mixture([(48.85, 2.35, 0.75, 50.0), (40.42, -3.70, 0.25, 50.0)])
    points = np.array(heat_points(prediction_components(finding), count=4000))
    near_paris = (haversine_km(48.85, 2.35, points[:, 0], points[:, 1]) < 200).mean()
    assert near_paris == pytest.approx(0.75, abs=0.03)
    assert heat_points(prediction_components(finding)[:1]) == []  # one component: no mixture to show


def test_the_regressor_stores_each_components_concentration(tiny_model_dir, worker, geocoder):
    """End to end with the tiny 3-component model: every stored candidate carries its kappa, so the card
    and the map can draw each component's own exact 50 % / 90 % regions."""
    from geoloc_core.case.analyzer import Analyzer
    from geoloc_core.evidence.sources import FileSource
    from geoloc_core.model.inference import load_predictor
    from tests.imagegen import image_bytes

    analyzer = Analyzer(geocoder=geocoder, predictor=load_predictor(str(tiny_model_dir)), worker=worker)
    finding = analyzer.analyze(FileSource("a.jpg", data=image_bytes(size=(64, 64))))
    stored = json.loads(finding.pred_candidates)
    assert len(stored) == 3 and all(c["kappa"] > 0 for c in stored)
    rows = candidate_rows(finding, geocoder)
    assert all(r.radius50_km < r.radius90_km for r in rows)


# ---- scan --constrain ------------------------------------------------------------------------------------

def test_scan_constrain_adds_the_constraint_columns(tiny_model_dir, tmp_path):
    """The tiny model's prediction constrained to a 20,000 km circle (the whole Earth but the far cap around
    the antipode): nearly all of the mass is inside, a constrained point is given; the verdict is the model's."""
    import csv

    from tests.imagegen import gps_exif, image_bytes
    from tests.test_cli import _scan

    photo = tmp_path / "a.jpg"
    photo.write_bytes(image_bytes(size=(64, 48), exif=gps_exif(50.45, 30.52)))
    out = tmp_path / "f.csv"
    result = _scan(str(photo), "--model", str(tiny_model_dir), "--constrain", "circle:50.45,30.52,20000",
                   "--out", str(out), "--no-progress")
    assert result.returncode == 0, result.stderr
    row = next(csv.DictReader(out.open(encoding="utf-8")))
    assert row["constraint"] == "within 20,000.0 km of 50.45000, 30.52000"
    assert float(row["constraint_mass_inside"]) > 0.99
    assert -90 <= float(row["constrained_lat"]) <= 90 and row["verdict"]
    bad = _scan(str(photo), "--constrain", "circle:1,2", "--out", str(tmp_path / "g.csv"), "--no-progress")
    assert bad.returncode == 2 and "--constrain: cannot read" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("code, region, box", [
    ("DE", "Baden-Wuerttemberg", (44.0, 55.0, 0.0, 20.0)),
    ("RU", "Krasnoyarskiy", (50.0, 78.0, 80.0, 115.0)),  # a large region with few places far in the north
])
def test_region_test_is_exactly_the_geocoders_region(geocoder, code, region, box):
    """Inside the region means: the geocoder gives that country and that admin-1 name (3,000 points; an
    earlier pre-filter by a box round the region's places dropped 1,032 of these Siberian points)."""
    rng = np.random.default_rng(3)
    lats, lons = rng.uniform(box[0], box[1], 3000), rng.uniform(box[2], box[3], 3000)
    constraint = Constraint("region", country_code=code, region=region)
    expected = [p.country_code == code and p.region == region for p in geocoder.reverse_many(lats, lons)]
    assert constraint.contains(lats, lons, geocoder).tolist() == expected
    assert 50 < sum(expected) < 2900
