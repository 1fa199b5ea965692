"""Time, time zone, sun and editing checks on photos from both sides of Greenwich and both hemispheres.

The first tests used only Paris at +02:00, where a lost minus sign or a swapped latitude/longitude could
not show. Here: New York at -04:00, Sydney at +10:00, St. John's at -02:30, Kathmandu at +05:45, and every
sun elevation compared with an independent computation (astral, at the same place and time).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from astral import Observer
from astral.sun import azimuth as astral_azimuth
from astral.sun import elevation as astral_elevation

from geoloc_core.evidence.checks import (NIGHT_ELEVATION_DEG, TIME_TOLERANCE, _span, capture_time_utc, check_editing,
                                         check_sun, check_time, check_timezone, run_checks, sun_position)
from geoloc_core.evidence.exif import ExifFacts
from geoloc_core.evidence.forensic_facts import ForensicFacts

NEW_YORK = (40.7128, -74.0060)
SYDNEY = (-33.8688, 151.2093)
ST_JOHNS = (47.5615, -52.7126)  # Newfoundland: UTC-02:30 in summer
KATHMANDU = (27.7172, 85.3240)  # UTC+05:45 all year
PARIS = (48.8584, 2.2945)
UTC = timezone.utc


def _exif(**kw) -> ExifFacts:
    return ExifFacts(exif_present=True, **kw)


def _astral(point, utc):
    observer = Observer(latitude=point[0], longitude=point[1])
    return astral_elevation(observer, utc), astral_azimuth(observer, utc)


# 1. and 2. negative offsets, and local time minus the offset

def test_new_york_photo_at_minus_four_hours_is_read_as_utc_plus_four():
    photo = _exif(DateTimeOriginal="2024-07-04T10:00:00", OffsetTimeOriginal="-04:00")
    utc, source = capture_time_utc(photo, NEW_YORK)
    assert utc == datetime(2024, 7, 4, 14, 0, tzinfo=UTC)
    assert source == "DateTimeOriginal with OffsetTimeOriginal"
    zone = check_timezone(photo, NEW_YORK, None)
    assert zone.status == "ok"
    assert zone.summary == ("OffsetTimeOriginal -04:00 matches America/New_York at the EXIF GPS point "
                            "(UTC-04:00 then)")
    sun = check_sun(photo, NEW_YORK, None)  # 10 a.m. in July: daylight, not a false night
    assert sun.status == "ok" and "sun up" in sun.summary
    assert sun.summary.endswith("at 2024-07-04 14:00 UTC (DateTimeOriginal with OffsetTimeOriginal)")


def test_sydney_photo_at_plus_ten_hours_is_read_as_utc_minus_ten():
    photo = _exif(DateTimeOriginal="2024-06-21T12:00:00", OffsetTimeOriginal="+10:00")
    utc, _ = capture_time_utc(photo, SYDNEY)
    assert utc == datetime(2024, 6, 21, 2, 0, tzinfo=UTC)
    zone = check_timezone(photo, SYDNEY, NEW_YORK)
    assert zone.status == "ok"
    assert "matches Australia/Sydney at the EXIF GPS point (UTC+10:00 then)" in zone.summary
    assert "does not match America/New_York at the predicted point (UTC-04:00 then)" in zone.summary


def test_a_sydney_offset_claimed_for_a_new_york_point_is_a_warning():
    photo = _exif(DateTimeOriginal="2024-07-04T10:00:00", OffsetTimeOriginal="+10:00")
    zone = check_timezone(photo, NEW_YORK, SYDNEY)
    assert zone.status == "warn"  # decided by the EXIF point, not by the predicted one that matches
    assert "does not match America/New_York at the EXIF GPS point" in zone.summary


def test_camera_time_at_minus_four_agrees_with_gps_time():
    photo = _exif(DateTimeOriginal="2024-07-04T10:00:00", OffsetTimeOriginal="-04:00",
                  GPSDateTime_utc="2024-07-04T14:01:00Z")
    result = check_time(photo)
    assert result.status == "ok"
    assert result.summary == "DateTimeOriginal, DateTimeDigitized, DateTime and GPS time agree where present"
    clash = check_time(_exif(DateTimeOriginal="2024-07-04T10:00:00", OffsetTimeOriginal="-04:00",
                             GPSDateTime_utc="2024-07-04T06:00:00Z"))
    assert clash.status == "warn"
    assert clash.summary == ("GPS time 2024-07-04 06:00:00 UTC and camera time 2024-07-04 14:00:00 UTC "
                             "disagree by 8.0 h")


def test_gps_and_camera_time_may_differ_by_two_minutes_and_no_more():
    base = dict(DateTimeOriginal="2024-07-04T10:00:00", OffsetTimeOriginal="-04:00")
    assert TIME_TOLERANCE == timedelta(seconds=120)
    assert check_time(_exif(**base, GPSDateTime_utc="2024-07-04T14:02:00Z")).status == "ok"
    assert check_time(_exif(**base, GPSDateTime_utc="2024-07-04T13:58:00Z")).status == "ok"
    late = check_time(_exif(**base, GPSDateTime_utc="2024-07-04T14:02:01Z"))
    assert late.status == "warn" and late.summary.endswith("disagree by 2 min")


# 3. the sun, against astral at the same place and time

@pytest.mark.parametrize("point,utc", [
    (NEW_YORK, datetime(2024, 7, 4, 14, 0, tzinfo=UTC)),
    (SYDNEY, datetime(2024, 6, 21, 2, 0, tzinfo=UTC)),
    (PARIS, datetime(2024, 12, 21, 8, 30, tzinfo=UTC)),
    ((-54.8019, -68.3030), datetime(2024, 1, 10, 20, 0, tzinfo=UTC)),  # Ushuaia
])
def test_sun_position_matches_astral_at_the_place(point, utc):
    ours = sun_position(point[0], point[1], utc)
    theirs = _astral(point, utc)
    assert ours == pytest.approx(theirs, abs=1e-9)
    exif_time = utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    summary = check_sun(_exif(GPSDateTime_utc=exif_time), point, None).summary
    assert f"elevation {theirs[0]:.1f}°, azimuth {theirs[1]:.1f}°" in summary
    assert f"(shadows point to {(theirs[1] + 180) % 360:.0f}°)" in summary


def test_sun_in_new_york_is_judged_at_new_york_not_at_swapped_coordinates():
    # at (lat -74, lon 40.7) the sun is 16 deg below the horizon; in New York it is 48 deg up
    photo = _exif(GPSDateTime_utc="2024-07-04T14:00:00Z")
    result = check_sun(photo, NEW_YORK, None)
    elevation = _astral(NEW_YORK, datetime(2024, 7, 4, 14, 0, tzinfo=UTC))[0]
    assert elevation > 40
    assert result.status == "ok"
    assert result.summary.startswith(f"EXIF GPS point: sun up, elevation {elevation:.1f}°")
    assert result.summary.endswith("at 2024-07-04 14:00 UTC (GPS time (UTC))")


def test_twilight_and_night_follow_civil_twilight():
    dusk_utc = datetime(2024, 7, 5, 0, 45, tzinfo=UTC)  # 20:45 in New York, 14 min after sunset
    elevation = _astral(NEW_YORK, dusk_utc)[0]
    assert NIGHT_ELEVATION_DEG < elevation < 0
    dusk = check_sun(_exif(GPSDateTime_utc="2024-07-05T00:45:00Z"), NEW_YORK, None)
    assert dusk.status == "ok" and "EXIF GPS point: twilight" in dusk.summary
    assert "daylight photo would contradict" not in dusk.summary
    night = check_sun(_exif(GPSDateTime_utc="2024-07-05T03:00:00Z"), NEW_YORK, SYDNEY)
    assert night.status == "warn" and "EXIF GPS point: sun below the horizon (night)" in night.summary
    assert "predicted point: sun up" in night.summary  # Sydney at 13:00 local
    assert night.summary.endswith(": a daylight photo would contradict the claimed place and time")


def test_sun_at_the_predicted_point_alone_is_information_not_a_verdict():
    night_there = check_sun(_exif(GPSDateTime_utc="2024-07-05T03:00:00Z"), None, NEW_YORK)
    assert night_there.status == "info" and night_there.summary.startswith("predicted point: sun below")
    assert check_sun(_exif(GPSDateTime_utc="2024-07-05T03:00:00Z"), None, None).status == "n/a"
    assert check_sun(_exif(), NEW_YORK, None).summary == "needs a capture time and a point"


# 7. DateTimeDigitized and XMP CreatorTool

def test_date_time_digitized_hours_apart_from_original_is_flagged():
    result = check_time(_exif(DateTimeOriginal="2024-07-04T10:00:00", DateTimeDigitized="2024-07-04T13:00:00"))
    assert result.status == "warn"
    assert result.summary == "DateTimeDigitized differs from DateTimeOriginal by 3.0 h"
    earlier = check_time(_exif(DateTimeOriginal="2024-07-04T10:00:00", DateTimeDigitized="2024-07-03T10:00:00"))
    assert earlier.status == "warn" and earlier.summary.endswith("by 1.0 days")  # a scan dated before the shot


def test_date_time_digitized_within_two_minutes_agrees():
    for digitized in ("2024-07-04T10:00:00", "2024-07-04T10:02:00", "2024-07-04T09:58:00"):
        result = check_time(_exif(DateTimeOriginal="2024-07-04T10:00:00", DateTimeDigitized=digitized))
        assert result.status == "ok", digitized
    assert check_time(_exif(DateTimeOriginal="2024-07-04T10:00:00",
                            DateTimeDigitized="2024-07-04T10:02:01")).status == "warn"


def test_file_rewritten_after_capture_is_flagged_and_within_tolerance_is_not():
    assert check_time(_exif(DateTimeOriginal="2024-07-04T10:00:00", DateTime="2024-07-04T10:02:00")).status == "ok"
    rewritten = check_time(_exif(DateTimeOriginal="2024-07-04T10:00:00", DateTime="2024-07-04T10:05:00"))
    assert rewritten.status == "warn"
    assert rewritten.summary == ("DateTime 2024-07-04T10:05:00 is 5 min after DateTimeOriginal: "
                                 "the file was written again later (edited or re-saved)")


def test_photoshop_named_only_in_xmp_creator_tool_is_an_editing_trace():
    camera_exif = _exif(Software="17.5.1", Make="Apple")
    result = check_editing(camera_exif, ForensicFacts(xmp_creator_tool="Adobe Photoshop 25.0 (Macintosh)"))
    assert result.status == "warn"
    assert result.summary.startswith("XMP CreatorTool names an editor: Adobe Photoshop 25.0 (Macintosh)")
    assert "Software names an editor" not in result.summary
    honest = check_editing(camera_exif, ForensicFacts(xmp_creator_tool="iPhone 15 Pro",
                                                      markers=["XMP metadata packet"]))
    assert honest.status == "ok"
    assert honest.summary == "no editor named in Software or XMP, no Photoshop or re-sharing markers"


def test_editor_in_software_and_in_xmp_are_both_listed():
    result = check_editing(_exif(Software="GIMP 2.10"), ForensicFacts(xmp_creator_tool="GIMP 2.10"))
    assert result.summary.startswith("Software names an editor: GIMP 2.10; XMP CreatorTool names an editor: GIMP 2.10")
    assert result.summary.endswith(" (editing is not forgery: crops and exposure fixes are common)")
    assert check_editing(_exif(Software="Snapseed"), None).status == "warn"
    assert check_editing(_exif(), None).status == "ok"


# 8. time-zone fallbacks

def test_without_an_offset_the_zone_at_the_exif_point_gives_utc():
    photo = _exif(DateTimeOriginal="2024-07-04T10:00:00")
    utc, source = capture_time_utc(photo, NEW_YORK)
    assert utc == datetime(2024, 7, 4, 14, 0, tzinfo=UTC)
    assert source == "DateTimeOriginal in the time zone at the EXIF point (America/New_York)"
    winter, _ = capture_time_utc(_exif(DateTimeOriginal="2024-01-04T10:00:00"), NEW_YORK)
    assert winter == datetime(2024, 1, 4, 15, 0, tzinfo=UTC)  # EST, daylight saving time honoured
    sun = check_sun(photo, NEW_YORK, None)
    assert sun.status == "ok" and "(DateTimeOriginal in the time zone at the EXIF point (America/New_York))" in sun.summary
    assert capture_time_utc(photo, None) == (None, "")
    assert capture_time_utc(photo, (0.0, -30.0))[0] in (None, datetime(2024, 7, 4, 12, 0, tzinfo=UTC))  # at sea


def test_gps_time_wins_over_camera_time_and_offset():
    photo = _exif(DateTimeOriginal="2024-07-04T10:00:00", OffsetTimeOriginal="-04:00",
                  GPSDateTime_utc="2024-07-04T14:00:30Z")
    assert capture_time_utc(photo, NEW_YORK) == (datetime(2024, 7, 4, 14, 0, 30, tzinfo=UTC), "GPS time (UTC)")


@pytest.mark.parametrize("point,local,gps,offset,zone", [
    (NEW_YORK, "2024-07-04T10:00:00", "2024-07-04T14:00:40Z", "-04:00", "America/New_York"),
    (ST_JOHNS, "2024-07-04T10:00:00", "2024-07-04T12:30:20Z", "-02:30", "America/St_Johns"),
    (KATHMANDU, "2024-07-04T12:00:00", "2024-07-04T06:15:20Z", "+05:45", "Asia/Kathmandu"),
    (SYDNEY, "2024-06-21T12:00:00", "2024-06-21T01:59:10Z", "+10:00", "Australia/Sydney"),
])
def test_offset_implied_by_gps_time_is_checked_against_the_zone(point, local, gps, offset, zone):
    photo = _exif(DateTimeOriginal=local, GPSDateTime_utc=gps)
    result = check_timezone(photo, point, None)
    assert result.status == "ok", result.summary
    assert result.summary == (f"the offset implied by GPS time ({offset}) matches {zone} at the EXIF GPS point "
                              f"(UTC{offset} then)")
    implied = check_time(photo)
    assert implied.status == "ok" and implied.summary == f"GPS time implies the camera clock was set to UTC{offset}"


def test_implied_offset_beyond_fourteen_hours_is_no_time_zone():
    ok = check_time(_exif(DateTimeOriginal="2024-07-04T14:00:00", GPSDateTime_utc="2024-07-04T00:00:00Z"))
    assert ok.status == "ok" and ok.summary.endswith("UTC+14:00")  # Kiribati, Line Islands
    far = check_time(_exif(DateTimeOriginal="2024-07-04T15:00:00", GPSDateTime_utc="2024-07-04T00:00:00Z"))
    assert far.status == "warn"
    assert far.summary == "GPS time and DateTimeOriginal are 15.0 h apart: no real time zone explains it"
    west = check_time(_exif(DateTimeOriginal="2024-07-03T09:00:00", GPSDateTime_utc="2024-07-04T00:00:00Z"))
    assert west.status == "warn" and "15.0 h apart" in west.summary


def test_no_offset_and_no_gps_time_cannot_check_the_zone():
    result = check_timezone(_exif(DateTimeOriginal="2024-07-04T10:00:00"), NEW_YORK, None)
    assert result.status == "n/a"
    assert result.summary == "no UTC offset in the metadata (OffsetTimeOriginal or GPS time)"
    no_point = check_timezone(_exif(DateTimeOriginal="2024-07-04T10:00:00", OffsetTimeOriginal="-04:00"), None, None)
    assert no_point.status == "n/a" and no_point.summary == "no point to compare the offset with"
    at_sea = check_timezone(_exif(GPSDateTime_utc="2024-07-04T14:00:00Z", DateTimeOriginal="2024-07-04T10:00:00"),
                            None, (0.0, -30.0))
    assert at_sea.status == "info"


def test_spans_are_written_in_the_unit_an_analyst_reads():
    assert [_span(timedelta(seconds=s)) for s in (59, 60, 3599, 3600, 86399, 86400)] == \
        ["59 s", "1 min", "59 min", "1.0 h", "24.0 h", "1.0 days"]


def test_run_checks_returns_the_seven_named_checks_in_order():
    results = run_checks(_exif(DateTimeOriginal="2024-07-04T10:00:00", OffsetTimeOriginal="-04:00"), None,
                         NEW_YORK, None)
    assert [r.name for r in results] == ["time", "timezone", "sun", "editing", "thumbnail", "provenance", "blocks"]
    assert [r.status for r in results] == ["ok", "ok", "ok", "ok", "n/a", "n/a", "n/a"]
    missing = run_checks(None, None, NEW_YORK, None)
    assert [(r.name, r.status, r.summary) for r in missing][0] == ("time", "n/a", "not an analysable image")
    assert results[0].cell() == f"ok: {results[0].summary}"


# the remaining words and bounds of each check

def test_sun_state_bounds_are_civil_twilight_and_the_horizon(monkeypatch):
    from geoloc_core.evidence import checks

    photo = _exif(GPSDateTime_utc="2024-07-04T14:00:00Z")
    states = {}
    for elevation in (-6.0001, -6.0, -0.0001, 0.0):
        monkeypatch.setattr(checks, "sun_position", lambda lat, lon, utc, e=elevation: (e, 90.0))
        result = check_sun(photo, NEW_YORK, None)
        states[elevation] = (result.status, result.summary.split(",")[0])
    assert states == {-6.0001: ("warn", "EXIF GPS point: sun below the horizon (night)"),
                      -6.0: ("ok", "EXIF GPS point: twilight"), -0.0001: ("ok", "EXIF GPS point: twilight"),
                      0.0: ("ok", "EXIF GPS point: sun up")}


def test_without_any_time_zone_data_the_checks_say_so(monkeypatch):
    from geoloc_core.evidence import checks

    monkeypatch.setattr(checks, "timezone_at", lambda lat, lon: None)  # e.g. a point no zone covers
    photo = _exif(DateTimeOriginal="2024-07-04T10:00:00", GPSDateTime_utc="2024-07-04T14:00:00Z")
    result = check_timezone(photo, NEW_YORK, SYDNEY)
    assert result.status == "info"
    assert result.summary == "no time zone at the EXIF GPS point (at sea); no time zone at the predicted point (at sea)"
    assert capture_time_utc(_exif(DateTimeOriginal="2024-07-04T10:00:00"), NEW_YORK) == (None, "")


def test_unreadable_capture_time_means_not_checkable():
    result = check_time(_exif(DateTimeOriginal="not a date"))
    assert (result.status, result.summary) == ("n/a", "no DateTimeOriginal")
    assert check_time(_exif(DateTimeOriginal="2024-07-04T10:00:00", DateTime="garbage")).status == "ok"
    assert capture_time_utc(_exif(DateTimeOriginal="2024-07-04T10:00:00", OffsetTimeOriginal="4 hours"),
                            None) == (None, "")


def test_stripped_metadata_and_clean_metadata_say_what_they_prove():
    stripped = check_editing(ExifFacts(exif_present=False), ForensicFacts(markers=["XMP metadata packet"]))
    assert (stripped.status, stripped.summary) == ("info", "metadata stripped, as most platforms do on upload: "
                                                           "proves nothing")
    marked = check_editing(_exif(), ForensicFacts(markers=["Photoshop IRB (APP13)", "XMP metadata packet"]))
    assert marked.summary == ("Photoshop IRB (APP13) (editing is not forgery: crops and exposure fixes are common)")


def test_thumbnail_distance_limit_is_ten_of_sixty_four_bits():
    from geoloc_core.evidence.checks import check_thumbnail

    same = check_thumbnail(ForensicFacts(thumbnail_distance=10))
    assert (same.status, same.summary) == ("ok", "embedded thumbnail matches the image (distance 10/64)")
    changed = check_thumbnail(ForensicFacts(thumbnail_distance=11))
    assert changed.status == "warn"
    assert changed.summary == ("embedded thumbnail differs from the image (perceptual hash distance 11/64): "
                               "the picture changed after the thumbnail was written")
    assert (check_thumbnail(None).status, check_thumbnail(None).summary) == ("n/a", "no embedded EXIF thumbnail")


def test_provenance_words_for_each_state():
    from geoloc_core.evidence.checks import check_provenance

    assert (check_provenance(None).status, check_provenance(None).summary) == ("n/a", "not checked")
    assert check_provenance(ForensicFacts(c2pa={})).summary == "not checked"
    failed = check_provenance(ForensicFacts(c2pa={"present": False, "error": "c2pa library missing"}))
    assert (failed.status, failed.summary) == ("info", "content credentials (C2PA): none (c2pa library missing)")
    assert check_provenance(ForensicFacts(c2pa={"present": False})).summary == "content credentials (C2PA): none"
    trusted = check_provenance(ForensicFacts(c2pa={"present": True, "validation_state": "Trusted", "signer": "Leica",
                                                   "claim_generator": "M11", "actions": ["", "c2pa.opened",
                                                                                         "c2pa.edited"]}))
    assert trusted.status == "ok"
    assert trusted.summary == ("C2PA manifest, validation Trusted; signer Leica; claim generator M11; "
                               "actions: c2pa.opened, c2pa.edited")
    unknown = check_provenance(ForensicFacts(c2pa={"present": True}))
    assert unknown.status == "warn"
    assert unknown.summary == "C2PA manifest, validation unknown; signer None; claim generator None; actions: none recorded"


def test_run_checks_passes_each_check_its_evidence():
    facts = ForensicFacts(markers=["Photoshop IRB (APP13)"], thumbnail_distance=3,
                          c2pa={"present": False, "error": "none found"})
    photo = _exif(DateTimeOriginal="2024-07-04T10:00:00", OffsetTimeOriginal="-04:00")
    time, zone, sun, editing, thumbnail, provenance, _blocks = run_checks(photo, facts, NEW_YORK, SYDNEY)
    assert "at the predicted point" in zone.summary and "predicted point: " in sun.summary
    assert editing.status == "warn" and thumbnail.status == "ok" and provenance.status == "info"
    names = [r.name for r in run_checks(_exif(), ForensicFacts(c2pa={"present": False}), None, None)]
    assert names == ["time", "timezone", "sun", "editing", "thumbnail", "provenance", "blocks"]
    signed = run_checks(_exif(), ForensicFacts(c2pa={"present": True, "validation_state": "valid"}), None, None)
    assert [r.name for r in signed] == names and signed[5].status == "ok"


def test_several_findings_are_joined_into_one_readable_line():
    result = check_time(_exif(DateTimeOriginal="2024-07-04T10:00:00", DateTime="2024-07-04T11:00:00",
                              DateTimeDigitized="2024-07-04T12:00:00"))
    assert result.summary == ("DateTime 2024-07-04T11:00:00 is 1.0 h after DateTimeOriginal: the file was written "
                              "again later (edited or re-saved); DateTimeDigitized differs from DateTimeOriginal by 2.0 h")
    both = check_sun(_exif(GPSDateTime_utc="2024-07-04T14:00:00Z"), NEW_YORK, SYDNEY)
    assert "°); predicted point: " in both.summary


def test_a_gps_fix_seven_minutes_old_still_gives_the_quarter_hour_zone():
    # Kathmandu 12:00 local, GPS 06:22:20 UTC: 5 h 37 min 40 s apart, nearest quarter hour +05:45
    photo = _exif(DateTimeOriginal="2024-07-04T12:00:00", GPSDateTime_utc="2024-07-04T06:22:20Z")
    assert check_time(photo).summary == "GPS time implies the camera clock was set to UTC+05:45"
    assert check_timezone(photo, KATHMANDU, None).status == "ok"


def test_spans_round_to_one_decimal():
    assert _span(timedelta(seconds=90720)) == "1.1 days"  # 1.05 days
    assert _span(timedelta(seconds=4860)) == "1.4 h"  # 1.35 h


def test_every_result_carries_its_checks_name():
    from geoloc_core.evidence.checks import check_thumbnail

    assert check_editing(_exif(Software="GIMP"), None).name == "editing"
    assert check_editing(ExifFacts(), None).name == "editing"
    assert check_thumbnail(ForensicFacts(thumbnail_distance=30)).name == "thumbnail"
    assert check_thumbnail(ForensicFacts(thumbnail_distance=0)).name == "thumbnail"
    assert check_timezone(_exif(DateTimeOriginal="2024-07-04T10:00:00", OffsetTimeOriginal="-04:00"),
                          None, None).name == "timezone"


def test_historic_local_mean_time_is_shown_to_the_nearest_minute():
    # Dublin kept Dublin Mean Time, UTC-00:25:21, until 1916: a scan dated 1910 is compared with it
    dublin = (53.3498, -6.2603)
    result = check_timezone(_exif(DateTimeOriginal="1910-07-04T12:00:00", OffsetTimeOriginal="+00:00"), dublin, None)
    assert result.status == "warn"
    assert result.summary == ("OffsetTimeOriginal +00:00 does not match Europe/Dublin at the EXIF GPS point "
                              "(UTC-00:25 then)")


def test_utc_itself_is_written_plus_zero():
    london_winter = _exif(DateTimeOriginal="2024-01-10T12:00:00", GPSDateTime_utc="2024-01-10T12:00:20Z")
    assert check_time(london_winter).summary == "GPS time implies the camera clock was set to UTC+00:00"
    assert check_timezone(london_winter, (51.5074, -0.1278), None).summary == (
        "the offset implied by GPS time (+00:00) matches Europe/London at the EXIF GPS point (UTC+00:00 then)")


def test_offset_with_minutes_is_applied_in_full():
    photo = _exif(DateTimeOriginal="2024-07-04T12:00:00", OffsetTimeOriginal="+05:45")
    assert capture_time_utc(photo, KATHMANDU)[0] == datetime(2024, 7, 4, 6, 15, tzinfo=UTC)
    assert check_timezone(photo, KATHMANDU, None).status == "ok"


def test_capture_time_is_utc_whatever_the_machines_time_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "America/Chicago")
    time.tzset()
    try:
        utc, _ = capture_time_utc(_exif(DateTimeOriginal="2024-07-04T10:00:00"), NEW_YORK)
        assert utc.utcoffset() == timedelta(0) and (utc.hour, utc.minute) == (14, 0)
    finally:
        monkeypatch.undo()
        time.tzset()
