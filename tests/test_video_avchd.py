"""An AVCHD camcorder's capture time (#34): the MDPM records of an H.264 SEI in .m2ts / .mts, read as
exiftool reads them, bounded, and a damaged record costs only the time."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from geoloc_core.case.analyzer import Analyzer
from geoloc_core.evidence.sources import FileSource
from geoloc_core.evidence.video import read_video
from geoloc_core.evidence.video.avchd import MAX_PACKETS, SOURCE, mdpm_time
from tests.videogen import avchd_clip, mdpm_date, mdpm_sei

WEST_HALF_HOUR = 0x20 | 3 << 1 | 0x01  # -03:30 (Newfoundland)


def _exiftool_time(path) -> str:
    if shutil.which("exiftool") is None:
        pytest.fail("exiftool is required (make test installs it)")
    out = subprocess.run(["exiftool", "-n", "-json", "-H264:DateTimeOriginal", str(path)], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)[0]["DateTimeOriginal"]


@pytest.mark.parametrize("m2ts,zone,offset", [(True, 0x04, "+02:00"), (False, WEST_HALF_HOUR, "-03:30"),
                                              (True, 0x0B, "+05:30")])
def test_the_mdpm_time_reads_as_exiftool_reads_it(tmp_path, m2ts, zone, offset):
    data = avchd_clip(mdpm_sei(mdpm_date(2023, 11, 28, 17, 45, 9, zone)), m2ts=m2ts)
    path = tmp_path / ("clip.m2ts" if m2ts else "clip.mts")
    path.write_bytes(data)
    reading = read_video(data)
    assert reading.error is None and reading.file_type == ("m2ts" if m2ts else "ts")
    claims = reading.claims
    assert (claims.CreateDate, claims.CreateDate_offset, claims.CreateDate_source) == (
        "2023-11-28T17:45:09", offset, SOURCE)
    assert _exiftool_time(path) == f"2023:11:28 17:45:09{offset}"
    assert not claims.warnings


def test_the_daylight_saving_flag_is_said_not_guessed():
    claims = read_video(avchd_clip(mdpm_sei(mdpm_date(2024, 7, 1, 12, 0, 1, 0x40 | 0x02)))).claims
    assert claims.datetime_with_offset == "2024-07-01T12:00:01+01:00"
    assert any("daylight-saving flag" in w for w in claims.warnings)


def test_a_damaged_mdpm_costs_only_the_time():
    bad_bcd = [(0x18, bytes([0x04, 0x20, 0x2A, 0x05])), (0x19, bytes([0x01, 0x12, 0x00, 0x00]))]
    truncated = mdpm_sei(mdpm_date(2024, 5, 1, 13, 20, 30, 0x04))[:-12]
    for sei in (mdpm_sei(bad_bcd), truncated, mdpm_sei(mdpm_date(2024, 5, 1, 13, 20, 30, 0x04)[:1])):
        reading = read_video(avchd_clip(sei))
        assert reading.error is None and len(reading.keyframes) == 2
        assert reading.claims.CreateDate is None


def test_only_the_first_packets_are_scanned():
    sei = mdpm_sei(mdpm_date(2024, 5, 1, 13, 20, 30, 0x04))
    filler = b"\x00\x00\x00\x01\x41" + b"\x11" * 50
    assert mdpm_time([filler] * 3 + [sei])[0] == "2024-05-01T13:20:30"
    assert mdpm_time([filler] * MAX_PACKETS + [sei]) is None


def test_an_avchd_clip_dates_its_finding_and_feeds_the_checks(geocoder, worker):
    finding = Analyzer(geocoder=geocoder, worker=worker).analyze(
        FileSource("00001.MTS", data=avchd_clip(mdpm_sei(mdpm_date(2024, 5, 1, 13, 20, 30, 0x04)))))
    assert finding.status == "ok", finding.message
    assert (finding.exif_datetime_original, finding.capture_time_source) == ("2024-05-01T13:20:30+02:00", SOURCE)
