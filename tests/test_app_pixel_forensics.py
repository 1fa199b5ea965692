"""Pixel forensics on the pages (#37) through AppTest: always on Verify, in Batch only when ticked, shown
again when a finding is reopened; hostile EXIF strings reach the page only as escaped text."""
from __future__ import annotations

import html
import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from geoloc_core.case.log.caselog import CaseLog
from geoloc_core.case.pixel_findings import PIXEL_FIELDS, SECONDS_PER_12MP
from tests.forensic_images import HOSTILE_MAKE, forged_photo

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 180
FORGED, SOURCE, TARGET = forged_photo()


def _html(at: AppTest) -> str:
    return "\n".join(h.proto.body for h in at.html)


def _image_captions(node) -> list[str]:
    found = [i.caption for i in node.proto.imgs] if getattr(node, "type", None) == "image" else []
    children = getattr(node, "children", None)
    for child in children.values() if isinstance(children, dict) else []:
        found += _image_captions(child)
    return found


def _batch(at: AppTest, files: list[tuple[str, bytes]], pixels: bool) -> AppTest:
    at.switch_page("app_pages/batch.py").run()
    if pixels:
        at.checkbox(key="batch_pixel_forensics").check().run()
    uploader = at.file_uploader(key="batch_files")
    for name, data in files:
        uploader.upload(name, data, "image/jpeg")
    at.run()
    at.button(key="batch_run").click().run()
    assert not at.exception, at.exception
    return at


def test_batch_runs_pixel_forensics_only_when_the_labelled_option_is_ticked(data_dir):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("app_pages/batch.py").run()
    option = at.checkbox(key="batch_pixel_forensics")
    assert option.label == f"Pixel forensics (slow: about {SECONDS_PER_12MP} s per 12 MP photo)"
    assert option.value is False
    _batch(at, [("forged.jpg", FORGED)], pixels=False)
    plain = at.session_state["batch_findings"][0]
    assert all(getattr(plain, name) in ("", None) for name in PIXEL_FIELDS)
    # ticked: the same file is analysed again (its earlier finding has no pixel forensics), not skipped
    _batch(at, [("forged.jpg", FORGED)], pixels=True)
    assert at.session_state["batch_reused"] == []
    checked = at.session_state["batch_findings"][0]
    assert checked.clone_regions >= 1 and checked.pixel_checks_flagged == "quantisation, copy-move"
    assert checked.jpeg_quality_estimate == 90
    table = at.dataframe[0].value  # the findings table has the column, labelled for people
    assert list(table["pixel_checks_flagged"]) == ["quantisation, copy-move"]
    saved = [s.finding for s in CaseLog(data_dir / "caselog.sqlite3").findings(None)]
    assert [f.clone_boxes for f in saved if f.pixel_forensics] == [checked.clone_boxes]  # kept in the case log


def test_verify_always_shows_the_pixel_section_with_escaped_hostile_strings(data_dir):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.file_uploader(key="verify_upload").upload("forged.jpg", FORGED, "image/jpeg").run()
    assert not at.exception, at.exception
    finding = at.session_state["verify_finding"]
    assert finding.camera_make == HOSTILE_MAKE and "copy-move" in finding.pixel_checks_flagged
    assert any("Pixel forensics: flagged by" in w.value for w in at.warning)
    captions = _image_captions(at._tree)
    assert sum(c.startswith(("The photo; copy-move pairs", "Error levels", "Noise residual")) for c in captions) == 3
    body = _html(at)
    text = html.unescape(re.sub(r"<[^>]+>", " ", body))
    assert "JPEG quantisation tables" in text and "copy-move (clone)" in text and "never flags" in text
    assert HOSTILE_MAKE.split("!")[0] in text  # the Make is there, as text ...
    assert "<img src=x" not in body and "&lt;img src=x onerror=alert(1)&gt;" in body  # ... never markup
    saved = CaseLog(data_dir / "caselog.sqlite3").findings(None)[0].finding
    assert saved.clone_boxes == finding.clone_boxes and saved.pixel_forensics.startswith("warn")


def test_a_reopened_finding_shows_its_views_again_from_the_kept_original(data_dir):
    from tests.test_workflow import _select_rows

    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.file_uploader(key="verify_upload").upload("forged.jpg", FORGED, "image/jpeg").run()
    at.switch_page("app_pages/cases.py").run()
    _select_rows(at, [0])
    assert not at.exception, at.exception
    captions = _image_captions(at._tree)
    assert any(c.startswith("The photo; copy-move pairs outlined") for c in captions)
    assert any(c.startswith("Error levels") for c in captions)
    assert "copy-move (clone)" in html.unescape(_html(at))


def test_verify_lays_the_double_compression_map_over_a_resaved_photo(data_dir):
    """A photo saved at 60 with a part pasted in uncompressed, then saved at 92: flagged double-compressed,
    and the map is shown over the photo; the forgery of the other tests (saved once) says there is no map."""
    from tests.forensic_images import decoded, jpeg, photo_like

    original = photo_like(5, (320, 320))
    background = decoded(jpeg(original, 60))
    background.paste(original.crop((160, 160, 320, 320)), (160, 160))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.file_uploader(key="verify_upload").upload("resaved.jpg", jpeg(background, 92), "image/jpeg").run()
    assert not at.exception, at.exception
    assert at.session_state["verify_finding"].double_compression is True
    assert any(c.startswith("Double-compression map: red = compressed only once") for c in _image_captions(at._tree))
    at.file_uploader(key="verify_upload").clear()
    at.file_uploader(key="verify_upload").upload("forged.jpg", FORGED, "image/jpeg").run()
    assert not any(c.startswith("Double-compression map") for c in _image_captions(at._tree))
    assert any("No double-compression map" in c.value for c in at.caption)
