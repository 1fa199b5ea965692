"""Kept originals are hostile bytes too (#31 item 3): a 13000 x 13000 PNG (0.5 MB) that the isolated worker
refuses as a decompression bomb was decoded in the server process when its finding was opened in the Case
log and again by "Make report and bundle" (server peak 1,072 -> 3,010 MiB). Every decode of file bytes now
happens in the isolated worker, under its pixel limit; the page and the report say why there is no picture.

Two guards in the test process (the "server": AppTest runs the pages here): Pillow may not load an image
of the bomb's size here, and the peak resident memory (VmHWM, reset first) grows far less than the decoded
picture (13000 * 13000 * 3 bytes = 483 MiB)."""
from __future__ import annotations

import hashlib
import io
import re
import subprocess
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import ImageFile

from geoloc_core.case.findings import Finding
from geoloc_core.case.log.caselog import CaseLog, EvidenceStore
from geoloc_core.case.reports.report_content import ReportItem
from geoloc_core.case.reports.reporting import render_reports
from tests.hostile_corpus import big_blank_png
from tests.test_workflow import _app, _select_rows

BOMB_SIDE = 13_000
PEAK_GROWTH_BOUND_MIB = 200  # the decoded picture alone is 483 MiB; its conversions took the server to +1.9 GiB


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = big_blank_png(BOMB_SIDE, BOMB_SIDE)
    assert len(data) < 1_000_000
    return data


def _peak_mib() -> int:
    return int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) // 1024


@contextmanager
def never_decoded_here(monkeypatch):
    """Fails the test if this process decodes an image of the bomb's size, or its peak memory grows by
    more than ``PEAK_GROWTH_BOUND_MIB`` inside the block. Yields the list of decodes caught."""
    caught: list[tuple[int, int]] = []
    original = ImageFile.ImageFile.load

    def guarded(image):
        if image.size[0] * image.size[1] >= BOMB_SIDE * BOMB_SIDE:
            caught.append(image.size)
            raise AssertionError(f"decoded {image.size} in the server process")
        return original(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", guarded)
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current resident size
    before = _peak_mib()
    yield caught
    growth = _peak_mib() - before
    assert not caught, f"the server process decoded the kept original: {caught}"
    assert growth < PEAK_GROWTH_BOUND_MIB, f"peak memory grew by {growth} MiB"


def _shown(at) -> str:
    """Warnings and captions as shown (Markdown escapes and the invisible joiners removed)."""
    texts = [e.value for group in (at.warning, at.caption, at.info) for e in group]
    return "\n".join(texts).replace("\\", "").replace("\u2060", "")


def test_case_log_opens_and_reports_a_kept_bomb_without_decoding_it_in_the_server(data_dir, bomb, monkeypatch):
    log = CaseLog(data_dir / "caselog.sqlite3")
    case = log.ensure_case("Alpha")
    digest = hashlib.sha256(bomb).hexdigest()
    log.add(case, Finding(file="huge.png", sha256=digest, file_type="png", status="ok", verdict="cannot verify"))
    EvidenceStore(log.path.parent / "evidence").put(digest, bomb)  # "Keep a copy of each original file"
    at = _app({"case": str(case)}).switch_page("app_pages/cases.py").run()
    assert not at.exception
    with never_decoded_here(monkeypatch):
        _select_rows(at, [0])  # opens the finding, with its kept original
        shown, images = _shown(at), [e for e in at.main if type(e).__name__ == "Image"]
        at.session_state["analyst_name"] = "Ana"
        at.button(key="case_report_make").click().run()
    assert not at.exception
    assert "No preview: refused as a possible decompression bomb" in shown, shown
    assert not images
    _, outputs, _, _ = at.session_state["case_report"]
    with zipfile.ZipFile(io.BytesIO(outputs[2][2])) as archive:
        document = archive.read("report.html").decode()
        assert archive.read(f"originals/{digest}.png") == bomb  # the bytes themselves are still evidence
    assert "No thumbnail: refused as a possible decompression bomb" in document
    assert "data:image/jpeg" not in document


def test_report_thumbnail_of_a_bomb_is_refused_in_the_worker(bomb, monkeypatch, tmp_path):
    digest = hashlib.sha256(bomb).hexdigest()
    item = ReportItem(Finding(file="huge.png", sha256=digest, file_type="png", status="ok"), original=lambda: bomb)
    with never_decoded_here(monkeypatch):
        files = render_reports([item], "case", "analyst", "one file")  # its own short-lived worker
    (report,) = files.report.files
    assert report.thumbnail_jpeg is None and not files.problems
    assert report.thumbnail_note.startswith("refused as a possible decompression bomb"), report.thumbnail_note
    assert "No thumbnail: refused as a possible decompression bomb" in files.html
    (tmp_path / "report.pdf").write_bytes(files.pdf)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(tmp_path / "report.pdf"), "-"], capture_output=True,
                          text=True, timeout=120).stdout
    assert "No thumbnail: refused as a possible" in re.sub(r"\s+", " ", text)


def test_report_thumbnail_of_a_photo_is_made_in_the_worker_and_bounded(worker):
    from PIL import Image

    from geoloc_core.case.reports.report_content import THUMBNAIL_SIDE
    from tests.imagegen import image_bytes

    photo = image_bytes(size=(1200, 900))
    item = ReportItem(Finding(file="a.jpg", sha256=hashlib.sha256(photo).hexdigest(), file_type="jpeg",
                              status="ok"), original=lambda: photo)
    (report,) = render_reports([item], "case", "analyst", "one file", worker=worker).report.files
    assert report.thumbnail_note == ""
    with Image.open(io.BytesIO(report.thumbnail_jpeg)) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) == THUMBNAIL_SIDE
