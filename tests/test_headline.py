"""Issue #28: the story of the file leads. A file whose GPS says Basel and whose caption says Kyiv is
headlined as contradicting itself, before the model's verdict, on Verify, in both reports' covers and
on the report map; the banner lists exactly the checks the CSV counts; the analyst's own assessment
is in both reports, labelled as the analyst's.

Seen before the fix: the banner read "location plausible ... 1 check flagged: editing traces" with the
contradiction in a box below; the reports' cover listed only the model verdict; the report map had no
claimed place; the reports carried the analyst's note but not their verdict or tags.
"""
from __future__ import annotations

import io
import subprocess

import piexif
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from geoloc_core.case.analyzer import Analyzer
from geoloc_core.case.banner import compose_banner
from geoloc_core.case.reports.report_content import ReportItem, build_report
from geoloc_core.case.reports.report_html import render_html
from geoloc_core.case.reports.report_map import CLAIM_RGB, marker_pixel, render_map_png
from geoloc_core.case.reports.report_pdf import render_pdf
from geoloc_core.evidence.sources import FileSource
from tests.imagegen import gps_exif
from tests.test_claims_case import APP, FixedPredictor, photo

BASEL = (47.5596, 7.5886)
CONTRADICTS_ITSELF = "The file contradicts itself: its GPS and its written location"


def _basel_claims_kyiv() -> bytes:
    """GPS in Basel, an editor in Software (one more flagged check), the caption's place Kyiv."""
    exif = gps_exif(*BASEL, **{"0th": {piexif.ImageIFD.Software: b"Adobe Photoshop 25.0"}})
    return photo(exif=exif, photoshop__City="Kyiv", photoshop__Country="Ukraine")


@pytest.fixture(scope="module")
def finding(geocoder, worker):
    near_basel = Analyzer(geocoder=geocoder, worker=worker, predictor=FixedPredictor(47.6, 7.7, 50.0, 300.0))
    found = near_basel.analyze(FileSource("basel_claims_kyiv.jpg", data=_basel_claims_kyiv()))
    assert found.verdict == "consistent" and found.claim_exif_check.startswith("contradicts")
    return found


def test_the_self_contradiction_is_the_banners_first_sentence(finding):
    banner = compose_banner(finding)
    assert banner.text.startswith(CONTRADICTS_ITSELF)
    assert banner.level == "error"
    assert banner.text.index("contradicts itself") < banner.text.index("location consistent")


def test_the_banner_lists_what_the_csv_counts(finding):
    banner = compose_banner(finding)
    assert finding.checks_flagged == 2  # editing traces and the written place
    assert f"{finding.checks_flagged} checks flagged: " in banner.text
    assert "editing traces: " in banner.text and "written place: " in banner.text


def _report(finding):
    finding.analyst_verdict, finding.analyst_tags = "refuted", "caption-mismatch, <b>x</b>"
    return build_report([ReportItem(finding, note="called the source; <i>no answer</i>")], "case", "A. Analyst",
                        "one file")


def test_report_cover_lists_the_headline_and_the_analysts_assessment(finding, tmp_path):
    report = _report(finding)
    assert report.summary[1][3] == compose_banner(finding).text
    html = render_html(report)
    cover = html[html.index("<h2>Files</h2>"):html.index("<h2>Models</h2>")]
    assert CONTRADICTS_ITSELF in cover
    section = html[html.index("Analyst&#39;s assessment"):]
    assert "refuted" in section and "caption-mismatch, &lt;b&gt;x&lt;/b&gt;" in section
    assert "&lt;i&gt;no answer&lt;/i&gt;" in section
    (tmp_path / "r.pdf").write_bytes(render_pdf(report))
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", "-layout", str(tmp_path / "r.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    cover_page = " ".join(text.split("\f")[0].split())
    assert "contradicts itself" in cover_page
    squashed = " ".join(text.split())
    assert "Analyst's assessment (the analyst's own, not geoloc's)" in squashed
    assert "Analyst's verdict refuted" in squashed and "<b>x</b>" in squashed


def test_report_map_shows_the_claimed_place(finding):
    picture = Image.open(io.BytesIO(render_map_png(finding))).convert("RGB")
    x, y = marker_pixel(finding, "claimed")
    near = [picture.getpixel((x + dx, y + dy)) for dx in range(-2, 3) for dy in range(-2, 3)]
    assert any(sum(abs(a - b) for a, b in zip(pixel, CLAIM_RGB)) < 40 for pixel in near)
    assert abs(x - marker_pixel(finding, "exif")[0]) > 100  # Kyiv is far east of Basel on the picture


def test_verify_page_headlines_the_contradiction(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOLOC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GEOLOC_MODEL", raising=False)
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.file_uploader(key="verify_upload").upload("basel_claims_kyiv.jpg", _basel_claims_kyiv(), "image/jpeg").run()
    assert not at.exception
    banner = at.error[0].value.replace("\\", "")  # the Markdown escapes off
    assert banner.startswith(CONTRADICTS_ITSELF)
    assert "cannot verify location: no model" in banner and "2 checks flagged" in banner
    assert len(at.error) == 1  # one headline, not the banner and a second box saying the same
