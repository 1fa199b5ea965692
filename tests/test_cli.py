from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import piexif
import pytest

from geoloc_core.case.findings import CORE_COLUMNS
from tests.imagegen import (ASCII, RATIONAL, gps_exif, image_bytes, jpeg_with_raw_exif, rational_payload,
                            raw_gps_tiff)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("mixed")
    (folder / "sub").mkdir()
    (folder / "paris.jpg").write_bytes(image_bytes(exif=gps_exif(48.8584, 2.2945, altitude=35, **{
        "0th": {piexif.ImageIFD.Make: b"Apple", piexif.ImageIFD.Model: b"iPhone 15",
                piexif.ImageIFD.Software: b"=HYPERLINK(\"http://x\")"},
        "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2024:06:01 10:00:00",
                 piexif.ExifIFD.OffsetTimeOriginal: b"+02:00"}})))
    (folder / "sub" / "sydney.heic").write_bytes(image_bytes("HEIF", exif=gps_exif(-33.8568, 151.2153)))
    (folder / "stripped.webp").write_bytes(image_bytes("WEBP"))
    (folder / "gps_off.jpg").write_bytes(jpeg_with_raw_exif(raw_gps_tiff([
        (1, ASCII, 2, b"N\x00"), (2, RATIONAL, 3, rational_payload((0, 0), (0, 0), (0, 0)))])))
    (folder / "notes.jpg").write_bytes(b"meeting notes\n" * 20)
    (folder / "report.png").write_bytes(b"%PDF-1.5\n" + bytes(200))
    (folder / "empty.jpg").write_bytes(b"")
    good = image_bytes(size=(400, 300))
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (folder / ".hidden.jpg").write_bytes(good)
    return folder


def _scan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "geoloc_core", "scan", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def test_scan_mixed_folder_to_csv(mixed_folder, tmp_path):
    out = tmp_path / "findings.csv"
    result = _scan(str(mixed_folder), str(mixed_folder / "missing.jpg"), "--out", str(out), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    rows = {Path(r["file"]).name: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert list(next(csv.reader(out.open()))[: len(CORE_COLUMNS)]) == list(CORE_COLUMNS)
    assert ".hidden.jpg" not in rows and len(rows) == 9
    paris = rows["paris.jpg"]
    assert paris["status"] == "ok" and paris["file_type"] == "jpeg"
    assert float(paris["exif_lat"]) == pytest.approx(48.8584, abs=1e-6)
    assert paris["exif_country_code"] == "FR" and paris["exif_continent"] == "Europe"
    assert paris["exif_datetime_original"] == "2024-06-01T10:00:00+02:00"
    assert paris["software"].startswith("'=")  # neutralised for spreadsheets
    assert paris["verdict"] == "cannot verify: no model" and paris["pred_lat"] == ""
    assert rows["sydney.heic"]["file_type"] == "heic" and rows["sydney.heic"]["exif_country_code"] == "AU"
    assert "no EXIF metadata" in rows["stripped.webp"]["message"]
    assert rows["gps_off.jpg"]["status"] == "ok" and "zero denominator" in rows["gps_off.jpg"]["message"]
    assert rows["notes.jpg"]["status"] == "error" and "text file" in rows["notes.jpg"]["message"]
    assert rows["report.png"]["file_type"] == "pdf" and "PDF document" in rows["report.png"]["message"]
    assert "empty file" in rows["empty.jpg"]["message"]
    assert "truncated JPEG" in rows["truncated.jpg"]["message"]
    assert rows["missing.jpg"]["message"] == "unreadable path: no such file"
    assert all(len(r["sha256"]) == 64 for name, r in rows.items() if name != "missing.jpg")


def test_scan_geojson_format_from_extension(mixed_folder, tmp_path):
    out = tmp_path / "findings.geojson"
    result = _scan(str(mixed_folder / "paris.jpg"), "--out", str(out), "--no-progress")
    assert result.returncode == 0
    features = json.loads(out.read_text())["features"]
    assert features[0]["properties"]["role"] == "exif"
    assert features[0]["geometry"]["coordinates"][0] == pytest.approx(2.2945, abs=1e-6)


def test_bad_invocation_exits_nonzero():
    assert _scan().returncode == 2
    assert _scan("x.jpg", "--out", "o.csv", "--format", "xml").returncode == 2
