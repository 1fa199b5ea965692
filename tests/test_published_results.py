"""The published comparison table and the metrics behind our own row.

The published numbers are pinned cell by cell: a changed or rounded figure, a row moved to another data set
or a gap filled by estimate fails here. ``training.evaluate --dataset`` is run end to end with a peer's
prediction CSV, so the table an analyst or a reviewer reads is the one tested.
"""
from __future__ import annotations

import json
import math

import pytest

from geoloc_core.learning.metrics import (GEOSCORE_SCALE_KM, NOT_PUBLISHED, REFERENCE_MODELS, REFERENCE_RESULTS,
                                          REFERENCE_SOURCES, compute_metrics, distances_km, reference_rows)

# The full table, % within 1 / 25 / 200 / 750 / 2500 km, exactly as the sources print it ("–": none published).
EXPECTED = {
    "gws15k": [
        ("StreetCLIP", "–", "–", "–", "–", "–"),
        ("TransLocator", "–", "–", "–", "–", "–"),
        ("GeoDecoder", "0.7", "1.5", "8.7", "26.9", "50.5"),
        ("GeoCLIP", "0.6", "3.1", "16.9", "45.7", "74.1"),
        ("thesis (regression)", "0.0", "0.59", "13.49", "46.14", "81.87"),
    ],
    "im2gps3k": [
        ("StreetCLIP", "–", "22.4", "37.4", "61.3", "80.4"),
        ("TransLocator", "11.8", "31.1", "46.7", "58.9", "80.1"),
        ("GeoDecoder", "12.8", "33.5", "45.9", "61.0", "76.1"),
        ("GeoCLIP", "14.11", "34.47", "50.65", "69.67", "83.82"),
        ("thesis (regression)", "0.0", "3.44", "32.43", "68.03", "84.95"),
    ],
    "im2gps": [
        ("StreetCLIP", "–", "28.3", "45.1", "74.7", "88.2"),
        ("TransLocator", "–", "48.1", "64.6", "75.6", "86.7"),
        ("GeoDecoder", "–", "–", "–", "–", "–"),
        ("GeoCLIP", "–", "–", "–", "–", "–"),
        ("thesis (regression)", "0.0", "6.33", "37.97", "75.11", "93.67"),
    ],
}


def test_the_full_published_table_is_pinned_cell_by_cell():
    assert set(REFERENCE_RESULTS) == set(EXPECTED)
    for dataset, rows in EXPECTED.items():
        assert [(m, *v) for m, v in REFERENCE_RESULTS[dataset].items()] == rows, dataset
    assert NOT_PUBLISHED == "–"
    assert REFERENCE_MODELS == ("StreetCLIP", "TransLocator", "GeoDecoder", "GeoCLIP", "thesis (regression)")
    assert set(REFERENCE_SOURCES) == set(REFERENCE_MODELS) and all(REFERENCE_SOURCES.values())


def test_published_cells_are_percentages_that_grow_with_the_distance():
    for dataset in EXPECTED:
        for model, values in reference_rows(dataset).items():
            known = [v for v in values if v is not None]
            assert all(0.0 <= v <= 100.0 for v in known), (dataset, model)
            assert known == sorted(known), (dataset, model)


def test_reference_rows_as_numbers_keep_the_gaps():
    rows = reference_rows("IM2GPS3K")  # names are case-insensitive, as typed on the command line
    assert rows["StreetCLIP"] == (None, 22.4, 37.4, 61.3, 80.4)
    assert rows["thesis (regression)"] == (0.0, 3.44, 32.43, 68.03, 84.95)
    assert reference_rows("yfcc4k") == {} and reference_rows(None) == {}


def _write_test_set(tmp_path):
    """Three images with known truth and a peer's predictions 0, 110.6 and 1,105.9 km away (geodesic):
    mean 405.5 km, GeoScore (5000 + 4643 + 2384) / 3 = 4,009."""
    images = tmp_path / "images"
    images.mkdir()
    (tmp_path / "test.csv").write_text("IMG_ID,LAT,LON\na.jpg,0,0\nb.jpg,0,0\nc.jpg,0,0\n", encoding="utf-8")
    (tmp_path / "peer.csv").write_text("file,pred_lat,pred_lon\na.jpg,0,0\nb.jpg,1,0\nc.jpg,10,0\n", encoding="utf-8")
    return images


@pytest.mark.parametrize("dataset", ["gws15k", "im2gps3k", "im2gps"])
def test_evaluate_with_dataset_prints_every_published_row(tmp_path, capsys, dataset):
    from training import evaluate

    images = _write_test_set(tmp_path)
    out_md = tmp_path / "table.md"
    code = evaluate.main(["--predictions", str(tmp_path / "peer.csv"), "--csv", str(tmp_path / "test.csv"),
                          "--images", str(images), "--dataset", dataset, "--name", "peer",
                          "--markdown", str(out_md)])
    assert code == 0
    table = capsys.readouterr().out
    assert out_md.read_text(encoding="utf-8") == table
    lines = table.splitlines()
    assert lines[2] == "| peer | 33.33 | 33.33 | 66.67 | 66.67 | 100.00 | 110.6 | 405.5 | 4,009 | n/a | n/a |"
    for model, *values in EXPECTED[dataset]:
        assert f"| {model} (published) | {' | '.join(values)} | | | | | |" in lines
    assert len(lines[0].split("|")) == len(lines[3].split("|"))  # published rows have every column
    assert "(–: no figure published)" in table and REFERENCE_SOURCES["GeoCLIP"] in table


def test_evaluate_refuses_an_unknown_dataset_name(tmp_path, capsys):
    from training import evaluate

    images = _write_test_set(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        evaluate.main(["--predictions", str(tmp_path / "peer.csv"), "--csv", str(tmp_path / "test.csv"),
                       "--images", str(images), "--dataset", "imgps3k"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'imgps3k'" in capsys.readouterr().err


def test_table_without_a_dataset_has_only_our_row():
    metrics = compute_metrics([0, 0], [0, 0], [0, 3], [0, 0])
    table = metrics.to_markdown()
    assert table.splitlines()[2].startswith("| geoloc | 50.00 | 50.00 | 50.00 | 100.00 | 100.00 |")
    assert "(published)" not in table and "Published rows" not in table
    assert table.endswith("2 images; % within each distance. Distance: WGS-84 geodesic distance (Karney's algorithm, "
                          "as geopy computes it), within threshold means d <= t (GeoCLIP's convention).")


def test_metric_values_on_a_hand_computed_case():
    # errors 0 km, 1 degree and 10 degrees of latitude along the meridian (geodesic 110.57 and 1105.85 km)
    m = compute_metrics([0, 0, 0], [0, 0, 0], [0, 1, 10], [0, 0, 0], radius90_km=[0.5, 110.0, 2000.0])
    d = distances_km([0, 0, 0], [0, 0, 0], [0, 1, 10], [0, 0, 0])
    assert d[1] == pytest.approx(110.574, abs=1e-3) and d[2] == pytest.approx(1105.855, abs=1e-3)
    assert m.n == 3 and m.convention == "geodesic"
    assert m.within_pct == pytest.approx({"street": 100 / 3, "city": 100 / 3, "region": 200 / 3,
                                          "country": 200 / 3, "continent": 100.0})
    assert m.median_km == pytest.approx(d[1]) and m.mean_km == pytest.approx(d.sum() / 3)
    assert m.geoscore == pytest.approx(sum(5000 * math.exp(-x / 1492.7) for x in d) / 3)
    assert GEOSCORE_SCALE_KM == 1492.7
    assert m.coverage90_pct == pytest.approx(200 / 3)  # 0 <= 0.5 and 1105.9 <= 2000; 110.6 > 110
    data = json.loads(m.to_json())
    assert data["n"] == 3 and data["coverage90_pct"] == pytest.approx(200 / 3)
    assert data["convention_text"].startswith("WGS-84 geodesic distance (Karney's algorithm, as geopy computes it)")


def test_haversine_convention_matches_the_textbook_formula():
    d = distances_km([40.7128], [-74.0060], [51.5074], [-0.1278], "haversine")[0]
    p1, p2 = math.radians(40.7128), math.radians(51.5074)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(-0.1278 + 74.0060) / 2) ** 2
    assert d == pytest.approx(2 * 6371.0 * math.asin(math.sqrt(a)), rel=1e-12)
    m = compute_metrics([0], [0], [0], [10], convention="haversine")
    assert m.convention == "haversine" and "R = 6371 km" in m.to_markdown()


def test_bad_inputs_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="^no predictions to evaluate$"):
        compute_metrics([], [], [], [])
    with pytest.raises(ValueError, match=r"^unknown convention 'vincenty'; choose geodesic, haversine$"):
        distances_km([0], [0], [0], [0], "vincenty")


def test_coverage_counts_a_point_on_the_circle_as_inside():
    d = distances_km([0], [0], [1], [0])[0]
    assert compute_metrics([0], [0], [1], [0], radius90_km=[d]).coverage90_pct == 100.0
    assert compute_metrics([0], [0], [1], [0], radius90_km=[d * 0.999]).coverage90_pct == 0.0
    assert compute_metrics([0], [0], [1], [0]).coverage90_pct is None


def test_markdown_table_layout_and_coverage_cell():
    m = compute_metrics([0, 0], [0, 0], [0, 1], [0, 0], radius90_km=[1, 100])
    lines = m.to_markdown("ours", "IM2GPS3K").splitlines()  # the data set name is case-insensitive
    assert lines[0] == ("| model | street 1 km | city 25 km | region 200 km | country 750 km | continent 2500 km | "
                        "median km | mean km | GeoScore | 50 % coverage | 90 % coverage |")
    assert lines[1] == "|---|---|---|---|---|---|---|---|---|---|---|"
    assert lines[2] == "| ours | 50.00 | 50.00 | 100.00 | 100.00 | 100.00 | 55.3 | 55.3 | 4,822 | n/a | 50.00 % |"  # (5000 + 4643) / 2
    assert lines[3].startswith("| StreetCLIP (published) | – | 22.4 |") and len(lines) >= 8


# Points whose WGS-84 geodesic distance from Paris is exactly 750.0 and 2500.0 km in floating point (found once by
# bisecting geopy's destination; the test checks the distance first).
PARIS = (48.8566, 2.3522)
EXACTLY_750_KM_EAST = (48.40613531571269, 12.512086731770257)
EXACTLY_2500_KM_NORTH = (71.2969394071836, 2.3522)


def test_geodesic_thresholds_count_a_point_exactly_at_the_limit():
    true_lat, true_lon = [PARIS[0]] * 2, [PARIS[1]] * 2
    pred = [EXACTLY_750_KM_EAST, EXACTLY_2500_KM_NORTH]
    assert list(distances_km(true_lat, true_lon, [p[0] for p in pred], [p[1] for p in pred])) == [750.0, 2500.0]
    m = compute_metrics(true_lat, true_lon, [p[0] for p in pred], [p[1] for p in pred])
    assert m.within_pct == {"street": 0.0, "city": 0.0, "region": 0.0, "country": 50.0, "continent": 100.0}


def test_antipodal_points_are_half_the_circumference_not_nan():
    # rounding makes the haversine term 1.0000000000000002 here (one ulp above 1): still no NaN
    d = distances_km([27.0827], [33.1702], [-27.0827], [-146.8298], "haversine")[0]
    assert d == pytest.approx(math.pi * 6371.0, rel=1e-12)


def test_coordinates_as_text_from_a_csv_give_the_same_distances():
    for convention in ("geodesic", "haversine"):
        as_text = distances_km(["48.8566"], ["2.3522"], ["51.5074"], ["-0.1278"], convention)
        as_numbers = distances_km([48.8566], [2.3522], [51.5074], [-0.1278], convention)
        assert as_text[0] == pytest.approx(as_numbers[0], rel=1e-12), convention


def test_an_image_without_a_radius_counts_as_not_covered():
    m = compute_metrics([0, 0], [0, 0], [0, 0], [0, 0], radius90_km=[None, 10.0])
    assert m.coverage90_pct == 50.0


def test_json_is_indented_for_a_reader_and_the_sources_close_the_table():
    m = compute_metrics([0], [0], [0], [0])
    assert m.to_json().startswith('{\n  "n": 1,\n  "convention": "geodesic",\n')
    table = m.to_markdown("ours", "gws15k")
    assert table.endswith(" Published rows as printed by their sources (–: no figure published), measured under "
                          "each paper's own protocol: " + "; ".join(f"{model}: {REFERENCE_SOURCES[model]}"
                                                                  for model in REFERENCE_MODELS) + ".")
