"""One file, two stories: the "metadata blocks disagree" check.

Files: exiftool's ``ExifTool.jpg`` (EXIF says FUJIFILM 2001, its CIFF block says Canon 1998) and files
that exiftool edits here so that a second block tells another story (XMP CreateDate beside EXIF's, XMP
make and GPS, an embedded thumbnail with its own EXIF, a maker-note serial). The block values are checked
against exiftool's own per-block reading (``exiftool -a -G1``).
"""
from __future__ import annotations

import csv
import html
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from geoloc_core.case.banner import flagged_checks
from geoloc_core.case.exports.export import write_csv
from geoloc_core.case.findings import Finding
from geoloc_core.case.reports.report_content import ReportItem, build_report
from geoloc_core.case.reports.report_html import render_html
from geoloc_core.evidence.checks import run_checks
from geoloc_core.evidence.inspection import inspect_file
from tests.imagegen import image_bytes

SAMPLES = Path(__file__).resolve().parent / "data" / "exiftool_samples"
pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is installed by make test")
BASE = ["-IFD0:Make=NIKON CORPORATION", "-IFD0:Model=NIKON Z 6", "-ExifIFD:DateTimeOriginal=2024:03:01 10:00:00",
        "-ExifIFD:CreateDate=2024:03:01 10:00:00", "-GPSLatitude=50.4501", "-GPSLatitudeRef=N",
        "-GPSLongitude=30.5234", "-GPSLongitudeRef=E"]


def _blocks_check(path: Path):
    facts, exif, forensic = inspect_file(path.read_bytes())
    assert exif is not None, facts.error
    results = {r.name: r for r in run_checks(exif, forensic, None, None)}
    assert "blocks" in results, "no metadata-blocks check"
    return results["blocks"], exif


def _written(tmp_path: Path, name: str, *args: str, base: bytes | None = None) -> Path:
    path = tmp_path / name
    path.write_bytes(base or image_bytes("JPEG", size=(160, 120)))
    subprocess.run(["exiftool", "-q", "-m", "-overwrite_original", *BASE, *args, str(path)], check=True, timeout=60)
    return path


def test_exiftool_jpg_tells_two_stories():
    """Named defect: EXIF's FUJIFILM 2001 and CIFF's Canon 1998 in one file passed without a word."""
    path = SAMPLES / "ExifTool.jpg"
    result, exif = _blocks_check(path)
    assert result.status == "warn"
    assert "camera make: IFD0:Make 'FUJIFILM' vs CIFF:Make 'Canon'" in result.summary
    assert ("capture time: ExifIFD:DateTimeOriginal 2001-05-19T18:36:41 vs CIFF:DateTimeOriginal "
            "1998-05-01T21:33:18") in result.summary
    # each block's value is what exiftool reads in that block
    record = json.loads(subprocess.run(["exiftool", "-j", "-a", "-G1", "-Make", "-Model", "-DateTimeOriginal",
                                        str(path)], capture_output=True, text=True, timeout=60).stdout)[0]
    ours = {v.tag: v.value for v in exif.blocks}
    assert ours["IFD0:Make"] == record["IFD0:Make"] and ours["CIFF:Make"] == record["CIFF:Make"]
    assert ours["CIFF:Model"] == record["CIFF:Model"]
    assert ours["CIFF:DateTimeOriginal"].replace("-", ":").replace("T", " ") == record["CIFF:DateTimeOriginal"]


def test_an_edited_file_keeps_an_old_xmp_create_date(tmp_path):
    path = _written(tmp_path, "edited.jpg", "-XMP-xmp:CreateDate=2019:07:04 08:30:00")
    result, _ = _blocks_check(path)
    assert result.status == "warn" and ("digitised time: ExifIFD:CreateDate 2024-03-01T10:00:00 vs "
                                        "XMP-xmp:CreateDate 2019-07-04T08:30:00") in result.summary


@pytest.mark.parametrize("args", [
    ["-XMP-xmp:CreateDate=2024:03:01 10:00:01"],  # 1 s: within the tolerance
    ["-XMP-xmp:CreateDate=2024:03:01 10:00:00+02:00"],  # EXIF writes no offset: wall clocks compared
    ["-ExifIFD:OffsetTimeOriginal=+02:00", "-XMP-exif:DateTimeOriginal=2024:03:01 09:00:00+01:00"],  # same instant
    ["-XMP-tiff:Make=Nikon", "-XMP-tiff:Model=Z 6"],  # one maker, two spellings
    ["-XMP-exif:GPSLatitude=50.4502", "-XMP-exif:GPSLatitudeRef=N", "-XMP-exif:GPSLongitude=30.5234",
     "-XMP-exif:GPSLongitudeRef=E"],  # 11 m apart
])
def test_blocks_within_tolerance_agree(tmp_path, args):
    result, _ = _blocks_check(_written(tmp_path, "agree.jpg", *args))
    assert result.status == "ok", result.summary


@pytest.mark.parametrize("args,expected", [
    (["-XMP-exif:DateTimeOriginal=2024:03:01 10:00:03"], "capture time: ExifIFD:DateTimeOriginal"),
    (["-ExifIFD:OffsetTimeOriginal=+02:00", "-XMP-exif:DateTimeOriginal=2024:03:01 10:00:00+01:00"],
     "(1.0 h apart)"),
    (["-XMP-tiff:Make=Canon"], "camera make: IFD0:Make 'NIKON CORPORATION' vs XMP-tiff:Make 'Canon'"),
    (["-XMP-tiff:Model=NIKON D850"], "camera model: IFD0:Model 'NIKON Z 6' vs XMP-tiff:Model 'NIKON D850'"),
    (["-XMP-exif:GPSLatitude=50.50", "-XMP-exif:GPSLatitudeRef=N", "-XMP-exif:GPSLongitude=30.5234",
      "-XMP-exif:GPSLongitudeRef=E"], "(5.5 km apart)"),
    (["-IPTC:DateCreated=2024:03:01", "-IPTC:TimeCreated=14:00:00+00:00", "-ExifIFD:OffsetTimeOriginal=+02:00"],
     "vs IPTC:DateCreated+TimeCreated 2024-03-01T14:00:00+00:00 (6.0 h apart)"),
])
def test_a_second_block_that_disagrees_is_named(tmp_path, args, expected):
    result, _ = _blocks_check(_written(tmp_path, "two.jpg", *args))
    assert result.status == "warn" and expected in result.summary, result.summary


def test_the_thumbnails_own_exif_is_a_block(tmp_path):
    thumb = _written(tmp_path, "thumb.jpg", "-IFD0:Make=Canon", "-IFD0:Model=Canon EOS 5D",
                     base=image_bytes("JPEG", size=(64, 48)))
    main = _written(tmp_path, "main.jpg", f"-ThumbnailImage<={thumb}")
    result, exif = _blocks_check(main)
    assert any(v.block == "thumbnail EXIF" for v in exif.blocks)
    assert result.status == "warn" and "IFD0:Make 'NIKON CORPORATION' vs Thumbnail:Make 'Canon'" in result.summary


def test_the_maker_notes_serial_number_is_a_block(tmp_path):
    path = _written(tmp_path, "serial.jpg", "-tagsfromfile", str(SAMPLES / "Canon1DmkIII.jpg"), "-makernotes",
                    "-IFD0:Make=Canon", "-IFD0:Model=Canon EOS-1D Mark III", "-ExifIFD:SerialNumber=0000123456")
    result, _ = _blocks_check(path)
    assert result.status == "warn" and \
        "serial number: ExifIFD:SerialNumber '0000123456' vs MakerNotes:SerialNumber '500292'" in result.summary


def test_one_block_alone_is_not_checkable(tmp_path):
    result, _ = _blocks_check(_written(tmp_path, "alone.jpg"))
    assert result.status == "n/a"


def test_hostile_block_values_reach_reports_escaped(tmp_path):
    payload = "<img src=x onerror=alert(1)>\r=HYPERLINK(\"http://x\")"
    path = _written(tmp_path, "hostile.jpg", f"-XMP-tiff:Make={payload}")
    result, _ = _blocks_check(path)
    assert result.status == "warn" and "\r" not in result.summary and "<img src=x" in result.summary
    finding = Finding(file="hostile.jpg", check_blocks=result.cell())
    assert flagged_checks(finding) == [("metadata blocks", result.summary)]
    page = render_html(build_report([ReportItem(finding)], "c", "a", "s"))
    assert "<img src=x" not in page and html.escape("<img src=x", quote=False) in page
    stream = io.StringIO()
    write_csv([finding], stream)
    row = next(csv.DictReader(io.StringIO(stream.getvalue())))
    assert row["check_blocks"].startswith("warn: metadata blocks disagree")
