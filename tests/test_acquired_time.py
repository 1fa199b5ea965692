"""The report's "Acquired" is when geoloc received the bytes (#32: it was the case log's save time, 1 s after
"Analysed"). The acquisition clock (``geoloc_core.evidence.sources.utc_now``) is set by the test to a time well
before the analysis, so "equals the time the bytes were received" and "not after Analysed" are both checked
exactly; the analysis keeps the real clock."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geoloc_core.case.analyzer import Analyzer
from geoloc_core.case.log.caselog import CaseLog
from geoloc_core.case.reports.reporting import items_from_case, items_from_scan
from geoloc_core.evidence import sources
from geoloc_core.evidence.sources import FileSource
from tests.imagegen import gps_exif, image_bytes

APP = str(Path(__file__).resolve().parents[1] / "app.py")
UPLOADED = "2026-03-01T09:00:00+00:00"  # the clock when the upload arrived
PRESSED = "2026-03-01T09:05:00+00:00"  # the clock later, when "Analyse" is pressed


@pytest.fixture()
def clock(monkeypatch) -> list[str]:
    """The acquisition clock: ``clock[0]`` is what it says now."""
    now = [UPLOADED]
    monkeypatch.setattr(sources, "utc_now", lambda: now[0], raising=False)
    return now


def test_a_file_is_acquired_when_read_and_never_after_it_is_analysed(clock, tmp_path, geocoder):
    photo = tmp_path / "a.jpg"
    photo.write_bytes(image_bytes(exif=gps_exif(48.85, 2.35)))
    on_disk = FileSource(str(photo), path=photo)
    assert on_disk.acquired_utc == ""  # not read yet
    clock[0] = PRESSED
    analyzer = Analyzer(geocoder=geocoder)
    finding = analyzer.analyze(on_disk)
    assert finding.acquired_at_utc == PRESSED <= finding.analysed_at_utc  # stamped when the file was read
    assert items_from_scan([finding], [on_disk])[0].acquired_utc == PRESSED
    handed = FileSource("b.jpg", data=photo.read_bytes(), acquired_utc=UPLOADED)  # an upload received earlier
    assert analyzer.analyze(handed).acquired_at_utc == UPLOADED


def _batch_uploaded_then_analysed(clock) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("app_pages/batch.py").run()
    uploader = at.file_uploader(key="batch_files")
    uploader.upload("paris.jpg", image_bytes(exif=gps_exif(48.85, 2.35)), "image/jpeg")
    uploader.upload("plain.png", image_bytes("PNG"), "image/png")
    at.run()  # the uploads arrive
    clock[0] = PRESSED  # minutes later the analyst presses "Analyse"
    at.button(key="batch_run").click().run()
    assert not at.exception
    return at


def test_batch_uploads_are_acquired_when_received_not_when_analysed(data_dir, clock):
    _batch_uploaded_then_analysed(clock)
    log = CaseLog(data_dir / "caselog.sqlite3")
    (case_id, _, count), = log.cases()
    stored = log.findings(case_id)
    assert count == 2 and [s.finding.acquired_at_utc for s in stored] == [UPLOADED, UPLOADED]
    for item in items_from_case(stored, None):  # what the report says
        assert item.acquired_utc == UPLOADED and item.acquired_utc <= item.finding.analysed_at_utc


def test_verify_keeps_the_upload_time_when_the_same_upload_is_analysed_again(data_dir, clock):
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.file_uploader(key="verify_upload").upload("paris.jpg", image_bytes(exif=gps_exif(48.85, 2.35)),
                                                  "image/jpeg").run()
    clock[0] = PRESSED
    at.session_state["unlikely_factor"] = 3.0  # other thresholds: the open upload is analysed again
    at.run()
    assert not at.exception
    log = CaseLog(data_dir / "caselog.sqlite3")
    (case_id, _, _), = log.cases()
    stored = log.findings(case_id)
    assert len(stored) == 2 and [s.finding.acquired_at_utc for s in stored] == [UPLOADED, UPLOADED]
    assert all(item.acquired_utc == UPLOADED for item in items_from_case(stored, None))
