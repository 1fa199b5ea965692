"""The written claim through the pipeline: third point, its checks, exports, map, the verify page."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import piexif
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from geoloc_core.case.analyzer import Analyzer
from geoloc_core.case.claims import self_contradiction
from geoloc_core.case.exports.export import column_order, export
from geoloc_core.case.findings import CORE_COLUMNS
from geoloc_core.case.maps.finding_maps import finding_map
from geoloc_core.case.maps.layers import CLAIM_COLOR
from geoloc_core.evidence.sources import FileSource
from geoloc_core.model.prediction import Prediction
from geoloc_core.case.maps.layers import js_text_literal
from tests.imagegen import gps_exif, textured

CLAIM_COLUMNS = ["claimed_place_text", "claimed_city", "claimed_region", "claimed_country", "claimed_country_code",
                 "claimed_lat", "claimed_lon", "claim_source", "creator", "caption", "capture_time_source"]
MOSCOW, KYIV = (55.7558, 37.6173), (50.4501, 30.5234)
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def xmp_packet(**props: str) -> bytes:
    ns = {"photoshop": "http://ns.adobe.com/photoshop/1.0/", "Iptc4xmpCore": "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/",
          "dc": "http://purl.org/dc/elements/1.1/"}
    from xml.sax.saxutils import quoteattr

    attrs = " ".join(f"{k.replace('__', ':')}={quoteattr(v)}" for k, v in props.items())
    declared = " ".join(f'xmlns:{p}="{u}"' for p, u in ns.items())
    return (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description rdf:about="" {declared} {attrs}/></rdf:RDF></x:xmpmeta>').encode("utf-8")


def photo(gps=None, exif: bytes | None = None, **xmp: str) -> bytes:
    buffer = io.BytesIO()
    kwargs = {"xmp": xmp_packet(**xmp)} if xmp else {}
    if gps:
        kwargs["exif"] = gps_exif(*gps)
    if exif:
        kwargs["exif"] = exif
    textured((64, 48), (90, 140, 60)).save(buffer, "JPEG", **kwargs)  # textured: flat frames get no prediction
    return buffer.getvalue()


class FixedPredictor:
    """Predicts one chosen point for every image: the pipeline's behaviour, not a model's skill, is under test."""

    description = "fixed test predictor"

    def __init__(self, lat: float, lon: float, r50: float, r90: float):
        self.prediction = Prediction(lat, lon, r50, r90)

    def predict(self, images):
        return [self.prediction for _ in images]


@pytest.fixture(scope="module")
def analyzer(geocoder, worker):
    return Analyzer(geocoder=geocoder, worker=worker)


def test_a_file_that_contradicts_itself_is_named(analyzer):
    data = photo(MOSCOW, photoshop__City="Kyiv", photoshop__Country="Ukraine", dc__description="Kyiv, 12 March")
    finding = analyzer.analyze(FileSource("moscow_gps_kyiv_caption.jpg", data=data))
    assert finding.claimed_place_text == "Kyiv, Ukraine" and finding.claimed_country_code == "UA"
    assert (finding.claimed_lat, finding.claimed_lon) == pytest.approx(KYIV, abs=0.05)
    assert finding.claim_source == "XMP-photoshop:City, XMP-photoshop:Country"
    assert finding.claim_exif_check.startswith("contradicts") and finding.claim_exif_distance_km > 700
    banner = self_contradiction(finding)
    assert "contradicts itself" in banner and "Russia" in banner and "Ukraine" in banner
    assert finding.check_claim.startswith("warn") and finding.checks_flagged >= 1


def test_a_consistent_file_agrees(analyzer):
    finding = analyzer.analyze(FileSource("kyiv.jpg", data=photo(KYIV, photoshop__City="Kyiv",
                                                                 photoshop__Country="Ukraine")))
    assert finding.claim_exif_check.startswith("agrees") and self_contradiction(finding) is None
    assert finding.check_claim.startswith("ok")


def test_prediction_is_verified_against_the_claimed_place(geocoder, worker):
    lviv = Analyzer(geocoder=geocoder, worker=worker, predictor=FixedPredictor(49.84, 24.03, 50.0, 200.0))
    finding = lviv.analyze(FileSource("kyiv_claim.jpg", data=photo(photoshop__City="Kyiv",
                                                                   photoshop__Country="Ukraine")))
    assert finding.verdict == "cannot verify: no EXIF GPS"
    assert finding.claim_pred_verdict == "contradicts" and 450 < finding.claim_pred_distance_km < 500
    assert finding.claim_pred_reason.startswith("the claimed place lies")
    near = Analyzer(geocoder=geocoder, worker=worker, predictor=FixedPredictor(50.40, 30.60, 50.0, 200.0))
    assert near.analyze(FileSource("k.jpg", data=photo(photoshop__City="Kyiv"))).claim_pred_verdict == "consistent"


def test_capture_time_from_xmp_drives_the_time_and_sun_checks(analyzer):
    data = photo(photoshop__City="Lisboa", photoshop__Country="Portugal",
                 photoshop__DateCreated="2020-01-02T03:04:05Z")
    finding = analyzer.analyze(FileSource("night.jpg", data=data))
    assert finding.exif_datetime_original == "2020-01-02T03:04:05+00:00"
    assert finding.capture_time_source == "XMP-photoshop:DateCreated"
    assert finding.check_time.startswith("info") and "XMP-photoshop:DateCreated" in finding.check_time
    assert finding.check_sun.startswith("warn") and "claimed place: sun below the horizon" in finding.check_sun
    assert "XMP-photoshop:DateCreated" in finding.check_sun


def test_exports_carry_the_claim_after_the_fixed_columns(analyzer):
    finding = analyzer.analyze(FileSource("x.jpg", data=photo(
        MOSCOW, photoshop__City="Kyiv", photoshop__Country="Ukraine", dc__creator='=HYPERLINK("http://x")',
        dc__description="@SUM(1)")))
    columns = column_order()
    assert columns[:len(CORE_COLUMNS)] == list(CORE_COLUMNS)
    assert all(c in columns[len(CORE_COLUMNS):] for c in CLAIM_COLUMNS)
    assert [c for c in columns if c in CLAIM_COLUMNS] == CLAIM_COLUMNS
    row = next(csv.DictReader(io.StringIO(export([finding], "csv"))))
    assert row["claimed_city"] == "Kyiv" and row["claimed_country_code"] == "UA"
    assert row["creator"] == "'=HYPERLINK(\"http://x\")" and row["caption"] == "'@SUM(1)"
    record = json.loads(export([finding], "json"))[0]
    assert all(c in record for c in CLAIM_COLUMNS) and record["creator"] == '=HYPERLINK("http://x")'
    features = json.loads(export([finding], "geojson"))["features"]
    claimed = [f for f in features if f["properties"]["role"] == "claimed"]
    assert claimed and claimed[0]["geometry"]["coordinates"] == pytest.approx([KYIV[1], KYIV[0]], abs=0.05)


def test_map_shows_the_claim_as_a_third_point_with_escaped_text(analyzer):
    finding = analyzer.analyze(FileSource("m.jpg", data=photo(
        MOSCOW, photoshop__City="Kyiv", photoshop__Country="Ukraine",
        Iptc4xmpCore__Location="<img src=x onerror=alert(1)>")))
    html = finding_map(finding).get_root().render()
    assert CLAIM_COLOR in html and js_text_literal("Claimed in the caption/IPTC")[1:-1] in html
    # labels reach the page only as inert \\uXXXX literals shown with textContent (#11)
    assert "<img src=x onerror" not in html and js_text_literal("<img src=x onerror=alert(1)>")[1:-1] in html


def test_verify_page_shows_the_claim_and_the_contradiction(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOLOC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GEOLOC_MODEL", raising=False)
    at = AppTest.from_file(APP, default_timeout=180).run()
    data = photo(MOSCOW, photoshop__City="Kyiv", photoshop__Country="Ukraine",
                 dc__description="[click](javascript:alert(1)) **bold**")
    at.file_uploader(key="verify_upload").upload("claim.jpg", data, "image/jpeg").run()
    assert not at.exception
    errors = "\n".join(e.value for e in at.error)
    assert "contradicts itself" in errors
    from tests.test_app import _tables

    tables = _tables(at)  # the card's tables are escaped HTML (#11), not st.table
    assert "Kyiv, Ukraine" in tables and "XMP-photoshop:City" in tables
    # the caption reaches the card's plain-text table whole (how tables render text is ui/views.py's _table)
    assert "click" in tables and "javascript:alert" in tables and "bold" in tables


def test_written_date_far_from_the_camera_date_is_flagged(analyzer):
    camera = piexif.dump({"0th": {}, "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2024:05:01 12:00:00"}, "GPS": {}})
    stale = analyzer.analyze(FileSource("old.jpg", data=photo(exif=camera, photoshop__DateCreated="2022-03-12")))
    assert stale.capture_time_source == "ExifIFD:DateTimeOriginal"
    assert stale.check_time.startswith("warn") and "XMP-photoshop:DateCreated 2022-03-12" in stale.check_time
    same = analyzer.analyze(FileSource("same.jpg", data=photo(exif=camera, photoshop__DateCreated="2024-05-01")))
    assert same.check_time.startswith("ok")


def test_scan_cli_carries_the_written_claim(tmp_path):
    import subprocess
    import sys

    samples = Path(__file__).resolve().parent / "data" / "exiftool_samples"
    out = tmp_path / "claims.csv"
    result = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(samples / "IPTC.jpg"),
                             str(samples / "PhotoMechanic.jpg"), "--out", str(out), "--no-progress"],
                            capture_output=True, text=True, cwd=Path(APP).parent, timeout=600)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    rows = {Path(r["file"]).name: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    iptc = rows["IPTC.jpg"]
    assert (iptc["claimed_place_text"], iptc["claimed_country_code"]) == ("Kingston, Ont, Canada", "CA")
    assert float(iptc["claimed_lat"]) == pytest.approx(44.23, abs=0.05)  # Kingston, Ontario: "Ont" narrows it
    assert iptc["claim_source"] == "IPTC:City, IPTC:Province-State, IPTC:Country-PrimaryLocationName"
    assert (iptc["creator"], iptc["caption"]) == ("Phil Harvey", "A witty caption")
    assert (iptc["exif_datetime_original"], iptc["capture_time_source"]) == ("2004-02-26",
                                                                              "IPTC:DateCreated+TimeCreated")
    mechanic = rows["PhotoMechanic.jpg"]
    assert mechanic["capture_time_source"] == "XMP-photoshop:DateCreated+IPTC:TimeCreated" and mechanic["creator"] == "Photographer"
    # Photo Mechanic's sample writes Country "Country" and code "COD" (ISO alpha-3 of DR Congo): the code is used
    assert mechanic["claimed_country_code"] == "CD" and mechanic["claimed_lat"] == ""
    assert "'Country' not recognised" in mechanic["claim_note"] and "no GeoNames place named 'kingston'" in \
        mechanic["claim_note"]


def test_a_failing_forward_geocoder_costs_only_the_claim(geocoder, worker):
    class Broken:
        def locate(self, **_):
            raise RuntimeError("place table unreadable")

    analyzer = Analyzer(geocoder=geocoder, worker=worker, forward_geocoder=Broken())
    finding = analyzer.analyze(FileSource("k.jpg", data=photo(MOSCOW, photoshop__City="Kyiv")))
    assert finding.status == "ok" and finding.exif_country_code == "RU"
    # said once, for people: no exception class names in file messages (#13)
    assert "written place could not be located" in finding.message and "RuntimeError" not in finding.message
    assert finding.claimed_place_text == "Kyiv" and finding.claimed_lat is None


def test_case_report_carries_the_written_claim(analyzer):
    from geoloc_core.case.reports.report_content import ReportItem, file_report

    finding = analyzer.analyze(FileSource("r.jpg", data=photo(MOSCOW, photoshop__City="Kyiv", photoshop__Country="Ukraine",
                                                              dc__creator="Olena\nPetrenko")))
    sections = {s.title: dict(s.rows) for s in file_report(1, ReportItem(finding)).sections}
    claim = sections["Written claim (caption / IPTC / XMP)"]
    assert claim["Place as written"] == "Kyiv, Ukraine" and claim["EXIF GPS vs claim"].startswith("contradicts")
    assert claim["Creator"] == "Olena\\nPetrenko"  # control characters made visible, as everywhere in reports
    checks = sections["Metadata checks (status: reason)"]
    assert checks["Written place (caption / IPTC / XMP)"].startswith("warn")
