"""The analyst's day (issue 13), page by page with Streamlit's AppTest: cases that stay put across
reloads and new tabs, the Case log after a selection, findings that can be reopened."""
from __future__ import annotations

import json
from pathlib import Path

import piexif
import pytest
from streamlit.testing.v1 import AppTest

from geoloc_core.case.log.caselog import CaseLog
from tests.imagegen import gps_exif, image_bytes
from tests.test_app import _batch

TIMEOUT = 120
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _app(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def _shell(at: AppTest) -> AppTest:
    """Make the next run start at app.py, as the server does on every rerun. AppTest (1.67) reruns
    only the page's own file after the first run, so the sidebar and the case bar would go stale."""
    at._page_hash = at._finished_page_script_hash = ""
    return at


def _verify(at: AppTest, name: str, data: bytes) -> AppTest:
    uploader = at.file_uploader(key="verify_upload")
    if uploader.value:
        uploader.clear()
    return uploader.upload(name, data, "image/jpeg").run()


def _ids(at: AppTest) -> list[str]:
    """Keys of the tables on the page, read from their element ids ("...-case_table_<hash>")."""
    return [d.proto.id.rsplit("case_table_", 1)[-1] for d in at.dataframe if "case_table_" in d.proto.id]


def _select_rows(at: AppTest, rows: list[int]) -> AppTest:
    """Select table rows as a click would (AppTest has no dataframe-selection driver)."""
    key = next(k for k in ("case_table", *[f"case_table_{x}" for x in _ids(at)]) if k in at.session_state)
    at.session_state[key] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    return at.run()


def test_new_case_becomes_current_and_survives_reload_and_new_tab(data_dir, tmp_path):
    model_dir = tmp_path / "no-model-here"
    at = _app()
    _shell(at).text_input(key="model_path_input").input(str(model_dir))
    _shell(at).run()
    _shell(at).text_input(key="new_case_name").input("Operation Kestrel")
    _shell(at).run()
    _shell(at).button(key="create_case").click()
    _shell(at).run()
    assert not at.exception
    log = CaseLog(data_dir / "caselog.sqlite3")
    kestrel = next(i for i, name, _ in log.cases() if name == "Operation Kestrel")
    assert at.selectbox(key="case_select").value == kestrel  # the new case is the current one
    # a second case made later must not steal the place of the chosen one
    log.ensure_case("Someone else's newer case")
    _verify(_shell(at), "one.jpg", image_bytes())
    assert [s.finding.file for s in log.findings(kestrel)] == ["one.jpg"]
    assert at.query_params["case"] == str(kestrel) and at.query_params["model"] == str(model_dir)
    # reload: the same URL in a new session
    reloaded = _app({"case": str(kestrel), "model": str(model_dir)})
    assert reloaded.selectbox(key="case_select").value == kestrel
    assert reloaded.text_input(key="model_path_input").value == str(model_dir)
    # a new tab, no query parameters: the settings file beside the case log
    tab = _app()
    assert tab.selectbox(key="case_select").value == kestrel
    assert tab.text_input(key="model_path_input").value == str(model_dir)
    assert json.loads((data_dir / "settings.json").read_text())["case_id"] == kestrel
    # the case in force is shown in the page itself, not only in the (collapsible) sidebar
    assert any("Case: Operation Kestrel" in t.value for t in tab.main.text)


def test_case_log_search_after_selecting_a_row(data_dir):
    at = _app()
    _verify(at, "alpha.jpg", image_bytes(color=(10, 20, 30)))
    _verify(at, "beta.jpg", image_bytes(color=(200, 20, 30), exif=gps_exif(48.8584, 2.2945)))
    at.switch_page("app_pages/cases.py").run()
    assert list(at.dataframe[0].value["file"]) == ["alpha.jpg", "beta.jpg"]
    _select_rows(at, [1])
    assert not at.exception
    assert "1 selected" in "\n".join(c.value for c in at.caption)
    at.text_input(key="case_search").input("alpha").run()  # fewer rows than the selection's index
    assert not at.exception
    assert list(at.dataframe[0].value["file"]) == ["alpha.jpg"]
    assert "0 selected" in "\n".join(c.value for c in at.caption)  # the old selection does not move to alpha


def test_banner_with_flagged_checks_and_no_model(data_dir):
    night_edit = image_bytes(size=(320, 240), exif=gps_exif(48.8584, 2.2945, **{
        "0th": {piexif.ImageIFD.Software: b"Adobe Photoshop 25.0"},
        "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2024:06:21 23:30:00", piexif.ExifIFD.OffsetTimeOriginal: b"+02:00"}}))
    at = _verify(_app(), "night.jpg", night_edit)
    assert not at.exception
    banner = at.warning[0].value.replace("\\", "")  # the Markdown escapes off
    assert banner.startswith("cannot verify location: no model · 2 checks flagged: sun: ")
    assert "editing traces: Software names an editor: Adobe Photoshop 25.0" in banner
    # a PDF says what it is, not "no model" or "prediction failed"; no Python names anywhere
    at = _verify(at, "scan.jpg", b"%PDF-1.4\n" + bytes(300))
    texts = [w.value.replace("\\", "") for w in [*at.warning, *at.error, *at.main.text]  # Markdown escapes off
             if not w.value.startswith("Case: ")]  # the case bar names the model, as it should
    assert texts[0] == "not an image (PDF)"
    assert not any(x in t for t in texts for x in ("Error", "object at 0x", "prediction failed", "no model"))


def _table_with(at: AppTest, column: str):
    """The (first) table on the page that has ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_reopen_a_finding_with_history_tags_and_assessment(data_dir):
    photo = image_bytes(size=(320, 240), exif=gps_exif(48.8584, 2.2945, **{
        "0th": {piexif.ImageIFD.Make: b"Canon", piexif.ImageIFD.Software: b"<img src=x onerror=alert(1)>"}}))
    at = _app()
    _shell(at).session_state["keep_evidence"] = True
    _verify(_shell(at), "paris.jpg", photo)
    _shell(at).session_state["unlikely_factor"] = 3.0  # other settings: the open image is analysed again
    _shell(at).run()
    at.switch_page("app_pages/cases.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["file"]) == ["paris.jpg"] and list(table["analyses"]) == [2]  # one row, two analyses
    _select_rows(at, [0])
    assert not at.exception
    text = "\n".join(m.value for m in at.markdown)
    assert "History** (2 analyses of this file" in text
    history = _table_with(at, "what changed")
    assert list(history["what changed"])[0] == "first analysis"
    assert "settings: unlikely up to 2x the 90 % radius" in list(history["what changed"])[1]
    tags = _table_with(at, "group")
    rows = set(zip(tags["group"], tags["tag"], tags["value"]))
    assert ("IFD0", "Make", "Canon") in rows and ("IFD0", "Software", "<img src=x onerror=alert(1)>") in rows
    assert ("GPS", "GPSLatitudeRef", "N") in rows and ("File", "FileType", "JPEG") in rows
    images = [str(e.proto) for e in at.main if type(e).__name__ == "Image"]
    assert sum("The kept original" in i for i in images) == 1  # the image, with its alt text
    assert len(images) == 1 + 3  # and the pixel views Verify ran (#37): photo with outlines, error levels, noise
    # the analyst's assessment, kept in the case log and exported apart from the tool's verdict
    key = next(w.key for w in at.selectbox if (w.key or "").startswith("case_detail_verdict_"))
    at.selectbox(key=key).set_value("refuted")
    at.text_input(key=key.replace("verdict", "tags")).input("shadow, mirrored")
    at.text_area(key=key.replace("verdict", "note")).input("Shadows point the wrong way.")
    at.button(key=key.replace("verdict", "save")).click().run()
    assert not at.exception
    log = CaseLog(data_dir / "caselog.sqlite3")
    case_id = log.cases()[0][0]
    assert {(s.finding.analyst_verdict, s.finding.analyst_tags, s.note) for s in log.findings(case_id)} == {
        ("refuted", "shadow, mirrored", "Shadows point the wrong way.")}
    from geoloc_core.case.exports.export import export
    import csv, io
    rows = list(csv.DictReader(io.StringIO(export([s.finding for s in log.findings(case_id)], "csv"))))
    assert rows[0]["analyst_verdict"] == "refuted" and rows[0]["verdict"].startswith("cannot verify")


def test_batch_skips_only_same_settings_and_still_shows_skipped_rows(data_dir):
    files = [("a.jpg", image_bytes(color=(10, 60, 90), exif=gps_exif(48.85, 2.29))),
             ("b.jpg", image_bytes(color=(90, 60, 10)))]
    at = _batch(files)
    assert list(at.dataframe[0].value["this batch"]) == ["analysed", "analysed"]
    shown = at.dataframe[0].proto.columns  # titles in words on screen; the frame keeps snake_case for exports
    assert '"label": "Distance (km)"' in shown and '"label": "EXIF country"' in shown
    # again: everything skipped, yet the table, the map and the exports are there
    at.button(key="batch_run").click().run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert list(frame["file"]) == ["a.jpg", "b.jpg"] and all(v.startswith("skipped") for v in frame["this batch"])
    assert list(frame["exif_country"])[0] == "France"  # the earlier finding
    assert any("folium" in str(e.proto).lower() for e in at.main if type(e).__name__ == "UnknownElement")  # the map
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Export CSV" in labels and all(not b.proto.disabled for b in at.get("download_button"))
    log = CaseLog(data_dir / "caselog.sqlite3")
    assert len(log.findings(log.cases()[0][0])) == 2
    # other settings: not the same analysis, so nothing is skipped
    at.session_state["unlikely_factor"] = 4.0  # the sidebar's slider
    at.button(key="batch_run").click().run()
    assert list(at.dataframe[0].value["this batch"]) == ["analysed", "analysed"]
    assert len(log.findings(log.cases()[0][0])) == 4
    # a batch row reopens as a finding, with its history in the case
    key = next(d.proto.id.split("-", 2)[-1] for d in at.dataframe if "batch_table_" in d.proto.id)
    at.session_state[key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert "History** (2 analyses of this file" in "\n".join(m.value for m in at.markdown)


def test_have_we_seen_this_before_searches_every_case(data_dir):
    photo = image_bytes(size=(320, 240), color=(30, 90, 150), exif=gps_exif(48.8584, 2.2945))
    log = CaseLog(data_dir / "caselog.sqlite3")
    at = _app()
    _verify(at, "first-sighting.jpg", photo)
    other = log.ensure_case("Another investigation")
    at.file_uploader(key="verify_upload").clear()
    _shell(at).run()
    at.selectbox(key="case_select").set_value(other)
    _shell(at).run()
    from PIL import Image
    import io
    resized = io.BytesIO()
    Image.open(io.BytesIO(photo)).resize((200, 150)).save(resized, "JPEG", quality=70)  # a re-shared copy
    _verify(_shell(at), "reshared.jpg", resized.getvalue())
    assert [s.finding.file for s in log.findings(other)] == ["reshared.jpg"]
    at.button(key="verify_seen").click().run()
    assert not at.exception
    seen = _table_with(at, "bits different (of 64)")
    assert list(seen["file"]) == ["first-sighting.jpg"] and list(seen["case"]) == ["Default case"]
    assert list(seen["same file (SHA-256)"]) == [False]
    # an unrelated image is not "seen before"
    _verify(at, "unrelated.jpg", image_bytes(size=(320, 240), color=(200, 20, 20)))
    at.button(key="verify_seen").click().run()
    assert "Not seen before" in "\n".join(i.value for i in at.info)


def test_error_boxes_have_no_ask_google_or_chatgpt_links():
    """Streamlit's error boxes offer "Ask Google" / "Ask ChatGPT" links (on localhost by default);
    clicking one sends the error text to a third party. The app's config turns them off."""
    import tomllib

    from streamlit import config

    assert "client.showErrorLinks" in config.get_config_options()  # the option this Streamlit reads
    settings = tomllib.loads((Path(APP).parent / ".streamlit" / "config.toml").read_text())
    assert settings["client"]["showErrorLinks"] is False
