"""Keeping the original is the default (#32: with "Keep a copy of each original file" off by default, the bundle
held 0 of 1 originals, a reopened finding said "Image not kept" and the report had no thumbnail). Switched off,
the sidebar says what is lost and the disk the kept originals use; switched on again, it offers to keep the
session's files analysed meanwhile, saying how many and their size."""
from __future__ import annotations

import hashlib
from pathlib import Path

from streamlit.testing.v1 import AppTest

from geoloc_core.case.log.caselog import CaseLog, EvidenceStore
from geoloc_core.model.fetch import human_bytes
from tests.imagegen import gps_exif, image_bytes
from tests.test_app import _batch
from tests.test_workflow import _select_rows

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PHOTO = image_bytes(size=(320, 240), exif=gps_exif(48.8584, 2.2945))
OTHER = image_bytes(size=(320, 240), color=(200, 30, 30), exif=gps_exif(52.52, 13.40))


def _said(at: AppTest) -> str:
    texts = [e.value for group in (at.warning, at.info, at.success, at.caption) for e in group]
    return "\n".join(texts).replace("\\", "")


def _image_captions(node) -> list[str]:
    """Captions of the pictures on the page (AppTest has no accessor for st.image)."""
    found = [i.caption for i in node.proto.imgs] if getattr(node, "type", None) == "image" else []
    children = getattr(node, "children", None)
    for child in children.values() if isinstance(children, dict) else []:
        found += _image_captions(child)
    return found


def _verify(at: AppTest, name: str, data: bytes) -> AppTest:
    uploader = at.file_uploader(key="verify_upload")
    if uploader.value:
        uploader.clear()
    return uploader.upload(name, data, "image/jpeg").run()


def test_the_original_is_kept_by_default_and_reopens_with_its_image_and_in_the_bundle(data_dir):
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert at.toggle(key="keep_evidence").value is True
    _verify(at, "paris.jpg", PHOTO)
    assert not at.exception
    digest = hashlib.sha256(PHOTO).hexdigest()
    assert EvidenceStore(data_dir / "evidence").get(digest) == PHOTO
    at.switch_page("app_pages/cases.py").run()
    _select_rows(at, [0])
    assert not at.exception
    assert "Image not kept" not in _said(at)
    assert any("The kept original" in caption for caption in _image_captions(at._tree))
    at.button(key="case_report_make").click().run()
    assert not at.exception
    _, outputs, _, missing = at.session_state["case_report"]
    assert missing == [] or missing == ()
    import io
    import zipfile

    bundle = dict((kind, content) for kind, _, content in outputs)["bundle"]
    assert f"originals/{digest}.jpeg" in zipfile.ZipFile(io.BytesIO(bundle)).namelist()


def test_switched_off_it_says_what_is_lost_and_the_disk_the_originals_use(data_dir):
    at = AppTest.from_file(APP, default_timeout=120).run()
    _verify(at, "paris.jpg", PHOTO)  # kept: the default
    at.toggle(key="keep_evidence").set_value(False).run()
    assert not at.exception
    said = _said(at)
    assert "Originals are not kept" in said and "no original or thumbnail" in said
    assert f"The 1 original(s) kept so far use {human_bytes(len(PHOTO))} on this disk" in said
    _verify(at, "berlin.jpg", OTHER)
    assert EvidenceStore(data_dir / "evidence").get(hashlib.sha256(OTHER).hexdigest()) is None


def test_switched_on_later_it_offers_to_keep_the_sessions_files(data_dir):
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["keep_evidence"] = False
    at.run()
    _verify(at, "berlin.jpg", OTHER)
    digest = hashlib.sha256(OTHER).hexdigest()
    store = EvidenceStore(data_dir / "evidence")
    assert store.get(digest) is None
    at.toggle(key="keep_evidence").set_value(True).run()
    assert not at.exception
    assert f"1 file(s) of this session ({human_bytes(len(OTHER))}) were analysed while originals were not kept" \
        in _said(at)
    at.button(key="keep_session_files").click().run()
    assert not at.exception
    assert store.get(digest) == OTHER
    assert f"Kept 1 original(s) of this session ({human_bytes(len(OTHER))})" in _said(at)
    at.run()
    assert not any(b.key == "keep_session_files" for b in at.button)  # answered: not offered again
    log = CaseLog(data_dir / "caselog.sqlite3")
    assert len(log.findings(log.cases()[0][0])) == 1  # keeping the originals analysed nothing again


def test_switched_on_later_on_the_batch_page_it_offers_the_batchs_files_zip_entries_included(data_dir):
    import io
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("inside/a.jpg", PHOTO)
        z.writestr("inside/b.jpg", OTHER)
    third = image_bytes(size=(320, 240), color=(10, 200, 30))
    at = _batch([("two.zip", archive.getvalue()), ("third.jpg", third)], session={"keep_evidence": False})
    assert not at.exception
    store = EvidenceStore(data_dir / "evidence")
    assert all(store.get(hashlib.sha256(d).hexdigest()) is None for d in (PHOTO, OTHER, third))
    at.toggle(key="keep_evidence").set_value(True).run()
    size = human_bytes(len(PHOTO) + len(OTHER) + len(third))
    assert f"3 file(s) of this session ({size}) were analysed while originals were not kept" in _said(at)
    at.button(key="keep_session_files").click().run()
    assert not at.exception
    assert all(store.get(hashlib.sha256(d).hexdigest()) == d for d in (PHOTO, OTHER, third))
