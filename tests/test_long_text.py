"""Issue #31, item 4: one long caption never kills a report, and no metadata string is megabytes long.

Seen before the fixes: a 3,000-character description (CJK: each character a full-width glyph) made the PDF
writer raise "row too high", so ``scan --report r.html --report r.pdf`` exited 1 and wrote neither; EXIF text
had no cap (a 60 MB ImageDescription became a 63 MB case-log row and CSV cell).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import piexif
import pytest

from geoloc_core.case.findings import Finding
from geoloc_core.case.reports import reporting
from geoloc_core.case.reports.report_content import ReportItem
from geoloc_core.evidence.exif import read_exif
from geoloc_core.evidence.text_limits import MAX_TEXT_CHARS
from tests.imagegen import image_bytes
from tests.test_claims_case import photo

ROOT = Path(__file__).resolve().parents[1]
LONG_CJK = "漢字" * 1500  # 3,000 full-width characters


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    (tmp_path / "r.pdf").write_bytes(data)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_an_exif_string_is_cut_at_the_documented_length_and_says_so():
    description = "A" * 60_000
    data = image_bytes(exif=piexif.dump({"0th": {piexif.ImageIFD.ImageDescription: description.encode()}}))
    facts = read_exif(data)
    assert facts.ImageDescription == description[:MAX_TEXT_CHARS]
    digest = hashlib.sha256(description.encode()).hexdigest()
    assert (f"ImageDescription cut at {MAX_TEXT_CHARS:,} characters (the full value has 60,000 characters, "
            f"SHA-256 {digest})") in facts.warnings


def test_a_long_caption_is_cut_in_the_pdf_and_whole_in_the_html(tmp_path):
    finding = Finding(file="a.jpg", sha256="ab" * 32, caption=LONG_CJK, claimed_place_text="Kyiv")
    files = reporting.render_reports([ReportItem(finding)], "case", "analyst", "one file")
    assert files.problems == []
    assert LONG_CJK in files.html
    text = " ".join(_pdf_text(files.pdf, tmp_path).split())
    assert "cut at 1,200 of 3,000 characters for the PDF" in text


def test_one_writer_failing_never_loses_the_other(tmp_path, monkeypatch):
    def broken(report):
        raise ValueError("The row with index 2 is too high and cannot be rendered on a single page")

    monkeypatch.setattr(reporting, "render_pdf", broken)
    finding = Finding(file="a.jpg", sha256="ab" * 32, verdict="cannot verify: no model")
    files = reporting.render_reports([ReportItem(finding)], "case", "analyst", "one file")
    assert "a.jpg" in files.html and "cannot verify: no model" in files.html  # the HTML report is whole
    assert files.problems and "the PDF report could not be laid out (ValueError: The row" in files.problems[0]
    assert "could not lay out this report" in " ".join(_pdf_text(files.pdf, tmp_path).split())


@pytest.mark.slow
def test_scan_writes_both_reports_for_a_file_with_a_long_caption(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "long.jpg").write_bytes(photo(dc__description=LONG_CJK))
    (folder / "good.jpg").write_bytes(image_bytes())
    env = {**os.environ, "GEOLOC_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(folder), "--out", str(tmp_path / "f.csv"),
                             "--report", str(tmp_path / "r.html"), "--report", str(tmp_path / "r.pdf"), "--no-progress"],
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert LONG_CJK in (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "long.jpg" in _pdf_text((tmp_path / "r.pdf").read_bytes(), tmp_path)
