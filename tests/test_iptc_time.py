"""IPTC-IIM 2:55 DateCreated + 2:60 TimeCreated (and XMP photoshop:DateCreated) read as one capture time.

Reference: exiftool's Composite:DateTimeOriginal (``exiftool -n``), which joins DateCreated and
TimeCreated when the file has no EXIF DateTimeOriginal. Files are exiftool's Photo Mechanic sample
and files exiftool writes here; a TimeCreated without an offset is written by hand, because exiftool
always appends one.
"""
from __future__ import annotations

import json
import shutil
import struct
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from geoloc_core.evidence.checks import capture_time_utc, check_sun, check_time
from geoloc_core.evidence.inspection import inspect_file
from tests.imagegen import image_bytes
from tests.metadata_agreement import normalise_time

SAMPLES = Path(__file__).resolve().parent / "data" / "exiftool_samples"
pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is installed by make test")
KINGSTON = (44.23, -76.49)  # Ontario; UTC-05:00 on 29 October 2006 (EST began that morning)


def _exif(path: Path):
    facts, exif, _ = inspect_file(path.read_bytes())
    assert exif is not None, facts.error
    return exif


def _exiftool_composite(path: Path) -> str | None:
    """exiftool's Composite:DateTimeOriginal (IPTC or XMP DateCreated joined with a TimeCreated), else
    an XMP-photoshop:DateCreated that carries its own time (exiftool composes nothing from it)."""
    out = subprocess.run(["exiftool", "-j", "-n", "-G1", "-Composite:DateTimeOriginal", "-XMP-photoshop:DateCreated",
                          str(path)], capture_output=True, text=True, timeout=60).stdout
    record = json.loads(out)[0]
    xmp = record.get("XMP-photoshop:DateCreated")
    return record.get("Composite:DateTimeOriginal") or (xmp if xmp and " " in str(xmp) else None)


def _written(tmp_path: Path, name: str, *args: str) -> Path:
    path = tmp_path / name
    path.write_bytes(image_bytes("JPEG"))
    subprocess.run(["exiftool", "-q", "-overwrite_original", *args, str(path)], check=True, timeout=60)
    return path


def _iim(record: int, dataset: int, value: bytes) -> bytes:
    return struct.pack(">BBBH", 0x1C, record, dataset, len(value)) + value


def _with_raw_iptc(tmp_path: Path, name: str, date: bytes, time: bytes) -> Path:
    """A JPEG whose APP13 IPTC block holds exactly these DateCreated/TimeCreated bytes."""
    block = _iim(1, 90, b"\x1b%G") + _iim(2, 0, b"\x00\x04") + _iim(2, 55, date) + _iim(2, 60, time)
    block += b"\x00" * (len(block) % 2)
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(block)) + block
    body = b"Photoshop 3.0\x00" + resource
    jpeg = image_bytes("JPEG")
    path = tmp_path / name
    path.write_bytes(jpeg[:2] + b"\xff\xed" + struct.pack(">H", len(body) + 2) + body + jpeg[2:])
    return path


def test_photo_mechanic_date_gets_its_time_and_offset():
    """Named defect: Photo Mechanic's file gave 2006-10-29 where exiftool's composite gives
    2006:10:29 06:27:51-05:00 (XMP holds the day; IPTC and XMP-photomech hold the time)."""
    path = SAMPLES / "PhotoMechanic.jpg"
    exif = _exif(path)
    assert exif.claims.capture_time == "2006-10-29T06:27:51-05:00"
    assert exif.claims.capture_time_source == "XMP-photoshop:DateCreated+IPTC:TimeCreated"
    assert normalise_time(exif.claims.capture_time) == normalise_time(_exiftool_composite(path))
    utc, how = capture_time_utc(exif, KINGSTON)
    assert utc == datetime(2006, 10, 29, 11, 27, 51, tzinfo=timezone.utc) and "written UTC offset" in how
    sun = check_sun(exif, KINGSTON, None)
    assert sun.status == "ok" and "11:27 UTC" in sun.summary  # 06:27 local is before sunrise, but civil twilight


@pytest.mark.parametrize("name,args,expected", [
    ("iptc_date_only.jpg", ["-IPTC:DateCreated=2023:07:01"], "2023-07-01"),
    ("iptc_date_time.jpg", ["-IPTC:DateCreated=2023:07:01", "-IPTC:TimeCreated=18:30:00+03:00"],
     "2023-07-01T18:30:00+03:00"),
    ("iptc_time_west.jpg", ["-IPTC:DateCreated=2023:07:01", "-IPTC:TimeCreated=06:05:04-09:30"],
     "2023-07-01T06:05:04-09:30"),
    ("xmp_with_time.jpg", ["-XMP-photoshop:DateCreated=2023:07:01 18:30:00+03:00"], "2023-07-01T18:30:00+03:00"),
    ("xmp_day_iptc_time.jpg", ["-XMP-photoshop:DateCreated=2023:07:01", "-IPTC:DateCreated=2023:07:01",
                               "-IPTC:TimeCreated=18:30:00+03:00"], "2023-07-01T18:30:00+03:00"),
    ("xmp_day_photomech_time.jpg", ["-XMP-photoshop:DateCreated=2023:07:01",
                                    "-XMP-photomech:TimeCreated=18:30:00+03:00"], "2023-07-01T18:30:00+03:00"),
])
def test_date_and_time_agree_with_exiftool(tmp_path, name, args, expected):
    path = _written(tmp_path, name, *args)
    claims = _exif(path).claims
    assert claims.capture_time == expected
    theirs = _exiftool_composite(path)
    if "T" in expected:
        assert normalise_time(theirs) == normalise_time(expected)
    else:
        assert theirs is None  # exiftool composes nothing from a day alone


def test_time_without_offset_is_local_and_placed_by_the_point(tmp_path):
    path = _with_raw_iptc(tmp_path, "no_offset.jpg", b"20230701", b"183000")
    exif = _exif(path)
    assert exif.claims.capture_time == "2023-07-01T18:30:00"
    assert normalise_time(_exiftool_composite(path)) == "2023-07-01 18:30:00"
    utc, how = capture_time_utc(exif, (50.45, 30.52))  # Kyiv, UTC+03:00 in July
    assert utc == datetime(2023, 7, 1, 15, 30, tzinfo=timezone.utc) and "Europe/Kyiv" in how
    assert check_time(exif).status == "info" and "IPTC:DateCreated+TimeCreated" in check_time(exif).summary


def test_a_day_only_claim_is_not_completed_from_another_day(tmp_path):
    path = _written(tmp_path, "other_day.jpg", "-XMP-photoshop:DateCreated=2023:07:02", "-IPTC:DateCreated=2023:07:01",
                    "-IPTC:TimeCreated=18:30:00+03:00")
    claims = _exif(path).claims
    assert (claims.capture_time, claims.capture_time_source) == ("2023-07-02", "XMP-photoshop:DateCreated")
    from geoloc_core.evidence.mwg import complete_time

    assert complete_time("2023-07-02", "2023-07-01T18:30:00") == "2023-07-02"
    assert complete_time("2023-07-01T01:00:00", "2023-07-01T18:30:00") == "2023-07-01T01:00:00"


def test_a_malformed_time_leaves_the_day(tmp_path):
    path = _with_raw_iptc(tmp_path, "bad_time.jpg", b"20230701", b"25:61:00")
    claims = _exif(path).claims
    assert claims.capture_time == "2023-07-01"
