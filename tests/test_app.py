"""Page logic through Streamlit's AppTest (no browser): no model, a tiny model, bad files, batch, case log."""
from __future__ import annotations

from pathlib import Path

import piexif
import pytest
from streamlit.testing.v1 import AppTest

from geoloc_core.case.log.caselog import CaseLog
from tests.imagegen import gps_exif, image_bytes

PARIS_JPEG = image_bytes(size=(320, 240), exif=gps_exif(48.8584, 2.2945, **{
    "0th": {piexif.ImageIFD.Make: b"Apple", piexif.ImageIFD.Software: b"[click](javascript:alert(1))"}}))
TIMEOUT = 120
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [e.value for e in at.error] + [w.value for w in at.warning] + \
        [s.value for s in at.success] + [i.value for i in at.info] + [t.value for t in at.text]
    parts += [str(m.value) + " " + str(m.label) for m in at.metric] + [c.value for c in at.caption]
    return "\n".join(str(p) for p in parts)


def _tables(at: AppTest) -> str:
    """The result card's tables (literal-text HTML, see ui/plaintext.py) as plain text."""
    import html
    import re

    return "\n".join(html.unescape(re.sub(r"<[^>]+>", " ", h.proto.body)) for h in at.html)


def _batch(files: list[tuple[str, bytes]], session: dict | None = None) -> AppTest:
    """The batch page after analysing ``files`` (name, bytes) in one upload; ``session``: session
    state set before the first run (the sidebar's switches)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.run()
    at.switch_page("app_pages/batch.py").run()
    uploader = at.file_uploader(key="batch_files")
    for name, data in files:
        uploader.upload(name, data, "image/jpeg")
    at.run()
    at.button(key="batch_run").click().run()
    return at


def test_verify_without_model_reads_exif_and_says_no_model(data_dir):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    at.file_uploader(key="verify_upload").upload("paris.jpg", PARIS_JPEG, "image/jpeg").run()
    assert not at.exception
    text = _texts(at)
    assert "cannot verify: no model" in text and "France" in text
    assert "No location model is loaded" in text
    tables = _tables(at)
    assert "48.858400, 2.294500" in tables and "[click](javascript:alert(1))" in tables
    log = CaseLog(data_dir / "caselog.sqlite3")
    (case_id, _, count), = log.cases()
    assert count == 1 and log.findings(case_id)[0].finding.exif_country_code == "FR"


def test_verify_bad_file_gives_a_specific_message(data_dir):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.file_uploader(key="verify_upload").upload("holiday.jpg", b"%PDF-1.4\n" + bytes(100), "image/jpeg").run()
    assert not at.exception
    text = _texts(at)
    assert "not a supported image: the bytes are a PDF document" in text
    page = "\n".join(line for line in text.splitlines() if not line.startswith("Case: "))  # the case bar names the model
    assert "not an image \\(PDF\\)" in page and "no model" not in page  # (Markdown-escaped)


def test_verify_with_tiny_model_predicts_and_verifies(data_dir, tiny_model_dir):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["model_path"] = str(tiny_model_dir)
    at.run()
    # the sidebar's verdict thresholds hold the two "inconclusive" widths beside the others (#28)
    assert {"t_consistent", "t_wide90", "t_wide50"} <= {n.key for n in at.number_input}
    at.file_uploader(key="verify_upload").upload("paris.jpg", PARIS_JPEG, "image/jpeg").run()
    assert not at.exception
    text = _texts(at).replace("\\", "")  # the Markdown escapes off
    # the untrained tiny model's regions span the globe: too uncertain to verify anything (#28)
    assert "location inconclusive: the model is too uncertain about this photo (uncalibrated 90 % region radius" in text
    assert "From the file's metadata (EXIF)" in text and "EXIF GPS says" in text  # a photo's words (#34 changed a video's)
    tables = _tables(at)
    assert "90 % region radius" in tables and "Predicted lat, lon (deg)" in tables
    # widened in the sidebar, the same pixels get a verdict again
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["model_path"] = str(tiny_model_dir)
    at.session_state["t_wide90"] = at.session_state["t_wide50"] = 20000.0
    at.run()
    at.file_uploader(key="verify_upload").upload("paris2.jpg", PARIS_JPEG + b"\0", "image/jpeg").run()
    assert not at.exception
    text = _texts(at).replace("\\", "")
    assert any(f"location {v}:" in text for v in ("consistent", "plausible", "unlikely", "contradicts"))


def test_bad_model_path_is_explained(data_dir, tmp_path):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["model_path"] = str(tmp_path / "no-such-model")
    at.run()
    at.file_uploader(key="verify_upload").upload("paris.jpg", PARIS_JPEG, "image/jpeg").run()
    assert not at.exception
    assert "model folder not found" in _texts(at)


def test_batch_keeps_bad_files_and_exports_csv(data_dir):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("app_pages/batch.py").run()
    uploader = at.file_uploader(key="batch_files")
    uploader.upload("paris.jpg", PARIS_JPEG, "image/jpeg")
    uploader.upload("notes.jpg", b"just text\n" * 10, "image/jpeg")
    uploader.upload("stripped.png", image_bytes("PNG"), "image/png")
    at.run()
    at.button(key="batch_run").click().run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert list(frame["file"]) == ["paris.jpg", "notes.jpg", "stripped.png"]
    assert list(frame["status"]) == ["ok", "error", "ok"]
    assert list(frame["exif_country"])[0] == "France"
    assert "text file" in frame["message"][1]
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Export CSV", "Export CSV for Excel", "Export JSON", "Export GEOJSON", "Export KML"]  # the browser test downloads and reads them
    # resume: the same upload again skips what the case already holds
    at.button(key="batch_run").click().run()
    assert "3 skipped as already in the case" in "\n".join(str(p.proto.text) for p in at.get("progress"))


def test_batch_keeps_a_copy_of_each_original_when_asked(data_dir):
    import hashlib

    files = [(f"keep{i}.jpg", image_bytes(color=(i * 60, 10, 10))) for i in range(3)]
    at = _batch(files, session={"keep_evidence": True})  # the sidebar switch "Keep a copy of each original file"
    assert not at.exception
    for _, data in files:
        digest = hashlib.sha256(data).hexdigest()
        assert (data_dir / "evidence" / digest[:2] / digest).read_bytes() == data


def test_case_log_page_lists_and_searches(data_dir):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.file_uploader(key="verify_upload").upload("paris.jpg", PARIS_JPEG, "image/jpeg").run()
    at.switch_page("app_pages/cases.py").run()
    assert not at.exception
    assert list(at.dataframe[0].value["file"]) == ["paris.jpg"]
    at.text_input(key="case_search").input("no-such-thing").run()
    assert "No findings match the search and filters." in _texts(at)


def test_model_page_without_model(data_dir):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("app_pages/model.py").run()
    assert not at.exception
    assert "No model is loaded" in _texts(at) and "never shows a placeholder point" in _texts(at)


def test_metadata_checks_panel_and_duplicate_groups(data_dir):
    exif = gps_exif(48.8584, 2.2945, **{
        "0th": {piexif.ImageIFD.Software: b"Adobe Photoshop 25.0", piexif.ImageIFD.DateTime: b"2024:06:25 10:00:00"},
        "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2024:06:21 23:30:00", piexif.ExifIFD.OffsetTimeOriginal: b"+02:00",
                 piexif.ExifIFD.BodySerialNumber: b"SN-0042"}})
    night_edit = image_bytes(size=(320, 240), exif=exif)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.file_uploader(key="verify_upload").upload("night.jpg", night_edit, "image/jpeg").run()
    assert not at.exception
    text = _texts(at)
    assert "Metadata checks" in text
    assert "warning:] **Sun at the claimed place and time**" in text and "sun below the horizon" in text
    assert "warning:] **Editing traces**" in text and "Photoshop" in text
    assert "warning:] **Time consistency**" in text and "written again later" in text
    assert "check_circle:] **Time zone**" in text and "Europe\\/Paris" in text  # Markdown-literal source
    assert "SN\\-0042" in text  # the serial is shown (escaped), not exported by default
    # the same photo re-shared with another GPS claim lands in one duplicate group with a conflict
    at.file_uploader(key="verify_upload").clear().upload("copy.jpg", image_bytes(size=(320, 240), exif=gps_exif(
        50.45, 30.52)), "image/jpeg").run()
    at.switch_page("app_pages/cases.py").run()
    assert not at.exception
    assert "Near-duplicate images (1 group)" in "\n".join(h.value for h in at.subheader)
    assert any("EXIF GPS differs by" in w.value for w in at.warning)


def test_batch_filter_by_flagged_check(data_dir):
    edited = image_bytes(exif=gps_exif(48.8584, 2.2945, **{"0th": {piexif.ImageIFD.Software: b"GIMP 2.10"}}))
    at = _batch([("edited.jpg", edited), ("plain.jpg", PARIS_JPEG)])
    at.multiselect(key="f_flagged").select("editing").run()
    assert not at.exception
    assert list(at.dataframe[0].value["file"]) == ["edited.jpg"]


def test_batch_skips_a_file_repeated_in_the_same_upload(data_dir):
    at = _batch([("original.jpg", PARIS_JPEG), ("copy-of-original.jpg", PARIS_JPEG)])
    assert list(at.dataframe[0].value["file"]) == ["original.jpg"]
    assert "1 skipped" in "\n".join(str(p.proto.text) for p in at.get("progress"))


def test_batch_progress_updates_are_paced_not_one_per_file():
    """The pacer behind the Batch page's progress and table (issue #18: the browser shares the cores with
    the model): due on the first finding, then at most once per interval. (The page draws its final
    "Done" line after the loop, whatever the pacer says.)"""
    from ui.pacing import Pacer

    now = [100.0]
    pacer = Pacer(1.0, clock=lambda: now[0])
    seen = []
    for step in range(20):  # a finding every 1/8 s for 2.5 s
        seen.append(pacer.due())
        now[0] += 0.125
    assert seen[0] is True
    assert [i for i, due in enumerate(seen) if due] == [0, 8, 16]  # at 0, 1 and 2 s, not 20 times


def test_batch_page_says_how_to_analyse_a_folder_too_large_for_the_uploader(data_dir):
    """A 1,000-file folder never finished uploading in Streamlit's uploader (no button appeared in 600 s;
    streamlit#8534): the page must say so before the analyst tries, and name the ways that work."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("app_pages/batch.py").run()
    captions = "\n".join(c.value for c in at.caption)
    assert "More than about 900 files" in captions
    assert "zip archives" in captions and "python -m geoloc_core scan FOLDER" in captions


def test_a_model_path_from_a_link_is_shown_as_text_on_the_model_page(data_dir):
    """#31: ``/model?model=![m](https://evil.example/m.png) **x**`` rendered an image (requested by the
    browser) and bold text in the Model page's error box, and was kept for every new tab."""
    payload = "![m](https://evil.example/m.png) **x**"
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["model"] = payload
    at.run()
    at.switch_page("app_pages/model.py").run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert errors and all("![m](https" not in e and "**x**" not in e for e in errors)  # escaped: no image, no bold
    assert any("\\!\\[m\\]" in e and "\\*\\*x\\*\\*" in e for e in errors), errors  # the path, quoted literally
