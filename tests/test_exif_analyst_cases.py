"""EXIF as phones and editors really write it: GPS off (0/0 time stamps), a time with no date, a latitude
out of range next to a valid longitude, negative UTC offsets, and the exact words of each warning.

One malformed GPS field must never cost the analyst the rest of the file (Make, DateTimeOriginal, serial
numbers, thumbnail): several tests below read a whole file around one bad field.
"""
from __future__ import annotations

import io
import math

import piexif
import pytest
from PIL import Image

from geoloc_core.evidence.exif import NO_EXIF_MESSAGE, ExifFacts, _validate_position, read_exif
from tests.imagegen import (ASCII, BYTE, RATIONAL, SHORT, dms_rationals, gps_exif, jpeg_with_raw_exif,
                            rational_payload, raw_gps_tiff)

NEW_YORK = (40.7128, -74.0060)


def _thumbnail() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def _phone_photo(gps: dict, lat=NEW_YORK[0], lon=NEW_YORK[1]) -> bytes:
    """A JPEG as a phone writes it: camera, times with offset, serials, thumbnail, plus the given GPS fields."""
    ifds = {"0th": {piexif.ImageIFD.Make: b"Apple", piexif.ImageIFD.Model: b"iPhone 15 Pro",
                    piexif.ImageIFD.Software: b"17.5.1", piexif.ImageIFD.DateTime: b"2024:07:04 10:00:00"},
            "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2024:07:04 10:00:00",
                     piexif.ExifIFD.DateTimeDigitized: b"2024:07:04 10:00:00",
                     piexif.ExifIFD.OffsetTimeOriginal: b"-04:00",
                     piexif.ExifIFD.BodySerialNumber: b"F2LXK0QJ", piexif.ExifIFD.LensSerialNumber: b"LS-123",
                     piexif.ExifIFD.LensMake: b"Apple", piexif.ExifIFD.LensModel: b"iPhone 15 Pro back camera"},
            "GPS": {piexif.GPSIFD.GPSLatitudeRef: b"N", piexif.GPSIFD.GPSLatitude: dms_rationals(lat),
                    piexif.GPSIFD.GPSLongitudeRef: b"W", piexif.GPSIFD.GPSLongitude: dms_rationals(lon), **gps},
            "1st": {piexif.ImageIFD.Compression: 6}, "thumbnail": _thumbnail()}
    exif = piexif.dump(ifds)
    out = io.BytesIO()
    Image.new("RGB", (96, 64), (20, 120, 200)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def _assert_rest_of_file_kept(facts) -> None:
    assert (facts.Make, facts.Model, facts.Software) == ("Apple", "iPhone 15 Pro", "17.5.1")
    assert facts.DateTimeOriginal == "2024-07-04T10:00:00" and facts.OffsetTimeOriginal == "-04:00"
    assert facts.DateTimeDigitized == "2024-07-04T10:00:00" and facts.DateTime == "2024-07-04T10:00:00"
    assert (facts.BodySerialNumber, facts.LensSerialNumber) == ("F2LXK0QJ", "LS-123")
    assert (facts.LensMake, facts.LensModel) == ("Apple", "iPhone 15 Pro back camera")
    assert facts.thumbnail is not None and facts.thumbnail[:2] == b"\xff\xd8"
    assert facts.GPSLatitude == pytest.approx(NEW_YORK[0], abs=1e-6)
    assert facts.GPSLongitude == pytest.approx(NEW_YORK[1], abs=1e-6)


# 5. GPS off, or a GPS time without a date: the rest of the file survives

def test_gps_time_stamp_0_over_0_keeps_make_times_serials_and_thumbnail():
    facts = read_exif(_phone_photo({piexif.GPSIFD.GPSDateStamp: b"2024:07:04",
                                    piexif.GPSIFD.GPSTimeStamp: ((0, 0), (0, 0), (0, 0))}))
    _assert_rest_of_file_kept(facts)
    assert facts.GPSDateTime_utc is None
    assert facts.warnings == ["GPSTimeStamp has a zero denominator 0/0 (0/0 is what phones write when GPS was "
                              "off); ignored"]


def test_gps_time_without_a_date_keeps_the_rest_and_gives_no_gps_time():
    facts = read_exif(_phone_photo({piexif.GPSIFD.GPSTimeStamp: ((14, 1), (0, 1), (30, 1))}))
    _assert_rest_of_file_kept(facts)
    assert facts.GPSDateTime_utc is None and facts.warnings == []
    no_time = read_exif(_phone_photo({piexif.GPSIFD.GPSDateStamp: b"2024:07:04"}))
    _assert_rest_of_file_kept(no_time)
    assert no_time.GPSDateTime_utc is None and no_time.warnings == []


def test_gps_date_and_time_give_utc_with_fractional_seconds_truncated():
    facts = read_exif(_phone_photo({piexif.GPSIFD.GPSDateStamp: b"2024:07:04",
                                    piexif.GPSIFD.GPSTimeStamp: ((14, 1), (0, 1), (5999, 100))}))
    _assert_rest_of_file_kept(facts)
    assert facts.GPSDateTime_utc == "2024-07-04T14:00:59Z" and facts.warnings == []
    last = read_exif(_phone_photo({piexif.GPSIFD.GPSDateStamp: b"2024:07:04",
                                   piexif.GPSIFD.GPSTimeStamp: ((23, 1), (59, 1), (59, 1))}))
    assert last.GPSDateTime_utc == "2024-07-04T23:59:59Z"
    midnight = read_exif(_phone_photo({piexif.GPSIFD.GPSDateStamp: b"2024:07:04",
                                       piexif.GPSIFD.GPSTimeStamp: ((0, 1), (0, 1), (0, 1))}))
    assert midnight.GPSDateTime_utc == "2024-07-04T00:00:00Z"


@pytest.mark.parametrize("date,hms", [(b"2024:02:30", ((12, 1), (0, 1), (0, 1))),
                                      (b"2024:07:04", ((24, 1), (0, 1), (0, 1))),
                                      (b"July 4th", ((12, 1), (0, 1), (0, 1)))])
def test_impossible_gps_date_or_time_is_a_warning_and_the_rest_survives(date, hms):
    facts = read_exif(_phone_photo({piexif.GPSIFD.GPSDateStamp: date, piexif.GPSIFD.GPSTimeStamp: hms}))
    _assert_rest_of_file_kept(facts)
    assert facts.GPSDateTime_utc is None
    assert facts.warnings == [f"GPSDateStamp/GPSTimeStamp is not a valid UTC time: {date.decode()!r}"]


def test_gps_time_with_two_values_is_ignored():
    entries = [(0x1D, ASCII, 11, b"2024:07:04\x00"), (7, RATIONAL, 2, rational_payload((14, 1), (0, 1)))]
    facts = read_exif(jpeg_with_raw_exif(raw_gps_tiff(entries)))
    assert facts.GPSDateTime_utc is None


# 6. coordinate ranges, each axis on its own

@pytest.mark.parametrize("lat,lon_ref,lon", [(91, b"E", 10), (10, b"E", 181), (90.5, b"W", 0.5)])
def test_one_coordinate_out_of_range_rejects_the_point(lat, lon_ref, lon):
    entries = [(1, ASCII, 2, b"N\x00"), (2, RATIONAL, 3, rational_payload(*dms_rationals(lat))),
               (3, ASCII, 2, lon_ref + b"\x00"), (4, RATIONAL, 3, rational_payload(*dms_rationals(lon)))]
    facts = read_exif(jpeg_with_raw_exif(raw_gps_tiff(entries)))
    assert facts.GPSLatitude is None and facts.GPSLongitude is None
    sign = "-" if lon_ref == b"W" else ""
    assert facts.warnings == [f"GPS coordinates out of range (lat {lat:.6f}, lon {sign}{lon:.6f}; |lat| must be "
                              "<= 90, |lon| <= 180); no coordinate"]


def test_the_poles_and_the_antimeridian_are_real_places():
    entries = [(1, ASCII, 2, b"S\x00"), (2, RATIONAL, 3, rational_payload((90, 1), (0, 1), (0, 1))),
               (3, ASCII, 2, b"W\x00"), (4, RATIONAL, 3, rational_payload((180, 1), (0, 1), (0, 1)))]
    facts = read_exif(jpeg_with_raw_exif(raw_gps_tiff(entries)))
    assert (facts.GPSLatitude, facts.GPSLongitude) == (-90.0, -180.0) and facts.warnings == []
    assert facts.has_gps


def test_null_island_only_when_both_are_zero():
    entries = [(1, ASCII, 2, b"N\x00"), (2, RATIONAL, 3, rational_payload((0, 1), (0, 1), (0, 1))),
               (3, ASCII, 2, b"E\x00"), (4, RATIONAL, 3, rational_payload((9, 1), (0, 1), (0, 1)))]
    facts = read_exif(jpeg_with_raw_exif(raw_gps_tiff(entries)))
    assert (facts.GPSLatitude, facts.GPSLongitude) == (0.0, 9.0) and facts.warnings == []


def test_position_checks_name_each_problem():
    nan = ExifFacts(GPSLatitude=math.nan, GPSLongitude=10.0)
    _validate_position(nan)
    assert nan.GPSLatitude is None and nan.GPSLongitude is None
    assert nan.warnings == ["GPS coordinates are not finite numbers; no coordinate"]
    infinite = ExifFacts(GPSLatitude=10.0, GPSLongitude=math.inf)
    _validate_position(infinite)
    assert infinite.GPSLongitude is None and infinite.warnings == ["GPS coordinates are not finite numbers; no coordinate"]
    null = ExifFacts(GPSLatitude=0.0, GPSLongitude=0.0)
    _validate_position(null)
    assert null.warnings == ["GPS coordinates are (0, 0), 'null island': a placeholder written without a GPS fix; "
                             "no coordinate"]
    half = ExifFacts(GPSLatitude=None, GPSLongitude=10.0)
    _validate_position(half)
    assert half.GPSLongitude is None
    assert half.warnings == ["only one of GPSLatitude/GPSLongitude is usable; no coordinate"]
    neither = ExifFacts()
    _validate_position(neither)
    assert neither.warnings == []


# refs, types and values, with the words the analyst sees

def test_lower_case_and_spelled_out_refs_are_read_by_their_first_letter():
    entries = [(1, ASCII, 6, b"south\x00"), (2, RATIONAL, 3, rational_payload((33, 1), (52, 1), (0, 1))),
               (3, ASCII, 2, b"w\x00"), (4, RATIONAL, 3, rational_payload((70, 1), (15, 1), (0, 1)))]
    facts = read_exif(jpeg_with_raw_exif(raw_gps_tiff(entries)))
    assert facts.GPSLatitude == pytest.approx(-(33 + 52 / 60)) and facts.GPSLongitude == -70.25


def test_hemisphere_warnings_say_what_was_found():
    lon = rational_payload((2, 1), (0, 1), (0, 1))
    missing = read_exif(jpeg_with_raw_exif(raw_gps_tiff([(2, RATIONAL, 3, lon), (3, ASCII, 2, b"E\x00"),
                                                         (4, RATIONAL, 3, lon)])))
    assert missing.warnings[0] == ("GPSLatitudeRef is missing (expected N or S): hemisphere unknown; no coordinate")
    wrong = read_exif(jpeg_with_raw_exif(raw_gps_tiff([(1, ASCII, 2, b"N\x00"), (2, RATIONAL, 3, lon),
                                                       (3, ASCII, 2, b"N\x00"), (4, RATIONAL, 3, lon)])))
    assert wrong.warnings[0] == "GPSLongitudeRef is 'N' (expected E or W): hemisphere unknown; no coordinate"
    ref_only = read_exif(jpeg_with_raw_exif(raw_gps_tiff([(1, ASCII, 2, b"N\x00"), (3, ASCII, 2, b"E\x00"),
                                                          (4, RATIONAL, 3, lon)])))
    assert ref_only.warnings[0] == "GPSLatitudeRef is present without GPSLatitude; no coordinate"


def test_type_and_value_warnings_are_exact():
    lon = rational_payload((2, 1), (0, 1), (0, 1))
    short = read_exif(jpeg_with_raw_exif(raw_gps_tiff([(1, ASCII, 2, b"N\x00"), (2, SHORT, 3, b"\x30\x00\x33\x00\x1e\x00"),
                                                       (3, ASCII, 2, b"E\x00"), (4, RATIONAL, 3, lon)])))
    assert short.warnings[0] == "GPSLatitude has the wrong type (SHORT instead of RATIONAL: '[48, 51, 30]'); ignored"
    empty = read_exif(jpeg_with_raw_exif(raw_gps_tiff([(1, ASCII, 2, b"N\x00"), (2, RATIONAL, 0, b""),
                                                       (3, ASCII, 2, b"E\x00"), (4, RATIONAL, 3, lon)])))
    assert empty.warnings[0] == "GPSLatitude is present but empty; ignored"
    zero = read_exif(jpeg_with_raw_exif(raw_gps_tiff([(1, ASCII, 2, b"N\x00"),
                                                      (2, RATIONAL, 3, rational_payload((48, 1), (51, 0), (0, 1))),
                                                      (3, ASCII, 2, b"E\x00"), (4, RATIONAL, 3, lon)])))
    assert zero.warnings[0] == "GPSLatitude has a zero denominator 51/0; ignored"


def test_only_the_first_three_dms_values_count():
    four = rational_payload((48, 1), (30, 1), (0, 1), (99, 0))
    facts = read_exif(jpeg_with_raw_exif(raw_gps_tiff([(1, ASCII, 2, b"N\x00"), (2, RATIONAL, 4, four),
                                                       (3, ASCII, 2, b"E\x00"),
                                                       (4, RATIONAL, 3, rational_payload((2, 1), (0, 1), (0, 1)))])))
    assert facts.GPSLatitude == 48.5 and facts.warnings == []


def test_altitude_above_and_below_sea_level_and_direction():
    above = read_exif(jpeg_with_raw_exif(raw_gps_tiff([(5, BYTE, 1, b"\x00"),
                                                       (6, RATIONAL, 1, rational_payload((8848, 1)))])))
    assert above.GPSAltitude_m == 8848.0
    no_ref = read_exif(jpeg_with_raw_exif(raw_gps_tiff([(6, RATIONAL, 1, rational_payload((431, 2)))])))
    assert no_ref.GPSAltitude_m == 215.5
    below = read_exif(image_bytes_with(gps_exif(31.5, 35.5, altitude=-430.5)))
    assert below.GPSAltitude_m == -430.5
    direction = read_exif(jpeg_with_raw_exif(raw_gps_tiff([(0x11, RATIONAL, 1, rational_payload((2755, 10)))])))
    assert direction.GPSImgDirection_deg == 275.5 and direction.GPSImgDirectionRef is None


def image_bytes_with(exif: bytes) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24)).save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.mark.parametrize("raw,expected,warning", [
    (b"-04:00", "-04:00", None), (b"+14:00", "+14:00", None), (b"+05:45", "+05:45", None),
    (b"-00:00", "-00:00", None), (b"+15:00", None, "'+15:00'"), (b"+05:60", None, "'+05:60'"),
    (b"04:00", None, "'04:00'")])
def test_utc_offsets_keep_their_sign_and_stay_within_real_zones(raw, expected, warning):
    exif = gps_exif(None, None, Exif={piexif.ExifIFD.DateTimeOriginal: b"2024:07:04 10:00:00",
                                      piexif.ExifIFD.OffsetTimeOriginal: raw})
    facts = read_exif(image_bytes_with(exif))
    assert facts.OffsetTimeOriginal == expected
    if expected:
        assert facts.datetime_original_with_offset == "2024-07-04T10:00:00" + expected and facts.warnings == []
    else:
        assert facts.warnings == [f"OffsetTimeOriginal is not a valid UTC offset: {warning}"]
        assert facts.datetime_original_with_offset == "2024-07-04T10:00:00"


@pytest.mark.parametrize("raw,expected", [(b"2024:07:04 10:00:00", "2024-07-04T10:00:00"),
                                          (b"2024:07:04T10:00:00", "2024-07-04T10:00:00"),
                                          (b"2024:07:04 10:00:00.123", "2024-07-04T10:00:00"),
                                          (b"2024:13:04 10:00:00", None), (b"2024:07:04", None),
                                          (b"    ", None)])
def test_date_time_original_formats(raw, expected):
    facts = read_exif(image_bytes_with(gps_exif(None, None, Exif={piexif.ExifIFD.DateTimeOriginal: raw})))
    assert facts.DateTimeOriginal == expected
    if expected is None and raw.strip():
        assert facts.warnings == [f"DateTimeOriginal is not a valid date/time: {raw.decode()!r}"]
    else:
        assert facts.warnings == []
    assert facts.datetime_original_with_offset == expected


@pytest.mark.parametrize("value,expected,warning", [(1, 1, None), (8, 8, None), (0, None, 0), (9, None, 9)])
def test_orientation_outside_1_to_8_is_reported(value, expected, warning):
    facts = read_exif(image_bytes_with(gps_exif(None, None, **{"0th": {piexif.ImageIFD.Orientation: value}})))
    assert facts.Orientation == expected
    assert facts.warnings == ([] if warning is None else [f"Orientation has an invalid value {warning}; ignored"])


def test_text_fields_are_stripped_of_nuls_and_blank_ones_are_none():
    exif = gps_exif(None, None, **{"0th": {piexif.ImageIFD.Make: b"  Canon\x00\x00 ", piexif.ImageIFD.Model: b" \x00 ",
                                           piexif.ImageIFD.Software: "Lightroom \u00e9".encode()}})
    facts = read_exif(image_bytes_with(exif))
    assert facts.Make == "Canon" and facts.Model is None
    assert facts.exif_present and facts.warnings == []


def test_unparseable_exif_says_why_and_keeps_no_point():
    facts = read_exif(b"\xff\xd8\xff")  # a JPEG cut off after its first marker: exifread fails on it
    assert not facts.exif_present and not facts.has_gps
    assert facts.warnings == ["EXIF could not be parsed (IndexError: index out of range)"]
    stripped = read_exif(b"\xff\xd8\xff\xe1\x00\x20Exif\x00\x00II*\x00\x08\x00\x00\x00" + b"\x00" * 14)
    assert not stripped.exif_present and stripped.warnings == [NO_EXIF_MESSAGE]


# text that is not UTF-8, and the low-level readers on shapes exifread can hand over

def test_make_that_is_not_utf8_is_shown_with_a_replacement_character():
    exif = gps_exif(None, None, **{"0th": {piexif.ImageIFD.Make: b"Caf\xe9\x00", piexif.ImageIFD.Model: b"  D850  "}})
    facts = read_exif(image_bytes_with(exif))
    assert facts.Make == "Caf\ufffd" and facts.Model == "D850"


class _Tag:
    """The three attributes of an exifread tag that the readers use."""

    def __init__(self, values, field_type=5, printable=None):
        self.values, self.field_type = values, field_type
        self.printable = str(values) if printable is None else printable


def test_rational_reader_on_every_shape():
    from fractions import Fraction

    from geoloc_core.evidence.exif import _rationals

    warnings: list[str] = []
    assert _rationals("GPSAltitude", _Tag([5, Fraction(1, 2)]), 2, warnings) == [Fraction(5), Fraction(1, 2)]
    assert warnings == []
    assert _rationals("GPSAltitude", _Tag([1.5]), 1, warnings) is None
    assert warnings == ["GPSAltitude holds a non-numeric value 1.5; ignored"]
    warnings.clear()
    assert _rationals("GPSAltitude", _Tag((5, 1)), 1, warnings) is None  # a tuple is not the list exifread gives
    assert _rationals("GPSAltitude", _Tag([5], field_type=99, printable="x" * 60), 1, warnings) is None
    assert _rationals("GPSAltitude", _Tag("12", field_type=5), 1, warnings) is None
    assert len(warnings) == 3 and all(w.startswith("GPSAltitude has the wrong type (") for w in warnings)
    assert warnings[1] == f"GPSAltitude has the wrong type (99 instead of RATIONAL: {'x' * 40!r}); ignored"


@pytest.mark.parametrize("tiff", [
    raw_gps_tiff([(1, ASCII, 2, b"N\x00")]),  # little-endian, as cameras write it
    piexif.dump({"0th": {piexif.ImageIFD.Make: b"Apple"}, "Exif": {}, "GPS": {}})[6:],  # big-endian (piexif)
])
def test_exif_block_is_found_in_the_container_by_pillow(tiff):
    from geoloc_core.evidence.exif import _exif_blob_via_pillow

    out = io.BytesIO()
    Image.new("RGB", (16, 16)).save(out, "WEBP", exif=b"Exif\x00\x00" + tiff)
    assert _exif_blob_via_pillow(out.getvalue()) == tiff
    plain = io.BytesIO()
    Image.new("RGB", (16, 16)).save(plain, "WEBP")
    assert _exif_blob_via_pillow(plain.getvalue()) is None
    assert _exif_blob_via_pillow(b"not an image") is None
    junk = io.BytesIO()
    Image.new("RGB", (16, 16)).save(junk, "WEBP", exif=b"Exif\x00\x00" + b"\x00" * 20 + tiff[:8])
    assert _exif_blob_via_pillow(junk.getvalue()) is None  # no TIFF header where one must start


@pytest.mark.parametrize("hms,expected", [(((14, 1), (0, 1), (0, 1)), "14:00:00"), (((14, 1), (1, 1), (0, 1)), "14:01:00"),
                                          (((0, 1), (0, 1), (3599, 1)), "00:59:59"),
                                          (((14, 1), (0, 1), (0, 1), (0, 0)), "14:00:00")])
def test_gps_time_on_the_hour_and_minute(hms, expected):
    facts = read_exif(_phone_photo({piexif.GPSIFD.GPSDateStamp: b"2024:07:04", piexif.GPSIFD.GPSTimeStamp: hms}))
    assert facts.GPSDateTime_utc == f"2024-07-04T{expected}Z" and facts.warnings == []


def test_long_garbage_is_quoted_short_in_warnings():
    garbage = "x" * 80
    exif = gps_exif(None, None, Exif={piexif.ExifIFD.DateTimeOriginal: garbage.encode(),
                                      piexif.ExifIFD.OffsetTimeOriginal: garbage.encode()},
                    GPS={piexif.GPSIFD.GPSDateStamp: garbage.encode(),
                         piexif.GPSIFD.GPSTimeStamp: ((14, 1), (0, 1), (0, 1))})
    facts = read_exif(image_bytes_with(exif))
    assert facts.warnings == [f"GPSDateStamp/GPSTimeStamp is not a valid UTC time: {'x' * 20!r}",
                              f"DateTimeOriginal is not a valid date/time: {'x' * 40!r}",
                              f"OffsetTimeOriginal is not a valid UTC offset: {'x' * 20!r}"]


@pytest.mark.parametrize("raw,expected_start", [(b"II*\x00II*\x00" + b"\x00" * 16, 0),  # the first header wins
                                                (b"x" * 12 + b"II*\x00" + b"\x00" * 16, 12),  # header within 16 bytes
                                                (b"x" * 13 + b"MM\x00*" + b"\x00" * 16, None)])  # too far in
def test_tiff_header_is_looked_for_in_the_first_16_bytes_only(raw, expected_start):
    from geoloc_core.evidence.exif import _exif_blob_via_pillow

    out = io.BytesIO()
    Image.new("RGB", (16, 16)).save(out, "WEBP", exif=raw)  # Pillow hands the chunk back as written
    assert _exif_blob_via_pillow(out.getvalue()) == (None if expected_start is None else raw[expected_start:])


def test_a_hemisphere_ref_written_as_a_number_is_reported_as_what_it_is():
    entries = [(1, BYTE, 1, b"N"), (2, RATIONAL, 3, rational_payload((48, 1), (0, 1), (0, 1))),
               (3, ASCII, 2, b"E\x00"), (4, RATIONAL, 3, rational_payload((2, 1), (0, 1), (0, 1)))]
    facts = read_exif(jpeg_with_raw_exif(raw_gps_tiff(entries)))
    assert facts.GPSLatitude is None
    assert facts.warnings == ["GPSLatitudeRef is '78' (expected N or S): hemisphere unknown; no coordinate",
                              "only one of GPSLatitude/GPSLongitude is usable; no coordinate"]


def test_when_both_readers_fail_the_last_error_is_reported_in_short(monkeypatch):
    from geoloc_core.evidence import exif

    errors = iter([KeyError("container"), ValueError("z" * 200)])

    def failing(data):
        raise next(errors)

    monkeypatch.setattr(exif, "_exifread_tags", failing)
    monkeypatch.setattr(exif, "_exif_blob_via_pillow", lambda data: b"II*\x00")
    facts = read_exif(b"whatever")
    assert facts.warnings == [f"EXIF could not be parsed (ValueError: {'z' * 120})"] and not facts.exif_present


def test_an_unforeseen_tag_shape_keeps_what_was_read_and_says_why(monkeypatch):
    from geoloc_core.evidence import exif

    def unforeseen(*args):
        raise RuntimeError("y" * 200)

    monkeypatch.setattr(exif, "_parse_datetime", unforeseen)
    facts = read_exif(_phone_photo({}))
    assert facts.exif_present and facts.GPSLatitude == pytest.approx(NEW_YORK[0], abs=1e-6)
    assert facts.warnings == [f"EXIF partly unreadable (RuntimeError: {'y' * 120})"]


def test_only_the_first_value_of_altitude_direction_and_altitude_ref_counts():
    entries = [(5, BYTE, 2, b"\x01\x00"), (6, RATIONAL, 2, rational_payload((430, 1), (1, 0))),
               (0x11, RATIONAL, 2, rational_payload((90, 1), (7, 0)))]
    facts = read_exif(jpeg_with_raw_exif(raw_gps_tiff(entries)))
    assert facts.GPSAltitude_m == -430.0 and facts.GPSImgDirection_deg == 90.0 and facts.warnings == []


def test_bad_direction_and_bad_secondary_times_are_named_in_warnings():
    direction = read_exif(jpeg_with_raw_exif(raw_gps_tiff([(0x11, RATIONAL, 1, rational_payload((5, 0)))])))
    assert direction.GPSImgDirection_deg is None
    assert direction.warnings == ["GPSImgDirection has a zero denominator 5/0; ignored"]
    exif = gps_exif(None, None, **{"0th": {piexif.ImageIFD.DateTime: b"2024:99:01 00:00:00"},
                                   "Exif": {piexif.ExifIFD.DateTimeDigitized: b"yesterday"}})
    facts = read_exif(image_bytes_with(exif))
    assert facts.warnings == ["DateTimeDigitized is not a valid date/time: 'yesterday'",
                              "DateTime is not a valid date/time: '2024:99:01 00:00:00'"]
