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


def _tar_of(folder, names_and_bytes, target):
    import io
    import tarfile

    with tarfile.open(target, "w") as archive:
        for name, data in names_and_bytes:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return target


def test_csv_rows_resolve_to_members_of_tar_shards(tmp_path):
    """MP-16 / OSV-5M come as archives: a CSV's ids find their images inside WebDataset-style tars."""
    from geoloc_core.learning.datasets import read_record_bytes

    shards = tmp_path / "shards"
    shards.mkdir()
    a, b = image_bytes(), image_bytes(size=(20, 10))
    _tar_of(shards, [("0001.jpg", a), ("0001.json", b"{}")], shards / "000.tar")
    _tar_of(shards, [("sub/0002.jpg", b)], shards / "001.tar")
    (tmp_path / "t.csv").write_text("id,latitude,longitude\n0002,1.5,2.5\n0001,3,4\n0003,1,1\n")
    records, report = load_geo_csv(tmp_path / "t.csv", shards)
    assert [r.path.name for r in records] == ["000.tar", "001.tar"]  # stream order, not CSV order
    assert read_record_bytes(records[0]) == a and read_record_bytes(records[1]) == b
    assert (records[0].lat, records[1].lat) == (3.0, 1.5)
    assert report.skipped_by_reason == {"missing file": 1}
    glob_records, _ = load_geo_csv(tmp_path / "t.csv", str(shards / "*.tar"))
    assert glob_records == records


def test_webdataset_labels_from_json_and_bad_samples_listed(tmp_path):
    from geoloc_core.learning.datasets import load_webdataset, read_record_bytes

    a = image_bytes()
    _tar_of(tmp_path, [("k1.jpg", a), ("k1.json", b'{"lat": 48.85, "lon": 2.35}'),
                       ("k2.jpg", a), ("k2.json", b'{"latitude": "x", "longitude": 1}'),
                       ("k3.jpg", a), ("k4.json", b'{"lat": 1, "lon": 2}'), ("k5.jpg", a), ("k5.json", b"[1]")],
            tmp_path / "000.tar")
    records, report = load_webdataset(tmp_path / "000.tar")
    assert len(records) == 1 and records[0].lat == 48.85 and read_record_bytes(records[0]) == a
    assert report.skipped_by_reason == {"non-numeric latitude": 1, "missing label": 1, "missing file": 1,
                                        "malformed label": 1}


def test_a_compressed_or_broken_tar_is_a_clear_error(tmp_path):
    (tmp_path / "bad.tar").write_bytes(b"\x1f\x8b" + b"x" * 600)
    (tmp_path / "t.csv").write_text("path,lat,lon\na.jpg,1,1\n")
    with pytest.raises(DataError, match="cannot read tar shard"):
        load_geo_csv(tmp_path / "t.csv", tmp_path / "bad.tar")


def test_three_held_out_splits_are_disjoint_and_deterministic(tmp_path):
    from geoloc_core.learning.datasets import GeoRecord, split_for_training

    records = [GeoRecord(tmp_path / f"{i}.jpg", 0.0, float(i)) for i in range(200)]
    fractions = {"validation": 0.1, "calibration": 0.05, "test": 0.05}
    splits = split_for_training(records, fractions, seed=3)
    assert [len(splits[n]) for n in ("validation", "calibration", "test", "train")] == [20, 10, 10, 160]
    names = [set(v) for v in splits.values()]
    assert sum(len(s) for s in names) == len(set().union(*names)) == 200
    assert split_for_training(records, fractions, seed=3) == splits


def test_thesis_loss_comment_names_both_settings():
    """The thesis's plain MSE needs output_mode latlon *and* uncertainty false; the config must say so."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "training" / "configs" / "vitl14_mp16.yaml").read_text()
    line = next(line for line in text.splitlines() if "output_mode:" in line)
    assert "latlon" in line and "uncertainty: false" in line and "MSE" in line


# ----- issue 30: held-out splits keep sequences and user bursts whole -------------------------------------------------
def _grouped_records(tmp_path, sizes):
    from geoloc_core.learning.datasets import GeoRecord

    records, n = [], 0
    for g, size in enumerate(sizes):
        for _ in range(size):
            records.append(GeoRecord(tmp_path / f"{n}.jpg", 0.0, float(n % 180), group=f"seq{g}"))
            n += 1
    return records


def test_held_out_splits_share_no_group_with_training(tmp_path):
    """Defect 6: the split went item by item, so one OSV-5M sequence (or one Flickr user's burst) landed in
    training and in calibration/test, and kappa_scale, the retrieval threshold and the test table were optimistic."""
    from geoloc_core.learning.datasets import split_for_training

    sizes = [1 + (7 * g) % 9 for g in range(60)]  # 60 sequences of 1 to 9 photos
    records = _grouped_records(tmp_path, sizes)
    fractions = {"validation": 0.1, "calibration": 0.05, "test": 0.05}
    splits = split_for_training(records, fractions, seed=3)
    groups = {name: {r.group for r in part} for name, part in splits.items()}
    for held in fractions:
        assert not groups[held] & groups["train"], held
        for other in fractions:
            assert held == other or not groups[held] & groups[other]
        # fractions approximately kept: within one group's size of the target
        assert abs(len(splits[held]) - fractions[held] * len(records)) <= max(sizes), (held, len(splits[held]))
    assert sum(len(part) for part in splits.values()) == len(records)
    assert split_for_training(records, fractions, seed=3) == splits
    assert split_for_training(records, fractions, seed=4) != splits


def test_osv5m_sequences_and_a_named_group_column(tmp_path):
    """OSV-5M's CSV is grouped by its `sequence` column by default; any CSV by the column `data.group_column` names."""
    from geoloc_core.learning.datasets import DataError, split_for_training

    lines = ["id,latitude,longitude,sequence,country"]
    for k in range(40):
        (tmp_path / f"{k}.jpg").write_bytes(b"x")
        lines.append(f"{k},{k},{k},s{k // 4},FR")
    (tmp_path / "osv.csv").write_text("\n".join(lines) + "\n")
    records, report = load_geo_csv(tmp_path / "osv.csv", tmp_path)
    assert report.group_column == "sequence" and "grouped by 'sequence'" in report.summary()
    splits = split_for_training(records, {"validation": 0.2, "test": 0.2}, seed=0)
    train = {r.group for r in splits["train"]}
    assert all(not {r.group for r in splits[n]} & train for n in ("validation", "test"))
    by_country, report = load_geo_csv(tmp_path / "osv.csv", tmp_path, group_column="country")
    assert {r.group for r in by_country} == {"FR"} and report.group_column == "country"
    assert {r.group for r in load_geo_csv(tmp_path / "osv.csv", tmp_path, group_column="none")[0]} == {""}
    with pytest.raises(DataError, match="group column 'user'"):
        load_geo_csv(tmp_path / "osv.csv", tmp_path, group_column="user")


def test_group_column_is_a_config_setting():
    config = TrainConfig()
    assert config.data.group_column == "auto"
    config.apply_overrides(["data.group_column=photographer"])
    assert config.data.group_column == "photographer"
