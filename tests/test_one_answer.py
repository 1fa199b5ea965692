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
