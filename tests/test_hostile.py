"""Every item of the hostile corpus through every entry point: no crash, no hang, a specific
message per file, and every good file in the same batch still analysed."""
from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geoloc_core.learning.datasets import load_geo_csv
from geoloc_core.learning.feature_cache import CachedFeatureDataset, build_cache
from geoloc_core.model.inference import load_image_processor
from geoloc_core.learning.trainer import load_image_for_model
from tests.hostile_corpus import build_corpus, corpus_items, zip_items
from tests.imagegen import image_bytes
from tests.tiny_models import build_tiny_model

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PER_FILE_BOUND_S = 20


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    return folder, build_corpus(folder)


def test_scan_cli_survives_the_corpus(corpus, tiny_model_dir, tmp_path):
    folder, expected = corpus
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(folder), "--model", str(tiny_model_dir),
                             "--out", str(tmp_path / "out.csv"), "--no-progress"], cwd=ROOT, capture_output=True,
                            text=True, timeout=PER_FILE_BOUND_S * len(expected))
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert time.monotonic() - started < PER_FILE_BOUND_S * len(expected)
    rows = {Path(r["file"].lstrip("'")).name: r for r in csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8"))}
    assert set(rows) == set(expected)
    for name, message in expected.items():
        row = rows[name]
        if message is None:
            assert row["status"] == "ok", (name, row["message"])
            # every good file still reaches the model, unless its pixels are uniform (no information)
            assert row["pred_lat"] != "" or "image too flat" in row["message"], (name, row["message"])
        else:
            assert message in row["message"], (name, row["message"])
    assert rows["good_paris.jpg"]["exif_country_code"] == "FR"
    assert rows["unicode ünïcödé 名前 .jpg"]["exif_country_code"] == "JP"
    assert all(not r["file"].startswith(("=", "+", "@")) for r in rows.values())  # neutralised in the CSV


def test_app_batch_survives_the_corpus_and_zips(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOLOC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GEOLOC_MODEL", raising=False)
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.switch_page("pages/batch.py").run()
    uploader = at.file_uploader(key="batch_files")
    items = {**corpus_items(), **zip_items()}
    for name, (data, _) in items.items():
        uploader.upload(name, data)
    uploader.upload("../../etc/passwd.jpg", image_bytes(color=(7, 77, 177)))  # a hostile upload name
    at.run()
    at.button(key="batch_run").click().run()
    assert not at.exception
    frame = at.dataframe[0].value
    by_name = dict(zip(frame["file"], frame["message"]))
    statuses = dict(zip(frame["file"], frame["status"]))
    for name, (_, message) in corpus_items().items():
        if message is None:
            assert statuses[name] == "ok", (name, by_name[name])
        else:
            assert message in by_name[name], (name, by_name[name])
    assert statuses["good.jpg"] == "ok"  # the good image inside traversal.zip
    assert statuses["passwd.jpg"] == "ok"  # names are labels only: uploads are never written to disk
    assert "unsafe path" in by_name["escape.jpg"]
    assert "zip bomb" in by_name["bomb.raw"]


def test_app_single_page_survives_each_item(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOLOC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GEOLOC_MODEL", raising=False)
    at = AppTest.from_file(APP, default_timeout=120).run()
    for name, (data, message) in list(corpus_items().items()):
        at.file_uploader(key="verify_upload").clear().upload(name, data).run()
        assert not at.exception, name
        shown = "\n".join(t.value for t in at.text) + "\n".join(e.value for e in at.error)
        if message is not None:
            assert message in shown, (name, shown[:300])


def test_training_loader_skips_bad_rows_and_images(corpus, tiny_backbone_dir, tmp_path):
    folder, expected = corpus
    with (tmp_path / "data.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "lat", "lon"])
        writer.writerows([name, 10.0, 20.0] for name in expected)  # every corpus file, odd names included
        handle.write("\nmissing.jpg,1,1\ngood_paris.jpg,abc,2\ngood_paris.jpg,91,2\ngood_paris.jpg,1,-181\n"
                     "../../etc/passwd,1,1\n")
    records, report = load_geo_csv(tmp_path / "data.csv", folder)
    assert len(records) == len(expected) and len(report.skipped) == 5
    model = build_tiny_model(tiny_backbone_dir)
    processor = load_image_processor(tiny_backbone_dir, model.config.vision_config)
    cache = build_cache(model, processor, records, tmp_path / "cache", load_image_for_model, batch_size=8,
                        log=lambda _: None, progress=False)
    dataset = CachedFeatureDataset(cache)
    from geoloc_core.evidence.filefacts import inspect_bytes

    decodable = sum(inspect_bytes((folder / name).read_bytes()).error is None for name in expected)
    assert 15 <= decodable < len(expected)
    assert len(dataset) == decodable  # every decodable image kept, every broken one marked invalid
