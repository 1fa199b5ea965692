"""Issue #28: one file, one model, one answer, said the same way everywhere.

``pred_calibrated`` in the CSV and "calibrated"/"uncalibrated" on the model line, the card, the report
and KML come from one source (what training recorded). Seen before the fix: a model trained without
calibration was described as "uncalibrated uncertainty" while its findings said ``pred_calibrated=True``.
"""
from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest

from geoloc_core.case.analyzer import Analyzer
from geoloc_core.case.exports.export import export
from geoloc_core.case.exports.kml import KML_NS
from geoloc_core.case.reports.report_content import ReportItem, build_report
from geoloc_core.evidence.sources import FileSource
from geoloc_core.model.inference import load_predictor
from tests.imagegen import gps_exif, image_bytes


def _with_calibration_record(model_dir, tmp_path, calibrated: bool | None):
    """A copy of the tiny model whose config records (or not) that calibration ran."""
    import shutil

    folder = tmp_path / f"model-{calibrated}"
    shutil.copytree(model_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config["trained_on"] = None if calibrated is None else {"calibrated": calibrated}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize("calibrated, word", [(None, "uncalibrated"), (False, "uncalibrated"), (True, "calibrated")])
def test_calibrated_is_one_word_from_one_source(tiny_model_dir, tmp_path, worker, geocoder, calibrated, word):
    predictor = load_predictor(str(_with_calibration_record(tiny_model_dir, tmp_path, calibrated)))
    assert f", {word} uncertainty" in predictor.description
    finding = Analyzer(geocoder=geocoder, predictor=predictor, worker=worker).analyze(
        FileSource("scene.jpg", data=image_bytes(size=(320, 240), exif=gps_exif(48.85, 2.29))))
    assert finding.pred_radius_km is not None
    assert finding.pred_calibrated is (word == "calibrated")
    row = next(csv.DictReader(io.StringIO(export([finding], "csv"))))
    assert row["pred_calibrated"] == str(word == "calibrated")
    placemark = ET.fromstring(export([finding], "kml").encode()).find(f".//{{{KML_NS}}}Placemark[{{{KML_NS}}}styleUrl='#predicted']")
    description = placemark.find(f"{{{KML_NS}}}description").text
    assert f"km ({word})" in description
    report = build_report([ReportItem(finding)], "case", "analyst", "one file")
    rows = dict(row for section in report.files[0].sections for row in getattr(section, "rows", []))
    assert rows["Regions"] == word


# ---- one file, every path -------------------------------------------------------------------------------------
def _photo() -> bytes:
    """A phone-sized JPEG (decoded at a draft, so the decode size matters) with EXIF GPS in Basel."""
    return image_bytes(size=(1600, 1200), color=(70, 120, 40), exif=gps_exif(47.5596, 7.5886))


def _companions(n: int) -> list[tuple[str, bytes]]:
    return [(f"other{i:02d}.jpg", image_bytes(size=(640 + 16 * i, 480), color=(20 * i % 255, 90, 160),
                                                 exif=gps_exif(40.0 + i, -3.0 + i))) for i in range(n)]


def _answer(row) -> tuple:
    """What an analyst reads of a finding (as stored, to the last digit) from a Finding or a CSV row."""
    get = (lambda k: row[k]) if isinstance(row, dict) else (lambda k: getattr(row, k))
    values = [get(k) for k in ("pred_lat", "pred_lon", "pred_radius50_km", "pred_radius_km", "distance_km")]
    return tuple(float(v) for v in values) + (get("verdict"),)


def _scan(folder, model_dir, tmp_path, *extra) -> dict:
    import os
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / f"scan{'_'.join(extra)}.csv"
    env = {**os.environ, "GEOLOC_DATA_DIR": str(tmp_path / "scan-data")}
    result = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(folder), "--model", str(model_dir),
                             "--out", str(out), "--no-progress", *extra], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1], env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    return {Path(r["file"]).name: r for r in csv.DictReader(out.open(encoding="utf-8"))}


@pytest.mark.slow
def test_one_file_gives_one_answer_on_every_path(tiny_model_dir, tmp_path, monkeypatch):
    """The same file and model: Verify, Batch, ``scan`` (batch sizes 1 and 16, two parser workers) and
    ``training.evaluate --model`` give the same prediction, radii and verdict, to the last digit stored.

    Before the fix: evaluation decoded the JPEG at a 512 px draft (the others at the model's side), so its
    prediction differed; a mixture's radii were sampled with draws per batch row, so they changed with the
    file's company (a 60-150 km spread on the tiny model between batch sizes 1 and 16)."""
    import subprocess
    import sys

    from streamlit.testing.v1 import AppTest

    from geoloc_core.case.log.caselog import CaseLog
    from tests.test_app import APP, TIMEOUT, _batch

    answers = {}
    # Verify (the app's single-file page) and Batch (among other files), each saving to its case log
    monkeypatch.setenv("GEOLOC_DATA_DIR", str(tmp_path / "verify-data"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["model_path"] = str(tiny_model_dir)
    at.run()
    at.file_uploader(key="verify_upload").upload("basel.jpg", _photo(), "image/jpeg").run()
    assert not at.exception
    log = CaseLog(tmp_path / "verify-data" / "caselog.sqlite3")
    answers["verify"] = _answer(log.findings(log.cases()[0][0])[0].finding)
    monkeypatch.setenv("GEOLOC_DATA_DIR", str(tmp_path / "batch-data"))
    at = _batch([*_companions(5), ("basel.jpg", _photo()), *_companions(3)], {"model_path": str(tiny_model_dir)})
    assert not at.exception
    log = CaseLog(tmp_path / "batch-data" / "caselog.sqlite3")
    answers["batch"] = next(_answer(s.finding) for s in log.findings(log.cases()[0][0]) if s.finding.file.endswith("basel.jpg"))
    # scan, the file alone and in the middle of a folder, one image per forward pass and 16
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "basel.jpg").write_bytes(_photo())
    folder = tmp_path / "folder"
    folder.mkdir()
    for name, data in [*_companions(12), ("basel.jpg", _photo())]:
        (folder / name).write_bytes(data)
    answers["scan, alone, batch 1"] = _answer(_scan(alone, tiny_model_dir, tmp_path, "--batch-size", "1")["basel.jpg"])
    answers["scan, alone, batch 16, 2 workers"] = _answer(
        _scan(alone, tiny_model_dir, tmp_path, "--batch-size", "16", "--workers", "2")["basel.jpg"])
    answers["scan, folder, batch 1"] = _answer(_scan(folder, tiny_model_dir, tmp_path, "--batch-size", "1")["basel.jpg"])
    # training.evaluate --model, its per-image predictions written out
    (tmp_path / "test.csv").write_text("path,lat,lon\nbasel.jpg,47.5596,7.5886\n", encoding="utf-8")
    out = tmp_path / "predictions.csv"
    result = subprocess.run([sys.executable, "-m", "training.evaluate", "--model", str(tiny_model_dir), "--csv",
                             str(tmp_path / "test.csv"), "--images", str(alone), "--predictions-out", str(out)],
                            capture_output=True, text=True, cwd=APP.rsplit("/", 1)[0], timeout=600)
    assert result.returncode == 0, result.stderr
    row = next(csv.DictReader(out.open(encoding="utf-8")))
    evaluated = tuple(float(row[k]) for k in ("pred_lat", "pred_lon", "pred_radius50_km", "pred_radius_km"))

    reference = answers["verify"]
    assert reference[-1] == "inconclusive"  # the untrained tiny model's regions span the globe
    for path, answer in answers.items():
        assert answer == reference, path
    assert evaluated == reference[:4]


def test_a_files_radii_do_not_depend_on_its_batch():
    """The mixture's radii for one image alone and in any position of a batch are the same bits."""
    import torch

    from geoloc_core.model.distributions import mixture_radius_km

    torch.manual_seed(3)
    mu = torch.nn.functional.normalize(torch.randn(9, 4, 3), dim=-1)
    kappa, weights = torch.rand(9, 4) * 80 + 1, torch.softmax(torch.randn(9, 4), -1)
    center = torch.nn.functional.normalize(torch.randn(9, 3), dim=-1)

    def radii(rows):
        return mixture_radius_km(mu[rows], kappa[rows], weights[rows], center[rows], 0.5, 4096,
                                 torch.Generator().manual_seed(0))

    together = radii(list(range(9)))
    for i in range(9):
        assert torch.equal(radii([i]), together[i:i + 1])
        assert torch.equal(radii([8 - j for j in range(9)])[8 - i], together[i])  # reversed order
