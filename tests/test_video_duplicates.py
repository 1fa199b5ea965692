"""Near-duplicates of a video (#34): every keyframe's perceptual hash is searchable, any to any, so a still
of a clip's third scene, or a copy cut to start at another scene, is "seen before"."""
from __future__ import annotations

import json

import numpy as np
import pytest

from geoloc_core.case.analyzer import Analyzer
from geoloc_core.case.duplicates import group_near_duplicates, hashes_of, similar
from geoloc_core.case.findings import Finding
from geoloc_core.evidence.sources import FileSource
from tests.videogen import write_video

SIZE = (160, 96)


def _scenes() -> list[np.ndarray]:
    """Three shots of different structure (phash ignores colour) and colours (so the scene scan cuts between
    them): a gradient, a checkerboard, stripes."""
    y, x = np.mgrid[0:SIZE[1], 0:SIZE[0]]
    gradient = (x * 255 // SIZE[0]).astype(np.uint8)
    checker = (((x // 20 + y // 24) % 2) * 230 + 10).astype(np.uint8)
    stripes = ((y // 32 % 2) * 200 + 30).astype(np.uint8)
    tint = [lambda g: (g, 255 - g, g // 2), lambda g: (g // 3, g // 2, g), lambda g: (g, g // 4, 60 + g // 2)]
    return [np.stack(tint[i](g), axis=-1) for i, g in enumerate((gradient, checker, stripes))]


def _clip(order: list[int], frames_each: int = 10) -> bytes:
    scenes = _scenes()
    frames = [scenes[s] for s in order for _ in range(frames_each)]
    return write_video(frames, fmt="mp4", size=SIZE, rate=10)


@pytest.fixture(scope="module")
def analyzer(geocoder, worker):
    return Analyzer(geocoder=geocoder, worker=worker)


def test_a_still_of_a_later_scene_is_found_from_the_video_and_grouped_with_it(analyzer):
    from PIL import Image
    import io

    video = analyzer.analyze(FileSource("clip.mp4", data=_clip([0, 1, 2])))
    assert video.status == "ok" and video.keyframes == 3, video.message
    assert len(json.loads(video.keyframe_phashes)) == 3 and hashes_of(video)[0] == video.phash
    buffer = io.BytesIO()
    Image.fromarray(_scenes()[2]).resize((320, 192)).save(buffer, "JPEG", quality=80)  # a re-shared, larger still
    still = analyzer.analyze(FileSource("still.jpg", data=buffer.getvalue()))
    assert still.phash
    assert similar(still.phash, [video]) and similar(hashes_of(video), [still])
    assert [g.members for g in group_near_duplicates([video, still])] == [[0, 1]]
    alone = Finding("clip.mp4", phash=video.phash, media_kind="video")  # the first keyframe's hash only
    assert not similar(still.phash, [alone])  # what the first build searched: the still was missed


def test_a_copy_cut_to_start_at_another_scene_is_seen_before(analyzer):
    original = analyzer.analyze(FileSource("a.mp4", data=_clip([0, 1, 2])))
    recut = analyzer.analyze(FileSource("b.mp4", data=_clip([2, 1])))
    assert original.phash != recut.phash
    hits = similar(hashes_of(recut), [original])
    assert hits and hits[0][0] == 0


def test_a_tampered_hash_list_is_read_as_no_list():
    for bad in ("not json", '{"a": 1}', '[1, "zz", null, "abc"]'):
        finding = Finding("v.mp4", phash="ffff0000ffff0000", keyframe_phashes=bad)
        assert hashes_of(finding)[0] == "ffff0000ffff0000"
        assert all(isinstance(h, str) and int(h, 16) >= 0 for h in hashes_of(finding))
    assert hashes_of(Finding("v.mp4", keyframe_phashes='["' + "a" * 16 + '"]' * 1)) == ["a" * 16]


def test_verify_finds_a_still_of_a_later_scene_seen_before(data_dir):
    """The app's "Have we seen this before?" on a video asks with every keyframe's hash (ui/detail.py)."""
    import io
    from pathlib import Path

    from PIL import Image
    from streamlit.testing.v1 import AppTest

    buffer = io.BytesIO()
    Image.fromarray(_scenes()[2]).resize((320, 192)).save(buffer, "JPEG", quality=80)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=180).run()
    at.file_uploader(key="verify_upload").upload("still.jpg", buffer.getvalue(), "image/jpeg").run()
    assert not at.exception, at.exception
    at.file_uploader(key="verify_upload").upload("clip.mp4", _clip([0, 1, 2]), "video/mp4").run()
    at.button(key="verify_seen").click().run()
    assert not at.exception, at.exception
    said = " ".join(c.value for c in at.caption) + " ".join(i.value for i in at.info)
    assert "Seen before: 1 near-duplicate(s)" in said, said
    assert "Nothing to map: the video's container has no usable GPS" in said  # (#34 wording; no EXIF)
