from __future__ import annotations

import pytest

from geoloc_core.learning.datasets import DataError, detect_layout, load_geo_csv, split_records
from geoloc_core.learning.train_config import TrainConfig
from tests.imagegen import image_bytes


@pytest.mark.parametrize("columns,name", [(["IMG_ID", "LAT", "LON"], "geoclip"), (["IMG_FILE", "LAT", "LON"], "geoclip"),
                                          (["id", "latitude", "longitude", "country"], "osv5m"),
                                          (["path", "lat", "lon"], "plain")])
def test_layouts(columns, name):
    assert detect_layout(columns).name == name


def test_missing_columns_is_a_clear_error(tmp_path):
    (tmp_path / "bad.csv").write_text("file,x,y\na.jpg,1,2\n")
    with pytest.raises(DataError, match="no known layout"):
        load_geo_csv(tmp_path / "bad.csv", tmp_path)


def test_bad_rows_are_counted_and_listed(tmp_path):
    for name in ("a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"):
        (tmp_path / name).write_bytes(image_bytes())
    (tmp_path / "data.csv").write_text(
        "IMG_ID,LAT,LON\n"
        "a.jpg,48.85,2.35\n"
        "\n"
        "b.jpg,abc,2.0\n"
        "c.jpg,95.0,2.0\n"
        "d.jpg,10.0,-720\n"
        "missing.jpg,1.0,1.0\n"
        ",1.0,1.0\n"
        "../etc/passwd,1.0,1.0\n"
        "e.jpg,nan,1\n"
        "a.jpg,-33.9,151.2,extra\n")
    records, report = load_geo_csv(tmp_path / "data.csv", tmp_path)
    assert [r.path.name for r in records] == ["a.jpg"]
    reasons = report.skipped_by_reason
    assert reasons["non-numeric latitude"] == 1 and reasons["out-of-range latitude"] == 2  # 95 and nan
    assert reasons["malformed row"] == 1
    assert reasons["out-of-range longitude"] == 1 and reasons["missing file"] == 1
    assert reasons["empty image path"] == 1 and reasons["path escapes the image root"] == 1
    assert sum(reasons.values()) == len(report.skipped) == report.rows - report.kept
    assert "geoclip" in report.summary() and "skipped" in report.summary()


def test_osv5m_ids_resolve_to_files(tmp_path):
    (tmp_path / "123.jpg").write_bytes(image_bytes())
    (tmp_path / "t.csv").write_text("id,latitude,longitude\n123,1.5,2.5\n456,1,1\n")
    records, report = load_geo_csv(tmp_path / "t.csv", tmp_path)
    assert records[0].path.name == "123.jpg" and report.layout == "osv5m" and len(report.skipped) == 1


def test_split_is_deterministic_and_disjoint(tmp_path):
    from geoloc_core.learning.datasets import GeoRecord

    records = [GeoRecord(tmp_path / f"{i}.jpg", 0.0, float(i)) for i in range(100)]
    a_train, a_val = split_records(records, 0.2, seed=1)
    b_train, b_val = split_records(records, 0.2, seed=1)
    assert a_val == b_val and len(a_val) == 20 and not set(a_val) & set(a_train)
    assert split_records(records, 0.2, seed=2)[1] != a_val


def test_config_yaml_and_overrides(tmp_path):
    (tmp_path / "c.yaml").write_text("model:\n  backbone: x\n  num_components: 3\noptim:\n  epochs: 2\n")
    config = TrainConfig.from_yaml(tmp_path / "c.yaml")
    assert config.model.backbone == "x" and config.model.num_components == 3 and config.optim.epochs == 2
    config.apply_overrides(["optim.lr=0.01", "data.use_cache=false", "seed=7"])
    assert config.optim.lr == 0.01 and config.data.use_cache is False and config.seed == 7
    with pytest.raises(KeyError, match="unknown setting"):
        config.apply_overrides(["optim.learning_rate=1"])
    with pytest.raises(TypeError):
        config.apply_overrides(["data.use_cache=3"])
