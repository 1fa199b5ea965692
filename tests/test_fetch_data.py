"""``python -m training.fetch_data osv5m`` against a real HTTP server on 127.0.0.1 in the hub's layout for
OSV-5M (CSV + zip shards), with the real huggingface_hub client: size first, unpack, CSV the trainer reads,
resume, offline."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from geoloc_core.learning.datasets import load_geo_csv
from tests.hub_server import FakeHub
from tests.imagegen import image_bytes

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = "id,latitude,longitude,country,region,city\n"


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture()
def osv5m_hub():
    jpeg = image_bytes(size=(32, 24))
    train_ids = [f"{k:06d}" for k in range(6)]
    files = {
        "README.md": b"---\nlicense: cc-by-sa-4.0\n---\n",
        "train.csv": (COLUMNS + "".join(f"{i},{10 + k},{20 + k},FR,IDF,Paris\n"
                                        for k, i in enumerate(train_ids))).encode(),
        "test.csv": (COLUMNS + "900001,-33.9,151.2,AU,NSW,Sydney\n900002,40.7,-74.0,US,NY,New York\n").encode(),
        # shard entries as OSV-5M's zips may name them (in a folder), plus a hostile name and a non-image
        "images/train/00.zip": _zip({"train/00/000000.jpg": jpeg, "train/00/000001.jpg": jpeg,
                                     "../../escape.txt": b"x", "../../../evil.jpg": jpeg, "notes.md": b"readme"}),
        "images/train/01.zip": _zip({"000002.jpg": jpeg, "000003.jpg": jpeg}),
        "images/train/02.zip": _zip({"000004.jpg": jpeg, "000005.jpg": jpeg}),
        "images/test/00.zip": _zip({"test/900001.jpg": jpeg}),
        "images/test/01.zip": _zip({"test/900002.jpg": jpeg}),
    }
    server = FakeHub({("dataset", "osv5m/osv5m"): files}).start()
    yield server
    server.stop()


def _fetch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "training.fetch_data", "osv5m", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env={**os.environ, **env})


def test_fetch_osv5m_shards_into_the_layout_training_reads(osv5m_hub, tmp_path):
    out = tmp_path / "osv5m"
    env = {"HF_ENDPOINT": osv5m_hub.endpoint, "HF_HUB_OFFLINE": ""}
    result = _fetch("--shards", "2", "--test-shards", "1", "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    plan_line = next(i for i, line in enumerate(lines) if "still to download; disk needed about" in line)
    assert plan_line < next(i for i, line in enumerate(lines) if "images unpacked" in line)
    assert "CC-BY-SA 4.0" in result.stderr and "5 files" in lines[plan_line]  # 2 CSVs, 2 train + 1 test shards
    names = sorted(p.name for p in (out / "images" / "train").iterdir())
    assert names == [f"00000{k}.jpg" for k in range(4)] + ["evil.jpg"]  # a traversal name lands inside, by base name
    assert not list(tmp_path.rglob("escape.txt")) and not list(tmp_path.rglob("notes.md"))
    assert [p for p in tmp_path.parent.rglob("evil.jpg")] == [out / "images" / "train" / "evil.jpg"]
    records, report = load_geo_csv(out / "train.csv", out / "images" / "train")
    assert report.layout == "osv5m" and report.kept == 4 and not report.skipped  # only rows with their image
    assert sorted((r.lat, r.lon) for r in records) == [(10.0 + k, 20.0 + k) for k in range(4)]
    test_records, test_report = load_geo_csv(out / "test.csv", out / "images" / "test")
    assert test_report.kept == 1 and test_records[0].lat == pytest.approx(-33.9)
    assert not list((out / "raw").rglob("*.zip"))  # deleted once unpacked

    osv5m_hub.requests.clear()
    again = _fetch("--shards", "3", "--test-shards", "1", "--out", str(out), env=env)  # one more: only it is fetched
    assert again.returncode == 0, again.stderr
    assert "images/train/00.zip: already unpacked" in again.stderr
    zip_gets = [r for r in osv5m_hub.requests if r.startswith("GET") and r.split()[1].endswith(".zip")]
    assert len(zip_gets) == 1 and "images/train/02.zip" in zip_gets[0]
    assert load_geo_csv(out / "train.csv", out / "images" / "train")[1].kept == 6


def test_the_whole_test_split_by_default(osv5m_hub, tmp_path):
    """Published OSV-5M numbers are on the whole test split (5 shards on the hub): the default fetches every test
    shard, so a table made from the fetched test.csv is comparable; the fetched test split reads whole."""
    out = tmp_path / "osv5m"
    result = _fetch("--shards", "1", "--out", str(out), env={"HF_ENDPOINT": osv5m_hub.endpoint, "HF_HUB_OFFLINE": ""})
    assert result.returncode == 0, result.stderr
    assert "images/test/00.zip" in result.stderr and "images/test/01.zip" in result.stderr
    records, report = load_geo_csv(out / "test.csv", out / "images" / "test")
    assert report.kept == report.rows == 2 and sorted(r.lat for r in records) == [-33.9, 40.7]
    assert "whole test split" in result.stderr


def test_fetch_data_offline_is_a_clear_error(tmp_path):
    result = _fetch("--shards", "1", "--out", str(tmp_path / "o"), env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 2 and "offline mode is on" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()
