from __future__ import annotations

import json
import shutil
import subprocess

import piexif
import pytest

from geoloc_core.evidence.exif import NO_EXIF_MESSAGE, read_exif
from tests.imagegen import (ASCII, BYTE, RATIONAL, dms_rationals, dms_value, gps_exif, image_bytes,
                            jpeg_with_raw_exif, rational_payload, raw_gps_tiff)

PLACES = [(48.8584, 2.2945), (-33.8568, 151.2153), (40.6892, -74.0445), (-22.9519, -43.2105),
          (64.1466, -21.9426), (-77.8463, 166.6683), (89.9, 179.999), (0.0001, -0.0001)]


@pytest.mark.parametrize("lat,lon", PLACES)
def test_signed_decimal_degrees_from_dms_and_refs(lat, lon):
    facts = read_exif(image_bytes(exif=gps_exif(lat, lon)))
    assert facts.GPSLatitude == pytest.approx(dms_value(dms_rationals(lat)) * (1 if lat >= 0 else -1), abs=1e-12)
    assert facts.GPSLongitude == pytest.approx(dms_value(dms_rationals(lon)) * (1 if lon >= 0 else -1), abs=1e-12)
    assert abs(facts.GPSLatitude - lat) < 1e-6 and abs(facts.GPSLongitude - lon) < 1e-6
    assert facts.warnings == []


@pytest.mark.parametrize("fmt,save", [("JPEG", {}), ("PNG", {}), ("WEBP", {}), ("TIFF", {}), ("HEIF", {})])
def test_every_supported_container(fmt, save):
    exif = gps_exif(-33.8568, 151.2153, **{"0th": {piexif.ImageIFD.Make: b"Apple"}})
    facts = read_exif(image_bytes(fmt, exif=exif, **save))
    assert facts.GPSLatitude == pytest.approx(-33.8568, abs=1e-6)
    assert facts.GPSLongitude == pytest.approx(151.2153, abs=1e-6)
    assert facts.Make == "Apple"


def test_altitude_below_sea_level_direction_and_gps_time():
    exif = gps_exif(31.5, 35.5, altitude=-430.5, GPS={
        piexif.GPSIFD.GPSImgDirectionRef: b"T", piexif.GPSIFD.GPSImgDirection: (2755, 10),
        piexif.GPSIFD.GPSDateStamp: b"2024:03:09", piexif.GPSIFD.GPSTimeStamp: ((13, 1), (5, 1), (9, 1))})
    facts = read_exif(image_bytes(exif=exif))
    assert facts.GPSAltitude_m == pytest.approx(-430.5)
    assert facts.GPSImgDirection_deg == pytest.approx(275.5) and facts.GPSImgDirectionRef == "T"
    assert facts.GPSDateTime_utc == "2024-03-09T13:05:09Z"


def test_camera_time_and_software_fields():
    exif = gps_exif(None, None, **{
        "0th": {piexif.ImageIFD.Make: b"Canon\x00", piexif.ImageIFD.Model: b"EOS R5",
                piexif.ImageIFD.Software: b"Adobe Photoshop 25.0", piexif.ImageIFD.Orientation: 6,
                piexif.ImageIFD.DateTime: b"2024:05:02 09:00:00"},
        "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2024:05:01 18:30:00", piexif.ExifIFD.OffsetTimeOriginal: b"+05:30",
                 piexif.ExifIFD.LensModel: b"RF24-70mm F2.8 L IS USM"}})
    facts = read_exif(image_bytes(exif=exif))
    assert (facts.Make, facts.Model, facts.Software) == ("Canon", "EOS R5", "Adobe Photoshop 25.0")
    assert facts.Orientation == 6 and facts.LensModel == "RF24-70mm F2.8 L IS USM"
    assert facts.datetime_original_with_offset == "2024-05-01T18:30:00+05:30"
    assert facts.DateTime == "2024-05-02T09:00:00"
    assert not facts.has_gps


def test_no_exif_at_all_is_said_plainly():
    facts = read_exif(image_bytes("PNG"))
    assert not facts.exif_present and facts.warnings == [NO_EXIF_MESSAGE]


def _raw(entries):
    return read_exif(jpeg_with_raw_exif(raw_gps_tiff(entries)))


LAT = rational_payload((48, 1), (51, 1), (30, 1))
LON = rational_payload((2, 1), (17, 1), (40, 1))


def test_raw_builder_produces_a_readable_coordinate():
    facts = _raw([(1, ASCII, 2, b"N\x00"), (2, RATIONAL, 3, LAT), (3, ASCII, 2, b"W\x00"), (4, RATIONAL, 3, LON)])
    assert facts.GPSLatitude == pytest.approx(48 + 51 / 60 + 30 / 3600)
    assert facts.GPSLongitude == pytest.approx(-(2 + 17 / 60 + 40 / 3600))


@pytest.mark.parametrize("entries,expected", [
    ([(1, ASCII, 2, b"N\x00"), (2, RATIONAL, 3, rational_payload((0, 0), (0, 0), (0, 0))),
      (3, ASCII, 2, b"E\x00"), (4, RATIONAL, 3, LON)], "zero denominator 0/0"),
    ([(1, ASCII, 2, b"N\x00"), (2, RATIONAL, 3, rational_payload((48, 0), (1, 1), (1, 1))),
      (3, ASCII, 2, b"E\x00"), (4, RATIONAL, 3, LON)], "zero denominator 48/0"),
    ([(1, ASCII, 2, b"N\x00"), (2, RATIONAL, 0, b""), (3, ASCII, 2, b"E\x00"), (4, RATIONAL, 3, LON)], "empty"),
    ([(1, ASCII, 2, b"N\x00"), (2, ASCII, 8, b"48.8584\x00"), (3, ASCII, 2, b"E\x00"), (4, RATIONAL, 3, LON)],
     "wrong type"),
    ([(1, ASCII, 2, b"N\x00"), (3, ASCII, 2, b"E\x00"), (4, RATIONAL, 3, LON)], "GPSLatitudeRef is present without"),
    ([(2, RATIONAL, 3, LAT), (3, ASCII, 2, b"E\x00"), (4, RATIONAL, 3, LON)], "hemisphere unknown"),
    ([(1, ASCII, 2, b"X\x00"), (2, RATIONAL, 3, LAT), (3, ASCII, 2, b"E\x00"), (4, RATIONAL, 3, LON)],
     "hemisphere unknown"),
    ([(1, ASCII, 2, b"N\x00"), (2, RATIONAL, 3, rational_payload((999, 1), (0, 1), (0, 1))),
      (3, ASCII, 2, b"W\x00"), (4, RATIONAL, 3, rational_payload((720, 1), (0, 1), (0, 1)))], "out of range"),
    ([(1, ASCII, 2, b"N\x00"), (2, RATIONAL, 3, rational_payload((0, 1), (0, 1), (0, 1))),
      (3, ASCII, 2, b"E\x00"), (4, RATIONAL, 3, rational_payload((0, 1), (0, 1), (0, 1)))], "null island"),
])
def test_malformed_gps_is_a_warning_and_no_coordinate(entries, expected):
    facts = _raw(entries)
    assert facts.GPSLatitude is None and facts.GPSLongitude is None
    assert any(expected in w for w in facts.warnings), facts.warnings


def test_gps_pointer_past_end_of_file_does_not_crash():
    tiff = raw_gps_tiff([(1, ASCII, 2, b"N\x00")], gps_pointer=10_000_000)
    facts = read_exif(jpeg_with_raw_exif(tiff))
    assert facts.GPSLatitude is None
    assert isinstance(facts.warnings, list)


def test_bad_altitude_ref_type_and_bad_dates_are_reported():
    entries = [(5, BYTE, 1, b"\x01"), (6, RATIONAL, 1, rational_payload((10, 0)))]
    facts = _raw(entries)
    assert facts.GPSAltitude_m is None
    assert any("GPSAltitude has a zero denominator" in w for w in facts.warnings)
    exif = gps_exif(None, None, Exif={piexif.ExifIFD.DateTimeOriginal: b"0000:00:00 00:00:00",
                                      piexif.ExifIFD.OffsetTimeOriginal: b"+99:00"})
    facts = read_exif(image_bytes(exif=exif))
    assert facts.DateTimeOriginal is None and facts.OffsetTimeOriginal is None
    assert any("DateTimeOriginal is not a valid" in w for w in facts.warnings)
    assert any("OffsetTimeOriginal is not a valid" in w for w in facts.warnings)


@pytest.mark.parametrize("data", [b"", b"\xff\xd8\xff", b"\xff\xd8\xff\xe1\xff\xff" + b"Exif\x00\x00II*\x00" + b"\xff" * 50,
                                  bytes(range(256)) * 8])
def test_garbage_never_raises(data):
    facts = read_exif(data)
    assert facts.GPSLatitude is None


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is installed by make test")
def test_agrees_with_exiftool_to_1e6_degrees(tmp_path):
    import random

    rng = random.Random(7)
    paths = []
    for i in range(40):
        lat, lon = rng.uniform(-89.9, 89.9), rng.uniform(-179.9, 179.9)
        path = tmp_path / f"img{i}.jpg"
        path.write_bytes(image_bytes(exif=gps_exif(lat, lon, altitude=rng.uniform(-50, 3000))))
        paths.append(path)
    out = subprocess.run(["exiftool", "-n", "-j", "-GPSLatitude", "-GPSLongitude", "-GPSAltitude", *map(str, paths)],
                         capture_output=True, text=True, check=True).stdout
    reference = {row["SourceFile"]: row for row in json.loads(out)}
    for path in paths:
        ours = read_exif(path.read_bytes())
        theirs = reference[str(path)]
        assert abs(ours.GPSLatitude - theirs["GPSLatitude"]) < 1e-6
        assert abs(ours.GPSLongitude - theirs["GPSLongitude"]) < 1e-6
        assert abs(ours.GPSAltitude_m - theirs["GPSAltitude"]) < 1e-3
