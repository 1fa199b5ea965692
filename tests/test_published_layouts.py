"""Each public data set as its authors publish it (folder trees, tar shards, msgpack shards and CSV columns,
generated here at tiny size), read by the reader training uses (``load_geo_csv`` / ``load_webdataset``)."""
from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from geoloc_core.learning.datasets import load_geo_csv, load_webdataset, read_record_bytes
from tests.imagegen import image_bytes

# OSV-5M's train.csv / test.csv header, as published (osv5m/osv5m on the Hugging Face hub)
OSV5M_COLUMNS = ("id,latitude,longitude,thumb_original_url,country,sequence,captured_at,lon_bin,lat_bin,cell,"
                 "land_cover,road_index,drive_side,climate,soil,dist_sea,region,sub-region,city")
# GeoEstimation's *_places365.csv header (mp16, im2gps3k, yfcc4k): note LON before LAT in im2gps3k's
PLACES365 = "S3_Label,S16_Label,S365_Label,Prob_indoor,Prob_natural,Prob_urban"


def _osv5m_row(image_id: str, lat: float, lon: float, sequence: str) -> str:
    return (f"{image_id},{lat},{lon},https://example.org/{image_id}.jpg,FR,{sequence},2019-05-04 10:11:12,"
            f"3,7,1234,40,0.5,right,9,4,0.12,Ile-de-France,Paris,Paris\n")


def _tar(path: Path, members: list[tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _osv5m_tree(root: Path, split: str, per_folder: int, folders: int) -> tuple[Path, dict[str, bytes]]:
    """OSV-5M as its own instructions leave it: every images/<split>/NN.zip extracted in place, so the
    images lie at images/<split>/NN/<id>.jpg, beside <split>.csv in the published columns."""
    rows, images = [], {}
    for folder in range(folders):
        for k in range(per_folder):
            image_id = str(100_000 + folder * 1000 + k)
            data = image_bytes(size=(16 + folder, 12 + k))
            target = root / "images" / split / f"{folder:02d}" / f"{image_id}.jpg"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            images[image_id] = data
            rows.append(_osv5m_row(image_id, 40.0 + folder, 2.0 + k / 10, f"seq{folder}_{k // 2}"))
    (root / f"{split}.csv").write_text(OSV5M_COLUMNS + "\n" + "".join(rows), encoding="utf-8")
    return root / f"{split}.csv", images


def test_osv5m_official_tree_is_read_whole(tmp_path, monkeypatch):
    """Defect 3: the images/{train,test}/NN/<id>.jpg tree OSV-5M's extraction leaves was read as 0 rows."""
    csv_path, images = _osv5m_tree(tmp_path, "train", per_folder=5, folders=3)
    test_csv, test_images = _osv5m_tree(tmp_path, "test", per_folder=2, folders=2)
    calls = {"stat": 0}
    real_stat = Path.stat

    def counting_stat(self, *args, **kwargs):
        calls["stat"] += 1
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", counting_stat)
    records, report = load_geo_csv(csv_path, tmp_path / "images" / "train")
    assert report.layout == "osv5m" and report.rows == report.kept == 15 and not report.skipped
    assert calls["stat"] < 15  # the tree is indexed once, not a file-system call per row
    assert {r.path.stem: read_record_bytes(r) for r in records} == images
    assert all(r.path.parent.parent == tmp_path / "images" / "train" for r in records)
    # the test split the same way, and the root above both splits finds each id in its own split
    assert load_geo_csv(test_csv, tmp_path / "images" / "test")[1].kept == 4
    both, _ = load_geo_csv(test_csv, tmp_path / "images")
    assert {r.path.stem: read_record_bytes(r) for r in both} == test_images


def test_osv5m_flat_layout_of_fetch_data_still_reads(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "7.jpg").write_bytes(image_bytes())
    (tmp_path / "images" / "8.png").write_bytes(image_bytes(fmt="PNG"))
    (tmp_path / "t.csv").write_text(OSV5M_COLUMNS + "\n" + _osv5m_row("7", 1.0, 2.0, "s") + _osv5m_row("8", 3.0, 4.0, "s")
                                    + _osv5m_row("9", 5.0, 6.0, "s"))
    records, report = load_geo_csv(tmp_path / "t.csv", tmp_path / "images")
    assert sorted(r.path.name for r in records) == ["7.jpg", "8.png"]
    assert report.skipped_by_reason == {"missing file": 1}


def test_mp16_geoestimation_msgpack_shards(tmp_path):
    """MP-16 as GeoEstimation's download_images.py writes it: shard_N.msg files, each a stream of maps
    {"image": JPEG bytes, "id": IMG_ID}, labels in mp16_places365.csv (IMG_ID, AUTHOR, LAT, LON, ...). The
    first shard is packed as msgpack < 1.0 packed bytes (raw str), the second as msgpack >= 1.0 does (bin)."""
    msgpack = pytest.importorskip("msgpack")
    shards = tmp_path / "mp16"
    shards.mkdir()
    ids = [f"{a:02x}/{b:02x}/{1000 + a * 10 + b}.jpg" for a in range(2) for b in range(3)]
    images = {i: image_bytes(size=(20 + n, 10 + n)) for n, i in enumerate(ids)}
    with (shards / "shard_0.msg").open("wb") as handle:
        for i in ids[:3]:
            handle.write(msgpack.packb({"image": images[i], "id": i}, use_bin_type=False))
    with (shards / "shard_1.msg").open("wb") as handle:
        for i in ids[3:]:
            handle.write(msgpack.packb({"image": images[i], "id": i}))
    (shards / "writer.log").write_text("GeoEstimation's downloader leaves its log beside the shards\n")
    rows = "".join(f"{i},{n}@N0{n % 2},{10 + n},{20 + n},0,1,2,0.1,0.2,0.7\n" for n, i in enumerate(ids))
    (tmp_path / "mp16_places365.csv").write_text(f"IMG_ID,AUTHOR,LAT,LON,{PLACES365}\n{rows}"
                                                 f"ff/ff/404.jpg,x@N00,1,1,0,1,2,0.1,0.2,0.7\n")
    records, report = load_geo_csv(tmp_path / "mp16_places365.csv", shards)
    assert report.kept == 6 and report.skipped_by_reason == {"missing file": 1}
    got = {(r.lat, r.lon): read_record_bytes(r) for r in records}
    assert got == {(10.0 + n, 20.0 + n): images[i] for n, i in enumerate(ids)}
    assert {r.group for r in records} == {"0@N00", "1@N01", "2@N00", "3@N01", "4@N00", "5@N01"}
    # a glob of the shards, and shards whose records carry their own coordinates (no CSV)
    assert load_geo_csv(tmp_path / "mp16_places365.csv", str(shards / "shard_*.msg"))[0] == records
    with (tmp_path / "labelled.msg").open("wb") as handle:
        handle.write(msgpack.packb({"id": "a.jpg", "image": images[ids[0]], "lat": 48.85, "lon": 2.35}))
        handle.write(msgpack.packb({"id": "b.jpg", "image": images[ids[1]], "latitude": "x", "longitude": 1}))
        handle.write(msgpack.packb({"id": "c.jpg", "lat": 1.0, "lon": 2.0}))
    labelled, labelled_report = load_webdataset(tmp_path / "labelled.msg")
    assert [(r.lat, r.lon) for r in labelled] == [(48.85, 2.35)] and read_record_bytes(labelled[0]) == images[ids[0]]
    assert labelled_report.skipped_by_reason == {"non-numeric latitude": 1, "missing file": 1}


def test_a_damaged_msgpack_shard_is_a_clear_error(tmp_path):
    from geoloc_core.learning.datasets import DataError

    (tmp_path / "shard_0.msg").write_bytes(b"\xc1\xc1\xc1 not msgpack")
    (tmp_path / "m.csv").write_text("IMG_ID,LAT,LON\na.jpg,1,1\n")
    with pytest.raises(DataError, match="shard_0.msg"):
        load_geo_csv(tmp_path / "m.csv", tmp_path / "shard_0.msg")


@pytest.mark.parametrize("member_style", ["underscore", "slash"])
def test_mp16_pro_tar_and_csv(tmp_path, member_style):
    """MP16-Pro: mp-16-images.tar and MP16_Pro_places365.csv whose IMG_ID keeps MP-16's slashes
    (``ab/cd/123.jpg``) while the tar's members may flatten them (``mp-16-images/ab_cd_123.jpg``)."""
    ids = ["0a/1b/5001.jpg", "0a/2c/5002.jpg", "ff/00/5003.jpg"]
    images = {i: image_bytes(size=(18 + n, 12)) for n, i in enumerate(ids)}
    member = (lambda i: "mp-16-images/" + i.replace("/", "_")) if member_style == "underscore" else \
        (lambda i: "mp-16-images/" + i)
    _tar(tmp_path / "mp-16-images.tar", [(member(i), images[i]) for i in ids])
    header = f"IMG_ID,AUTHOR,LAT,LON,{PLACES365},neighbourhood,city,county,state,region,country,country_code,continent"
    rows = "".join(f"{i},{n}@N00,{-10 - n},{100 + n},0,1,2,0.1,0.2,0.7,,Town,County,State,,Land,xx,Asia\n"
                   for n, i in enumerate(ids))
    (tmp_path / "MP16_Pro_places365.csv").write_text(f"{header}\n{rows}", encoding="utf-8")
    records, report = load_geo_csv(tmp_path / "MP16_Pro_places365.csv", tmp_path / "mp-16-images.tar")
    assert report.kept == 3 and not report.skipped
    assert {(r.lat, r.lon): read_record_bytes(r) for r in records} == \
        {(-10.0 - n, 100.0 + n): images[i] for n, i in enumerate(ids)}


def test_mp16_pro_underscore_ids_find_slash_members(tmp_path):
    """The other way round: a CSV converted to ``ab_cd_123.jpg`` (as G3's loader does) and a tar that kept slashes."""
    data = image_bytes()
    _tar(tmp_path / "s.tar", [("0a/1b/5001.jpg", data)])
    (tmp_path / "p.csv").write_text("IMG_ID,LAT,LON\n0a_1b_5001.jpg,1,2\n")
    records, report = load_geo_csv(tmp_path / "p.csv", tmp_path / "s.tar")
    assert report.kept == 1 and read_record_bytes(records[0]) == data


def test_im2gps3k_csv_with_lon_before_lat(tmp_path):
    """im2gps3k_places365.csv lists LON before LAT; Flickr names carry the author id inside them."""
    names = ["1000269685_e60e9cdfb4_1125_78841376@N00.jpg", "101220879_0a1be45b79_33_24311489@N00.jpg"]
    folder = tmp_path / "im2gps3ktest"
    folder.mkdir()
    for name in names:
        (folder / name).write_bytes(image_bytes())
    (tmp_path / "im2gps3k_places365.csv").write_text(
        f"IMG_ID,AUTHOR,LON,LAT,{PLACES365}\n"
        f"{names[0]},78841376@N00,32.325436,-64.764404,2,12,353,0.27,0.04,0.68\n"
        f"{names[1]},24311489@N00,42.249915,-87.82711,1,8,249,0.0,0.99,0.003\n")
    records, report = load_geo_csv(tmp_path / "im2gps3k_places365.csv", folder)
    assert report.layout == "geoclip" and report.kept == 2
    # LON column 32.3 and LAT column -64.8: Bermuda, read by name, not by position
    assert (records[0].lat, records[0].lon) == (-64.764404, 32.325436)


def test_yfcc4k_csv(tmp_path):
    folder = tmp_path / "yfcc4k"
    folder.mkdir()
    (folder / "25935894.jpg").write_bytes(image_bytes())
    (tmp_path / "yfcc4k_places365.csv").write_text(
        f"IMG_ID,AUTHOR,LAT,LON,{PLACES365}\n25935894.jpg,12345678@N00,35.6,139.7,2,10,1,0.1,0.2,0.7\n"
        f"404.jpg,1@N00,1,1,2,10,1,0.1,0.2,0.7\n")
    records, report = load_geo_csv(tmp_path / "yfcc4k_places365.csv", folder)
    assert [(r.path.name, r.lat, r.lon) for r in records] == [("25935894.jpg", 35.6, 139.7)]
    assert report.skipped_by_reason == {"missing file": 1} and records[0].group == "12345678@N00"


def test_osv5m_csv_columns_and_sequence_groups(tmp_path):
    csv_path, _ = _osv5m_tree(tmp_path, "train", per_folder=4, folders=2)
    records, report = load_geo_csv(csv_path, tmp_path / "images" / "train")
    assert report.kept == 8 and report.group_column == "sequence"
    assert sorted({r.group for r in records}) == ["seq0_0", "seq0_1", "seq1_0", "seq1_1"]


def test_mp16_pro_extracted_tar_and_no_lookalikes_elsewhere(tmp_path):
    """MP16-Pro's tar extracted (mp-16-images/ab_cd_123.jpg) with the CSV's slashed ids; a plain file name is never
    matched to a file of the same name in another folder."""
    folder = tmp_path / "mp-16-images"
    folder.mkdir()
    (folder / "0a_1b_5001.jpg").write_bytes(image_bytes())
    (folder / "elsewhere.jpg").write_bytes(image_bytes())
    (tmp_path / "p.csv").write_text("IMG_ID,LAT,LON\n0a/1b/5001.jpg,1,2\nelsewhere.jpg,3,4\n")
    records, report = load_geo_csv(tmp_path / "p.csv", tmp_path)
    assert [r.path for r in records] == [folder / "0a_1b_5001.jpg"]
    assert report.skipped_by_reason == {"missing file": 1}
