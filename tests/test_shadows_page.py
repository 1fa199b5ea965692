"""The Sun and shadows page through AppTest: band from a measured shadow, EXIF point checked against it."""
from __future__ import annotations

import piexif
from streamlit.testing.v1 import AppTest

from tests.imagegen import gps_exif, image_bytes
from tests.test_app import APP, TIMEOUT, _texts


def _paris_at(local_time: bytes) -> bytes:
    return image_bytes(size=(64, 48), exif=gps_exif(48.8566, 2.3522, **{"Exif": {
        piexif.ExifIFD.DateTimeOriginal: local_time, piexif.ExifIFD.OffsetTimeOriginal: b"+02:00"}}))


def _shadows_after_verify(jpeg: bytes) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.file_uploader(key="verify_upload").upload("paris.jpg", jpeg, "image/jpeg").run()
    at.switch_page("app_pages/shadows.py").run()
    return at


def test_shadow_band_takes_the_exif_time_and_agrees_with_the_exif_point(data_dir):
    at = _shadows_after_verify(_paris_at(b"2024:06:21 13:50:00"))
    assert not at.exception
    assert at.text_input(key="shadow_time").value == "2024-06-21T13:50:00+02:00"
    at.number_input(key="shadow_height").set_value(1.0)
    at.number_input(key="shadow_length").set_value(0.475).run()
    text = _texts(at)
    assert "64.59°" in text and "France" in text
    assert "inside the band" in text


def test_a_shadow_that_does_not_fit_the_claim_is_named(data_dir):
    at = _shadows_after_verify(_paris_at(b"2024:06:21 08:00:00"))  # 06:00 UTC: the sun is low in Paris
    at.number_input(key="shadow_height").set_value(1.0)
    at.number_input(key="shadow_length").set_value(0.475).run()
    assert not at.exception
    text = _texts(at)
    assert "outside the band" in text and "km" in text


def test_a_time_without_offset_is_refused_with_a_message(data_dir):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("app_pages/shadows.py").run()
    at.text_input(key="shadow_time").input("2024-06-21 11:50").run()
    assert not at.exception
    assert "no UTC offset" in _texts(at)


def test_a_capture_time_from_xmp_is_named_as_such_not_as_exif(data_dir):
    """#17 follow-up: the page said "EXIF" for a time that came from XMP-photoshop:DateCreated."""
    from tests.test_claims_case import photo

    at = _shadows_after_verify(photo(gps=(48.8566, 2.3522), photoshop__DateCreated="2024-06-21T13:50:00+02:00"))
    assert not at.exception
    assert at.text_input(key="shadow_time").value == "2024-06-21T13:50:00+02:00"
    text = (_texts(at) + " ".join(str(c.label) for c in at.checkbox)).replace("\\", "")  # Markdown escapes
    assert "from XMP-photoshop:DateCreated" in text and "offset of XMP-photoshop:DateCreated" in text
    assert "EXIF offset" not in text and "EXIF time" not in text
