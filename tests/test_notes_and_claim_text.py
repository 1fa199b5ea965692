"""#32: what the card says about an image too small or flat to predict from, with a written claim: the note
is one bullet (its "(8 x 8 px; at least 32 px ...)" is not cut in two), and "Prediction vs claim" says the
prediction was withheld for the image, not that it failed."""
from __future__ import annotations

import html
import io
import re
from pathlib import Path

from PIL import Image
from streamlit.testing.v1 import AppTest

from geoloc_core.case.notes import note_lines
from tests.test_claims_case import xmp_packet

APP = str(Path(__file__).resolve().parents[1] / "app.py")
SMALL_NOTE = "no prediction: image too small to predict a location from (8 x 8 px; at least 32 px per side needed)"


def test_notes_split_only_outside_brackets():
    assert note_lines(f"{SMALL_NOTE}; EXIF: GPSLatitude has a zero denominator; [a; b] c") == [
        SMALL_NOTE, "EXIF: GPSLatitude has a zero denominator", "[a; b] c"]
    assert note_lines("one") == ["one"] and note_lines("") == []
    assert note_lines("odd ) bracket; next") == ["odd ) bracket", "next"]  # an unmatched bracket cannot swallow the rest


def test_small_image_with_a_written_country_says_why_there_is_no_prediction(data_dir, tiny_model_dir):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (120, 80, 40)).save(buffer, "JPEG", xmp=xmp_packet(photoshop__Country="Russia"))
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["model_path"] = str(tiny_model_dir)
    at.run()
    at.file_uploader(key="verify_upload").upload("icon.jpg", buffer.getvalue(), "image/jpeg").run()
    assert not at.exception
    notes = [t.value for t in at.text if t.value.startswith("• ")]
    assert f"• {SMALL_NOTE}" in notes, notes
    rows = [html.unescape(re.sub(r"<[^>]+>", " ", row)).strip() for h in at.html for row in h.proto.body.split("<tr>")]
    row = next(r for r in rows if r.startswith("Prediction vs claim"))
    assert "prediction failed" not in row
    assert "cannot verify: image too small or flat" in row and "8 x 8 px" in row, row


def test_the_report_keeps_a_bracketed_note_whole():
    """The report's "Notes from the analysis" split the same note in two (h-stale's review of #32)."""
    from geoloc_core.case.findings import Finding
    from geoloc_core.case.reports.report_content import ReportItem, file_report

    finding = Finding(file="small.jpg", message=f"{SMALL_NOTE}; EXIF: no GPS")
    report = file_report(1, ReportItem(finding=finding))
    notes = next(s for s in report.sections if s.title == "Notes from the analysis")
    assert [value for _, value in notes.rows] == [SMALL_NOTE, "EXIF: no GPS"]
