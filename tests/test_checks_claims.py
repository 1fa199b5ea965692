"""Time, time-zone and sun checks when the capture time or the place is a written claim (XMP/IPTC, #19), not EXIF.

An agency file often has no DateTimeOriginal but an XMP-photoshop:DateCreated with its UTC offset, and a written
city instead of GPS. The checks must then use that time, say where it came from, convert its offset with the right
sign, let the claimed place decide only when there is no EXIF GPS point, and flag a written date far from the camera
clock. Each expectation is an analyst's: a Kyiv photo at +02:00, a New York one at -04:00, a Sydney one with no
offset at all (the time zone at the claimed place), sun elevations against astral at the same place and time.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from astral import Observer
from astral.sun import elevation as astral_elevation

from geoloc_core.evidence.checks import (WRITTEN_DATE_TOLERANCE, capture_time_utc, check_sun, check_time,
                                         check_timezone, local_capture_time, run_checks)
from geoloc_core.evidence.exif import ExifFacts
from geoloc_core.evidence.metadata_claims import MetadataClaims

UTC = timezone.utc
KYIV = (50.4501, 30.5234)
NEW_YORK = (40.7128, -74.0060)
SYDNEY = (-33.8688, 151.2093)
XMP = "XMP-photoshop:DateCreated"
IPTC = "IPTC:DateCreated+TimeCreated"


def _photo(capture_time=None, source=XMP, written=None, written_source=XMP, **exif) -> ExifFacts:
    claims = MetadataClaims(capture_time=capture_time, capture_time_source=source if capture_time else "",
                            written_date=written, written_date_source=written_source if written else "")
    return ExifFacts(exif_present=bool(exif), claims=claims, **exif)


# --- the capture time taken from a written claim ------------------------------------------------------------------

def test_a_written_capture_time_with_its_offset_gives_utc_with_its_source():
    photo = _photo("2022-03-12T10:15:00+02:00")
    assert local_capture_time(photo) == (datetime(2022, 3, 12, 10, 15), timedelta(hours=2), XMP)
    utc, source = capture_time_utc(photo, None, KYIV)
    assert utc == datetime(2022, 3, 12, 8, 15, tzinfo=UTC)
    assert source == f"{XMP} with its written UTC offset"


def test_a_negative_written_offset_is_subtracted_with_its_sign():
    photo = _photo("2023-07-01T18:30:00-04:00", source=IPTC)
    utc, source = capture_time_utc(photo, None, NEW_YORK)
    assert utc == datetime(2023, 7, 1, 22, 30, tzinfo=UTC)  # not 14:30
    assert source == f"{IPTC} with its written UTC offset"


def test_the_camera_clock_wins_over_a_written_time():
    photo = _photo("2022-03-12T10:15:00+02:00", DateTimeOriginal="2022-03-12T11:00:00", OffsetTimeOriginal="+01:00")
    assert local_capture_time(photo) == (datetime(2022, 3, 12, 11, 0), timedelta(hours=1), "DateTimeOriginal")
    utc, source = capture_time_utc(photo, None)
    assert (utc, source) == (datetime(2022, 3, 12, 10, 0, tzinfo=UTC), "DateTimeOriginal with OffsetTimeOriginal")


def test_a_written_date_without_a_time_or_an_unreadable_one_gives_no_capture_time():
    for text in ("2004-02-26", "2004-02-26Tnoon", ""):
        photo = _photo(text or None)
        assert local_capture_time(photo) == (None, None, "")
        assert capture_time_utc(photo, None, KYIV) == (None, "")
    assert local_capture_time(ExifFacts(exif_present=True)) == (None, None, "")  # no claims at all


def test_without_an_offset_the_time_zone_at_the_claimed_place_is_used_and_named():
    photo = _photo("2024-01-15T09:00:00")  # Sydney summer: UTC+11
    utc, source = capture_time_utc(photo, None, SYDNEY)
    assert utc == datetime(2024, 1, 14, 22, 0, tzinfo=UTC)
    assert source == f"{XMP} in the time zone at the claimed place (Australia/Sydney)"
    # an EXIF GPS point is measured, a written place is not: the EXIF point's zone comes first
    utc, source = capture_time_utc(photo, NEW_YORK, SYDNEY)
    assert utc == datetime(2024, 1, 15, 14, 0, tzinfo=UTC)
    assert source == f"{XMP} in the time zone at the EXIF point (America/New_York)"
    assert capture_time_utc(photo, None, None) == (None, "")


def test_the_sun_check_uses_the_time_zone_at_the_claimed_place_when_no_offset_is_written():
    result = check_sun(_photo("2024-01-15T09:00:00"), None, None, SYDNEY)  # 22:00 UTC: morning in Sydney
    utc = datetime(2024, 1, 14, 22, 0, tzinfo=UTC)
    expected = astral_elevation(Observer(latitude=SYDNEY[0], longitude=SYDNEY[1]), utc)
    assert result.status == "ok" and expected > 20
    assert result.summary.startswith(f"claimed place: sun up, elevation {expected:.1f}°")
    assert result.summary.endswith(f"at 2024-01-14 22:00 UTC ({XMP} in the time zone at the claimed place "
                                   "(Australia/Sydney))")


# --- the time check -----------------------------------------------------------------------------------------------

def test_no_camera_time_but_a_written_one_is_reported_as_a_written_claim():
    result = check_time(_photo("2022-03-12T10:15:00+02:00"))
    assert (result.status, result.summary) == ("info", f"no DateTimeOriginal; capture time 2022-03-12T10:15:00+02:00 "
                                                       f"taken from {XMP} (a written claim, not a camera clock)")
    assert check_time(_photo()).status == "n/a" and check_time(ExifFacts(exif_present=True)).status == "n/a"


def test_a_written_date_within_a_day_of_the_camera_agrees_and_is_said_to():
    camera = dict(DateTimeOriginal="2022-03-12T23:30:00")
    for written in ("2022-03-12", "2022-03-13", "2022-03-11", "2022-03-13T23:30:00", "2022-03-11T23:30:00+05:00"):
        result = check_time(_photo(written=written, **camera))
        assert result.status == "ok", written
        assert result.summary == ("DateTimeOriginal, DateTimeDigitized, DateTime and GPS time agree where present; "
                                  f"so does {XMP}")


def test_a_written_date_more_than_a_day_from_the_camera_is_flagged_with_both_dates():
    camera = dict(DateTimeOriginal="2022-03-12T23:30:00")
    assert WRITTEN_DATE_TOLERANCE == timedelta(days=1)
    cases = [("2022-03-14", "2.0 days"), ("2022-03-10", "2.0 days"), ("2022-03-13T23:30:01", "1.0 days"),
             ("2023-03-12", "365.0 days")]
    for written, span in cases:
        result = check_time(_photo(written=written, written_source=IPTC, **camera))
        assert result.status == "warn", written
        assert result.summary == (f"{IPTC} {written} (the date written for the caption) differs from "
                                  f"DateTimeOriginal by {span}: re-captioned, or a wrong camera clock"), written


def test_an_unreadable_written_date_is_left_out_of_the_time_check():
    result = check_time(_photo(written="12 March 2022", DateTimeOriginal="2022-03-12T10:00:00"))
    assert result.status == "ok" and result.summary.endswith(f"; so does {XMP}")


# --- the time-zone and sun checks with a claimed place ------------------------------------------------------------

def test_a_written_offset_that_matches_the_claimed_place_is_ok_without_gps():
    result = check_timezone(_photo("2022-03-12T10:15:00+02:00"), None, None, KYIV)
    assert result.status == "ok"
    assert result.summary == (f"the offset written in {XMP} (+02:00) matches Europe/Kyiv at the claimed place "
                              "(UTC+02:00 then)")


def test_a_written_offset_that_contradicts_the_claimed_place_warns_without_gps():
    result = check_timezone(_photo("2023-07-01T18:30:00-04:00"), None, None, KYIV)
    assert result.status == "warn"
    assert result.summary == (f"the offset written in {XMP} (-04:00) does not match Europe/Kyiv at the claimed "
                              "place (UTC+03:00 then)")


def test_with_an_exif_point_the_claimed_place_is_reported_but_does_not_decide():
    photo = _photo("2023-07-01T18:30:00-04:00")
    result = check_timezone(photo, NEW_YORK, SYDNEY, KYIV)
    assert result.status == "ok"  # the EXIF point (New York, -04:00) decides; Kyiv only disagrees in the text
    assert result.summary == "; ".join([
        f"the offset written in {XMP} (-04:00) matches America/New_York at the EXIF GPS point (UTC-04:00 then)",
        f"the offset written in {XMP} (-04:00) does not match Australia/Sydney at the predicted point (UTC+10:00 then)",
        f"the offset written in {XMP} (-04:00) does not match Europe/Kyiv at the claimed place (UTC+03:00 then)"])
    against = check_timezone(photo, KYIV, None, NEW_YORK)
    assert against.status == "warn"  # the EXIF point says Kyiv: the written New York place does not rescue it


def test_the_predicted_point_alone_never_decides_the_time_zone():
    result = check_timezone(_photo("2023-07-01T18:30:00-04:00"), None, KYIV, None)
    assert result.status == "info" and "at the predicted point" in result.summary


def test_the_sun_at_the_claimed_place_decides_without_gps_and_matches_astral():
    night = _photo("2022-03-12T23:30:00+02:00")  # Kyiv, half past eleven at night
    result = check_sun(night, None, None, KYIV)
    utc = datetime(2022, 3, 12, 21, 30, tzinfo=UTC)
    expected = astral_elevation(Observer(latitude=KYIV[0], longitude=KYIV[1]), utc)
    assert result.status == "warn" and expected < -6
    assert result.summary.startswith(f"claimed place: sun below the horizon (night), elevation {expected:.1f}°")
    assert f"at 2022-03-12 21:30 UTC ({XMP} with its written UTC offset)" in result.summary
    day = check_sun(_photo("2022-03-12T12:00:00+02:00"), None, None, KYIV)
    assert day.status == "ok" and day.summary.startswith("claimed place: sun up")
    # with an EXIF point, the claimed place is shown but the EXIF point decides
    mixed = check_sun(night, SYDNEY, None, KYIV)  # 07:30 next morning in Sydney: daylight
    assert mixed.status == "ok" and "claimed place: sun below the horizon" in mixed.summary
    assert check_sun(night, None, None, None).status == "n/a"


def test_run_checks_passes_the_claimed_place_to_every_check_that_uses_it():
    results = {r.name: r for r in run_checks(_photo("2022-03-12T23:30:00+02:00"), None, None, None, KYIV)}
    assert results["time"].status == "info"
    assert results["timezone"].status == "ok" and "at the claimed place" in results["timezone"].summary
    assert results["sun"].status == "warn" and results["sun"].summary.startswith("claimed place: ")
