from __future__ import annotations

import io
from datetime import datetime, timezone

import piexif
import pytest
from PIL import Image

from geoloc_core.evidence.checks import (check_editing, check_provenance, check_sun, check_thumbnail, check_time,
                                check_timezone, sun_position, timezone_at)
from geoloc_core.case.duplicates import group_near_duplicates
from geoloc_core.evidence.exif import ExifFacts, read_exif
from geoloc_core.case.findings import Finding
from geoloc_core.evidence.inspection import inspect_file
from geoloc_core.evidence.forensic_facts import ForensicFacts, read_forensic_facts
from tests.imagegen import gps_exif, image_bytes

PARIS = (48.8584, 2.2945)


def _exif(**kw) -> ExifFacts:
    return ExifFacts(exif_present=True, **kw)


def test_solar_noon_elevation_matches_the_published_value():
    # Greenwich, June solstice 2024 (20 June 20:51 UTC): solar noon 12:01:43 UTC,
    # elevation 90 - 51.4769 + 23.44 = 61.96 deg (NOAA solar calculator: 61.97)
    elevation, azimuth = sun_position(51.4769, 0.0, datetime(2024, 6, 21, 12, 1, 43, tzinfo=timezone.utc))
    assert elevation == pytest.approx(61.96, abs=0.5)
    assert azimuth == pytest.approx(180, abs=2)


def test_sun_day_and_night():
    day = check_sun(_exif(GPSDateTime_utc="2024-06-21T12:00:00Z"), PARIS, None)
    assert day.status == "ok" and "sun up" in day.summary and "azimuth" in day.summary
    night = check_sun(_exif(DateTimeOriginal="2024-01-15T02:00:00", OffsetTimeOriginal="+01:00"), PARIS, (40.7, -74.0))
    assert night.status == "warn" and "sun below the horizon" in night.summary
    assert "daylight photo would contradict" in night.summary and "predicted point" in night.summary
    assert check_sun(_exif(), PARIS, None).status == "n/a"


def test_time_consistency_branches():
    ok = check_time(_exif(DateTimeOriginal="2024-05-01T12:00:00", OffsetTimeOriginal="+02:00",
                          GPSDateTime_utc="2024-05-01T10:00:30Z", DateTime="2024-05-01T12:00:00"))
    assert ok.status == "ok"
    edited = check_time(_exif(DateTimeOriginal="2024-05-01T12:00:00", DateTime="2024-05-04T09:00:00"))
    assert edited.status == "warn" and "written again later" in edited.summary and "2.9 days" in edited.summary
    gps_clash = check_time(_exif(DateTimeOriginal="2024-05-01T12:00:00", OffsetTimeOriginal="+02:00",
                                 GPSDateTime_utc="2024-05-01T16:00:00Z"))
    assert gps_clash.status == "warn" and "disagree by 6.0 h" in gps_clash.summary
    implied = check_time(_exif(DateTimeOriginal="2024-05-01T12:00:00", GPSDateTime_utc="2024-05-01T10:00:10Z"))
    assert implied.status == "ok" and "UTC+02:00" in implied.summary
    assert check_time(_exif()).status == "n/a"


def test_the_time_checks_share_the_borders_time_zone_finder_and_its_lock(geocoder):
    """TimezoneFinder is not thread-safe: the app's session threads run the time checks while another session's
    border lookup uses the finder. The checks built a second finder and used it without any lock."""
    import threading

    from geoloc_core.evidence.time_zones import shared_timezone_finder

    finder, lock = shared_timezone_finder()
    assert geocoder.borders._finder is finder and geocoder.borders._lock is lock
    answers, done = [], threading.Event()

    def look_up():
        answers.append(timezone_at(*PARIS))
        done.set()

    with lock:  # a border lookup in progress
        threading.Thread(target=look_up, daemon=True).start()
        assert not done.wait(0.5), "the time check used the finder while the borders held it"
    assert done.wait(60) and answers == ["Europe/Paris"]


def test_timezone_at_exif_and_predicted_points():
    assert timezone_at(*PARIS) == "Europe/Paris" and timezone_at(0.0, -30.0) in (None, "Etc/GMT+2")
    summer = _exif(DateTimeOriginal="2024-07-01T12:00:00", OffsetTimeOriginal="+02:00")
    match = check_timezone(summer, PARIS, (40.7, -74.0))
    assert match.status == "ok" and "matches Europe/Paris" in match.summary
    assert "does not match America/New_York" in match.summary
    wrong = check_timezone(_exif(DateTimeOriginal="2024-07-01T12:00:00", OffsetTimeOriginal="-05:00"), PARIS, None)
    assert wrong.status == "warn" and "UTC+02:00 then" in wrong.summary
    winter = check_timezone(_exif(DateTimeOriginal="2024-01-10T12:00:00", OffsetTimeOriginal="+02:00"), PARIS, None)
    assert winter.status == "warn" and "UTC+01:00 then" in winter.summary  # DST is taken into account
    assert check_timezone(_exif(DateTimeOriginal="2024-01-10T12:00:00"), PARIS, None).status == "n/a"


def test_editing_traces():
    assert check_editing(_exif(Software="Adobe Photoshop 25.0 (Windows)"), ForensicFacts()).status == "warn"
    assert check_editing(_exif(Software="17.5.1", Make="Apple"), ForensicFacts()).status == "ok"
    facebook = check_editing(_exif(), ForensicFacts(markers=["Facebook FBMD marker (IPTC): re-shared"]))
    assert facebook.status == "warn" and "FBMD" in facebook.summary
    stripped = check_editing(ExifFacts(exif_present=False), ForensicFacts())
    assert stripped.status == "info" and "proves nothing" in stripped.summary


def _jpeg_with_thumbnail(main: Image.Image, thumb: Image.Image, software: bytes = b"Canon firmware") -> bytes:
    buffer = io.BytesIO()
    thumb.save(buffer, "JPEG")
    exif = piexif.dump({"0th": {piexif.ImageIFD.Software: software}, "Exif": {}, "GPS": {},
                        "1st": {piexif.ImageIFD.Compression: 6}, "thumbnail": buffer.getvalue()})
    out = io.BytesIO()
    main.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_stale_thumbnail_and_rewritten_software_are_flagged():
    scene = Image.effect_noise((8, 6), 120).convert("RGB").resize((400, 300), Image.Resampling.BICUBIC)
    doctored = scene.copy()
    doctored.paste((20, 20, 20), (0, 0, 220, 300))  # a large region painted over after capture
    honest = _jpeg_with_thumbnail(scene, scene.resize((160, 120)))
    edited = _jpeg_with_thumbnail(doctored, scene.resize((160, 120)), software=b"Adobe Photoshop 25.0")
    for data, expected in ((honest, "ok"), (edited, "warn")):
        exif = read_exif(data)
        assert exif.thumbnail is not None
        facts = read_forensic_facts(data, "jpeg", exif.thumbnail)
        assert check_thumbnail(facts).status == expected, facts.thumbnail_distance
    assert check_editing(read_exif(edited), read_forensic_facts(edited, "jpeg", None)).status == "warn"
    assert check_thumbnail(ForensicFacts()).status == "n/a"


def test_provenance_absent_is_none_not_a_warning():
    result = check_provenance(read_forensic_facts(image_bytes(), "jpeg", None))
    assert result.status == "info" and "none" in result.summary
    signed = check_provenance(ForensicFacts(c2pa={"present": True, "validation_state": "Valid", "signer": "Nikon",
                                                  "claim_generator": "Z9", "actions": ["c2pa.created"]}))
    assert signed.status == "ok" and "c2pa.created" in signed.summary
    invalid = check_provenance(ForensicFacts(c2pa={"present": True, "validation_state": "Invalid", "actions": []}))
    assert invalid.status == "warn"


def test_duplicates_with_conflicting_gps_are_grouped():
    base = Image.linear_gradient("L").resize((300, 200)).convert("RGB")
    other = Image.effect_noise((300, 200), 90).convert("RGB")
    copy_a = image_bytes(exif=gps_exif(*PARIS))
    buffer = io.BytesIO()
    base.save(buffer, "JPEG", quality=95, exif=gps_exif(*PARIS))
    buffer_b = io.BytesIO()
    base.resize((240, 160)).save(buffer_b, "JPEG", quality=60, exif=gps_exif(50.45, 30.52))  # same photo, "Kyiv"
    buffer_c = io.BytesIO()
    other.save(buffer_c, "JPEG")
    findings = []
    for name, data in (("a.jpg", buffer.getvalue()), ("b_reshared.jpg", buffer_b.getvalue()), ("c.jpg", buffer_c.getvalue())):
        facts, exif, forensic = inspect_file(data)
        findings.append(Finding(file=name, phash=forensic.phash, exif_lat=exif.GPSLatitude, exif_lon=exif.GPSLongitude))
    groups = group_near_duplicates(findings)
    assert [g.members for g in groups] == [[0, 1]]
    assert "EXIF GPS differs by" in groups[0].conflicts[0] and "b_reshared.jpg" in groups[0].conflicts[0]
    del copy_a


def test_every_check_handles_missing_fields():
    from geoloc_core.evidence.checks import CHECK_NAMES, run_checks

    for exif in (ExifFacts(), _exif(), None):
        results = run_checks(exif, None, None, None)
        assert len(results) == len(CHECK_NAMES) == 7 and all(r.status in ("ok", "warn", "info", "n/a") for r in results)
