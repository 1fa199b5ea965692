"""Videos in the app (#34, AppTest): Verify shows the filmstrip, the container's claims and each keyframe's
prediction; the Batch page takes videos beside photos; the finding reopens from the case log with its filmstrip."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.hostile_corpus import TEXT_PAYLOADS
from tests.videogen import cut_clip

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PARIS = {"com.apple.quicktime.location.ISO6709": "+48.8584+002.2945+035.000/",
         "com.apple.quicktime.creationdate": "2024-05-01T13:20:30+0200",
         "com.apple.quicktime.make": TEXT_PAYLOADS["html_img"], "com.apple.quicktime.model": TEXT_PAYLOADS["md_image"]}


def _image_captions(at) -> list[str]:
    return [image.caption for element in at.get("image") for image in element.proto.imgs]


def _shown(at) -> str:
    parts = [t.value for t in at.text] + [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [str(getattr(h, "proto", "")) for h in at.get("html")]
    return "\n".join(parts)


def test_verify_shows_a_videos_filmstrip_claims_and_verdict(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOLOC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GEOLOC_MODEL", raising=False)
    at = AppTest.from_file(APP, default_timeout=180).run()
    name = f"clip {TEXT_PAYLOADS['template_literal']}.mov"
    at.file_uploader(key="verify_upload").upload(name, cut_clip([10, 30], 50, fmt="mov", metadata=PARIS)).run()
    assert not at.exception, at.exception
    shown = _shown(at)
    assert "Filmstrip" in shown and "3 keyframes" in shown
    captions = _image_captions(at)
    assert [c.split(" ")[0] for c in captions[1:]] == ["0.00", "0.40", "1.20"], captions  # poster, then the strip
    assert all("no prediction" in c for c in captions[1:])  # no model loaded
    assert "What the container claims" in shown and "2.00 s" in shown and "com.apple.quicktime.creationdate" in shown
    assert "<img src=x" not in "\n".join(m.value for m in at.markdown)  # the make as text, never markup
    assert at.title[0].value == "Verify an image or video"
    assert at.file_uploader(key="verify_upload").label == "Image or video"
    assert "From the container's metadata" in shown and "From the file's metadata (EXIF)" not in shown
    assert "Container GPS says" in str([m.label for m in at.metric])
    assert not any("Cannot show this file as an image" in w.value for w in at.warning)
    pixels = at.session_state["verify_finding"].pixel_forensics  # JPEG checks: not run on a clip, and said so
    assert pixels.startswith("n/a") and "video" in pixels, pixels


def test_batch_takes_a_video_beside_a_photo(tmp_path, monkeypatch):
    from tests.imagegen import gps_exif, image_bytes

    monkeypatch.setenv("GEOLOC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GEOLOC_MODEL", raising=False)
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.switch_page("app_pages/batch.py").run()
    uploader = at.file_uploader(key="batch_files")
    uploader.upload("clip.mp4", cut_clip([10], 20, metadata={"location": "+48.8584+002.2945/"}))
    uploader.upload("photo.jpg", image_bytes(exif=gps_exif(35.68, 139.76)))
    at.run()
    at.button(key="batch_run").click().run()
    assert not at.exception
    frame = at.dataframe[0].value
    statuses = dict(zip(frame["file"], frame["status"]))
    assert statuses == {"clip.mp4": "ok", "photo.jpg": "ok"}
    # the case log keeps the finding (and the original): reopened, it shows the filmstrip again
    from tests.test_workflow import _select_rows

    at.switch_page("app_pages/cases.py").run()
    table = next(d.value for d in at.dataframe if "your verdict" in d.value.columns)
    _select_rows(at, [list(table["file"]).index("clip.mp4")])
    assert not at.exception
    assert "Filmstrip" in _shown(at) and "2 keyframes" in _shown(at)
    assert [c.split(" ")[0] for c in _image_captions(at)[1:]] == ["0.00", "0.40"]
