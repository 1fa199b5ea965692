"""OSV-5M's own metrics beside ours (#30): country / region / city accuracy from the test CSV's columns,
the prediction reverse geocoded offline; sub-region reported as not computed; misses wrong at every level;
nothing added for a CSV without the columns."""
from __future__ import annotations

import contextlib
import csv
import io
import json

import pytest

from geoloc_core.learning.evaluation import add_area_accuracy, evaluate_prediction_csv

OSV5M_HEADER = ["id", "latitude", "longitude", "thumb_original_url", "country", "sequence", "region", "sub-region",
                "city"]
# id, truth, labels as OSV-5M writes them (GeoNames cc / admin1 / admin2 / name), prediction (None: not predicted)
ROWS = [
    ("a", (48.8566, 2.3522), ("FR", "Ile-de-France", "Paris", "Paris"), (48.8566, 2.3522)),  # all right
    ("b", (48.857, 2.35), ("FR", "Ile-de-France", "Paris", "Paris"), (48.80, 2.13)),  # Versailles: city wrong
    ("c", (45.764, 4.8357), ("FR", "Rhone-Alpes", "Rhone", "Lyon"), (48.8566, 2.3522)),  # country only
    ("d", (40.4168, -3.7038), ("ES", "Madrid", "Madrid", "Madrid"), (52.52, 13.405)),  # Berlin: all wrong
    ("e", (52.52, 13.405), ("DE", "nan", "", ""), None),  # only a country label; never predicted
]


@pytest.fixture()
def osv5m_test_set(tmp_path):
    with (tmp_path / "test.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(OSV5M_HEADER)
        for name, (lat, lon), (country, region, sub_region, city), _ in ROWS:
            writer.writerow([name, lat, lon, "http://x", country, "seq", region, sub_region, city])
            (tmp_path / f"{name}.jpg").write_bytes(b"not read when scoring predictions")
    with (tmp_path / "peer.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "pred_lat", "pred_lon"])
        writer.writerows((f"{name}.jpg", *point) for name, _, _, point in ROWS if point is not None)
    return tmp_path


def test_country_region_city_accuracy_as_osv5m_counts_it(osv5m_test_set, geocoder):
    folder = osv5m_test_set
    result = evaluate_prediction_csv(folder / "peer.csv", folder / "test.csv", folder)
    areas = add_area_accuracy(result, folder / "test.csv", geocoder)
    # the miss (e) stays in the country denominator and is wrong; blank / "nan" labels leave a level
    assert areas.labelled == {"country": 5, "region": 4, "sub-region": 4, "city": 4}
    assert areas.accuracy_pct["country"] == pytest.approx(60.0)  # a, b, c
    assert areas.accuracy_pct["region"] == pytest.approx(50.0)  # a, b
    assert areas.accuracy_pct["city"] == pytest.approx(25.0)  # a
    assert areas.accuracy_pct["sub-region"] is None  # geoloc has no admin-2: not computed, never guessed
    assert result.metrics.extra["osv5m_areas"]["accuracy_pct"]["country"] == pytest.approx(60.0)
    dropped = evaluate_prediction_csv(folder / "peer.csv", folder / "test.csv", folder, missing="drop")
    assert add_area_accuracy(dropped, folder / "test.csv", geocoder).accuracy_pct["country"] == pytest.approx(75.0)


def test_evaluate_prints_the_area_table_only_when_the_csv_has_the_columns(osv5m_test_set, geocoder):
    from training.evaluate import main

    folder = osv5m_test_set
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(["--predictions", str(folder / "peer.csv"), "--csv", str(folder / "test.csv"), "--images",
                     str(folder), "--name", "peer", "--json", str(folder / "m.json")]) == 0
    assert "| peer | 60.00 | 50.00 | n/a | 25.00 |" in out.getvalue()
    assert json.loads((folder / "m.json").read_text())["extra"]["osv5m_areas"]["labelled"]["city"] == 4
    with (folder / "plain.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([("path", "lat", "lon"), *((f"{n}.jpg", *t) for n, t, _, _ in ROWS)])
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(["--predictions", str(folder / "peer.csv"), "--csv", str(folder / "plain.csv"), "--images",
                     str(folder), "--name", "peer"]) == 0
    assert "country %" not in out.getvalue() and "| peer |" in out.getvalue()
