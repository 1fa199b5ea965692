"""The video reader's time budget follows the worker's deadline (#34, `scan --timeout`): under a short deadline
the budget, not the worker's kill, ends a long read, and the keyframes found so far are kept."""
from __future__ import annotations

import time

import pytest

from geoloc_core.case.analyzer import Analyzer
from geoloc_core.evidence.isolation import IsolatedWorker
from geoloc_core.evidence.sources import FileSource
from geoloc_core.evidence.video import VideoBudget, read_video
from geoloc_core.evidence.video.budget import DEADLINE_SHARE, within_deadline
from tests.videogen import cut_clip, static_clip


@pytest.fixture(scope="module")
def long_clip() -> tuple[bytes, float]:
    """A clip within every budget but time (144 s at 1080p, 3,600 frames), and how long its full scan takes here."""
    data = static_clip(3600)
    started = time.monotonic()
    reading = read_video(data, VideoBudget(max_seconds=600))
    assert reading.frames_decoded == 3600 and reading.error is None
    return data, time.monotonic() - started


def test_the_budget_is_a_share_of_the_deadline():
    assert VideoBudget().max_seconds == DEADLINE_SHARE * 20.0  # the worker's default deadline
    assert within_deadline(5.0).max_seconds == pytest.approx(3.0)
    assert within_deadline(60.0).max_seconds == pytest.approx(36.0)
    assert within_deadline(None) == VideoBudget() and within_deadline(0) == VideoBudget()
    assert within_deadline(5.0, VideoBudget(max_keyframes=3)).max_keyframes == 3


def test_a_long_read_under_a_short_deadline_stops_at_its_budget_not_the_kill(long_clip, geocoder):
    data, full_scan_s = long_clip
    deadline = max(1.0, full_scan_s / 2)  # shorter than the full scan (on any machine slower than 2 s for it)
    with IsolatedWorker(timeout_s=deadline) as worker:
        analyzer = Analyzer(geocoder=geocoder, worker=worker)
        assert analyzer.analyze(FileSource("warm.mp4", data=cut_clip([5], 10))).status == "ok"  # FFmpeg loaded
        finding = analyzer.analyze(FileSource("long.mkv", data=data))
    assert finding.status == "ok", finding.message  # before: "video could not be read: gave up after ... s"
    assert finding.keyframes == 1 and "(time budget)" in finding.message, (finding.message, full_scan_s)
