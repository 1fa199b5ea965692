"""A video's words (#34, after the first build): text shared with photos names a video and its container,
never "this photo" or EXIF; a photo's words stay as they were."""
from __future__ import annotations

import pytest

from geoloc_core.case.analyzer import Analyzer
from geoloc_core.case.banner import compose_banner
from geoloc_core.case.findings import Finding
from geoloc_core.case.reports.report_content import ReportItem, file_report
from geoloc_core.case.verification import CONSISTENT, NO_GPS, TOO_LITTLE_IMAGE, verify
from geoloc_core.evidence.sources import FileSource
from geoloc_core.model.prediction import Prediction
from tests.imagegen import gps_exif, image_bytes
from tests.videogen import cut_clip

PARIS = {"com.apple.quicktime.location.ISO6709": "+48.8584+002.2945+035.000/",
         "com.apple.quicktime.creationdate": "2024-05-01T13:20:30+0200"}


class Vague:
    """A model that knows nothing: one point, a 90 % region of 16,000 km."""

    description = "vague test predictor"

    def predict(self, images):
        return [Prediction(48.0, 2.0, 9000.0, 16000.0) for _ in images]


@pytest.fixture(scope="module")
def vague(geocoder, worker):
    return Analyzer(geocoder=geocoder, worker=worker, predictor=Vague())


def test_an_uncertain_model_is_uncertain_about_this_video_not_this_photo(vague):
    clip = vague.analyze(FileSource("clip.mov", data=cut_clip([10], 20, fmt="mov", metadata=PARIS)))
    assert clip.verdict == "inconclusive", clip.verdict_reason
    assert "too uncertain about this video (" in clip.verdict_reason and "photo" not in clip.verdict_reason
    assert "this video" in compose_banner(clip).text and "photo" not in compose_banner(clip).text
    photo = vague.analyze(FileSource("p.jpg", data=image_bytes(exif=gps_exif(48.8584, 2.2945))))
    assert "too uncertain about this photo (" in photo.verdict_reason


def test_a_video_without_gps_names_its_container():
    reason = verify(None, Prediction(1.0, 2.0), medium="video").reason
    assert reason == "the video's container carries no usable GPS to compare the prediction with"
    assert verify(None, Prediction(1.0, 2.0)).reason == "the file carries no usable EXIF GPS to compare the prediction with"
    assert verify((1.0, 2.0), None, medium="video").reason == "the model could not analyse this video"
    assert verify((1.0, 2.0), None).reason == "the model could not analyse this image"


def test_the_banner_names_the_containers_gps_for_a_video_and_exif_for_a_photo():
    video = Finding("clip.mov", media_kind="video", verdict=CONSISTENT, distance_km=3.0)
    photo = Finding("p.jpg", verdict=CONSISTENT, distance_km=3.0)
    assert compose_banner(video).text == "location consistent: the container's GPS 3.0 km from the prediction"
    assert compose_banner(photo).text == "location consistent: EXIF GPS 3.0 km from the prediction"
    flat = compose_banner(Finding("clip.mov", media_kind="video", verdict=TOO_LITTLE_IMAGE)).text
    assert "every keyframe too small or flat" in flat and "image" not in flat
    assert "image too small or flat" in compose_banner(Finding("p.jpg", verdict=TOO_LITTLE_IMAGE)).text
    no_gps = compose_banner(Finding("clip.mov", media_kind="video", verdict=NO_GPS)).text
    assert no_gps == "cannot verify location: no GPS in the container"
    assert compose_banner(Finding("p.jpg", verdict=NO_GPS)).text == "cannot verify location: no EXIF GPS"


def test_the_reports_thumbnail_caption_names_keyframes_for_a_video(worker):
    clip_bytes = cut_clip([10], 20, fmt="mov", size=(160, 90))
    from geoloc_core.evidence.filefacts import sha256_hex

    video = Finding("clip.mov", media_kind="video", status="ok", sha256=sha256_hex(clip_bytes))
    report = file_report(1, ReportItem(video, original=lambda: clip_bytes), worker=worker)
    assert report.thumbnail_jpeg is not None
    assert report.thumbnail_caption == "Keyframes with their times (the container's rotation applied)"
    titles = [s.title for s in report.sections]
    assert "Metadata (the container's claims)" in titles and "Place of the container's GPS point" in titles
    assert not any("EXIF" in t for t in titles), titles
    broken = file_report(2, ReportItem(Finding("bad.mov", media_kind="video", status="error")), worker=worker)
    assert broken.thumbnail_note == "the file is not an analysable video"
    photo = file_report(3, ReportItem(Finding("p.jpg", status="error")), worker=worker)
    assert photo.thumbnail_caption == "Thumbnail (EXIF orientation applied)"
    assert photo.thumbnail_note == "the file is not an analysable image"
    assert {"Metadata (EXIF)", "Place of the EXIF GPS point"} <= {s.title for s in photo.sections}
