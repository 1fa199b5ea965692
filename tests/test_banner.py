"""The banner (location verdict + flagged checks), messages for people, and images with too little
information to predict from (issue 13). Plain functions and the Analyzer; no Streamlit."""
from __future__ import annotations

from geoloc_core.case.analyzer import Analyzer
from geoloc_core.case.banner import compose_banner, format_km, typical_error_km
from geoloc_core.case.duplicates import group_near_duplicates
from geoloc_core.case.findings import Finding, for_people
from geoloc_core.evidence.sources import FileSource
from geoloc_core.model.inference import load_predictor
from tests.imagegen import gps_exif, image_bytes

SUN_WARN = "warn: EXIF GPS point: sun below the horizon (night), elevation -17.7° at 2024-06-21 21:30 UTC"


def test_banner_names_flagged_checks_even_without_a_model():
    finding = Finding(file="night.jpg", verdict="cannot verify: no model", check_sun=SUN_WARN,
                      check_editing="ok: no editor named", check_time="n/a: needs a time")
    banner = compose_banner(finding)
    assert banner.level == "warning"
    assert banner.text.startswith("cannot verify location: no model · 1 check flagged: sun: EXIF GPS point: sun "
                                  "below the horizon (night), elevation -17.7°")
    assert compose_banner(Finding(file="x", verdict="cannot verify: no model")).level == "info"


def test_banner_shows_the_models_typical_error_beside_the_verdict():
    finding = Finding(file="a.jpg", verdict="contradicts", distance_km=5440.2)
    banner = compose_banner(finding, typical_error_km({"validation": {"median_km": 812.4}}))
    assert banner.level == "error"
    assert banner.text == "location contradicts: EXIF GPS 5,440 km from the prediction (the model's typical error: 812 km)"
    assert typical_error_km(None) is None and typical_error_km({"validation": {}}) is None
    assert [format_km(x) for x in (0.25, 12.44, 1234.5)] == ["0.25 km", "12.4 km", "1,234 km"]


def test_messages_carry_no_exception_names_or_reprs_and_say_each_thing_once():
    finding = Finding(file="x.jpg")
    finding.add_message("image could not be decoded (UnidentifiedImageError: cannot identify image file "
                        "<_io.BytesIO object at 0x7f3a2c1b9e50>)")
    finding.add_message("image could not be decoded (UnidentifiedImageError: cannot identify image file "
                        "<_io.BytesIO object at 0x7f3a2c1b9e50>)")
    assert finding.message == "image could not be decoded (cannot identify image file)"
    assert for_people("prediction failed (RuntimeError: boom)") == "prediction failed (boom)"


def test_non_images_and_blank_images_get_no_prediction_and_no_duplicate_groups(worker, geocoder, tiny_model_dir):
    analyzer = Analyzer(geocoder=geocoder, predictor=load_predictor(str(tiny_model_dir)), worker=worker)
    blanks = [FileSource(f"blank{i}.jpg", data=image_bytes(size=(8, 8), texture=False,
                                                            exif=gps_exif(40.0 + 20 * i, -74.0 + 50 * i)))
              for i in range(3)]
    flat = FileSource("grey.png", data=image_bytes("PNG", size=(640, 480), color=(128, 128, 128), texture=False))
    pdf = FileSource("report.jpg", data=b"%PDF-1.4\n" + bytes(200))
    photo = FileSource("scene.jpg", data=image_bytes(size=(320, 240), exif=gps_exif(48.85, 2.29)))
    findings = list(analyzer.analyze_stream([*blanks, flat, pdf, photo]))
    *small, grey, document, scene = findings
    for f in small:
        assert f.pred_lat is None and f.phash == "" and f.verdict == "cannot verify: image too small or flat"
        assert "image too small to predict a location from (8 x 8 px" in f.message
        assert f.exif_lat is not None  # metadata still read
    assert grey.pred_lat is None and "image too flat" in grey.message and grey.phash == ""
    assert document.verdict == "cannot verify: not an image"
    assert compose_banner(document).text == "not an image (PDF)"
    assert scene.pred_lat is not None and scene.phash
    assert group_near_duplicates(findings) == []
