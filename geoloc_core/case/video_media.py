"""A video as a media item of the pipeline: its container claims in the EXIF-like fields, its keyframes
through the model(s), one prediction for the clip, and one row per keyframe when asked.

The analyzer calls in at four points (``read``, ``fill``, ``predict_clips``, ``finish``); everything a
video needs beyond a photo lives here, so verification, verdicts, places, checks and exports treat a
clip exactly as a photo.

The clip's prediction is the keyframe with the tightest 90 % region (its point, radii, candidates and
country probabilities, unchanged). Why not the product of the keyframes' mixtures: frames of one clip
are not independent witnesses (the same place seen seconds apart, often the same view), so multiplying
their densities counts the same evidence N times and shrinks the region far below its calibrated
coverage; and a clip is usually located by its one telling shot (a landmark, a sign), which is the
keyframe the model is surest of. The radii stay the calibrated radii of that keyframe's prediction.
"""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Callable, Iterable, Sequence

from ..evidence.exif import ExifFacts
from ..evidence.filefacts import FileFacts
from ..evidence.video import VIDEO_TYPES, VideoReading, read_video, read_video_at
from ..evidence.video.budget import within_deadline
from ..evidence.video.claims import utc_of
from ..model.prediction import LocationPredictor, Prediction
from ..places.geocoding import ReverseGeocoder
from .findings import Finding
from .verification import VerdictThresholds, verify

CLIP_RULE = "the keyframe with the tightest 90 % region"
_UTC_LABEL = "GPS time (UTC)"


def is_video(facts: FileFacts | None) -> bool:
    return facts is not None and facts.file_type in VIDEO_TYPES


def read(worker, path: str | None, data: bytes, frames: bool = True) -> VideoReading:
    """The video's reading from the isolated worker (the file on disk read there, else the bytes), its time budget
    a share of the worker's deadline, so the budget, not the deadline, ends a long read (keeping its keyframes).
    ``frames=False`` (a metadata-only scan): the container's claims only, no frame decoded."""
    budget = replace(within_deadline(getattr(worker, "timeout_s", None)), decode_frames=frames)
    return worker.call(read_video_at, path, budget) if path is not None else worker.call(read_video, data, budget)


def as_exif(reading: VideoReading) -> ExifFacts:
    """The container's claims as the EXIF facts the checks read: a local time with its offset becomes
    DateTimeOriginal + OffsetTimeOriginal; a UTC-only time (QuickTime ``creation_time``, Matroska
    ``DateUTC``) carries no local offset, so it is given as a UTC time only (``GPSDateTime_utc``, which
    the sun check uses and the time-zone check does not judge) and relabelled in ``finish``."""
    claims = reading.claims
    exif = ExifFacts(exif_present=claims is not None)
    if claims is None:
        return exif
    exif.GPSLatitude, exif.GPSLongitude, exif.GPSAltitude_m = claims.GPSLatitude, claims.GPSLongitude, claims.GPSAltitude_m
    exif.Make, exif.Model, exif.Software = claims.Make, claims.Model, claims.Software
    if claims.CreateDate is not None and claims.CreateDate_offset not in (None, "+00:00"):
        exif.DateTimeOriginal, exif.OffsetTimeOriginal = claims.CreateDate, claims.CreateDate_offset
    elif claims.CreateDate is not None and claims.CreateDate_offset == "+00:00":
        exif.GPSDateTime_utc = utc_of(claims).isoformat().replace("+00:00", "Z")
    elif claims.CreateDate is not None:
        exif.DateTimeOriginal = claims.CreateDate  # a local time without an offset (AVI IDIT)
    exif.warnings = list(claims.warnings)
    return exif


def fill(finding: Finding, facts: FileFacts, reading: VideoReading) -> None:
    """The video's facts on its finding: media fields, container claims in the EXIF-like fields; the
    "not a supported image" refusal replaced by the video's own error, if any."""
    finding.media_kind = "video"
    finding.status = "ok"
    finding.message = ""
    if reading.error:
        finding.status = "error"
        finding.add_message(reading.error)
    for note in reading.notes:
        finding.add_message(note)
    claims = reading.claims
    finding.keyframes = len(reading.keyframes)
    finding.keyframe_method = reading.keyframe_method
    finding.keyframe_times = json.dumps([k.time_s for k in reading.keyframes]) if reading.keyframes else ""
    informative = _informative(reading)
    finding.phash = informative[0].phash if informative else ""  # the clip's one hash: its first informative keyframe
    hashes = [k.phash for k in informative if k.phash]
    finding.keyframe_phashes = json.dumps(hashes) if hashes else ""  # near-duplicates: any keyframe (duplicates.py)
    flat = too_little(reading)
    if flat:
        finding.add_message(f"no prediction: {flat}")
    if reading.track:
        finding.telemetry_track = json.dumps([[round(p.lon, 7), round(p.lat, 7)] for p in reading.track])
    if claims is None:
        return
    finding.duration_s = round(claims.Duration_s, 3) if claims.Duration_s is not None else None
    finding.width, finding.height = claims.ImageWidth, claims.ImageHeight
    finding.video_frame_rate = round(claims.VideoFrameRate, 3) if claims.VideoFrameRate else None
    finding.video_rotation = claims.Rotation
    finding.exif_present = True
    finding.exif_lat, finding.exif_lon, finding.exif_altitude_m = claims.GPSLatitude, claims.GPSLongitude, claims.GPSAltitude_m
    finding.exif_datetime_original = claims.datetime_with_offset
    finding.capture_time_source = claims.CreateDate_source
    finding.camera_make, finding.camera_model, finding.software = claims.Make, claims.Model, claims.Software
    for warning in claims.warnings:
        finding.add_message(warning)


def keyframe_inputs(make_input: Callable[[bytes], object], reading: VideoReading) -> list:
    """Each informative keyframe as a model's input, by the model's own one path from image bytes (a flat
    frame, such as a fade from black, is shown but not predicted, as a flat photo is not)."""
    return [make_input(k.image) for k in _informative(reading)]


def too_little(reading: VideoReading) -> str | None:
    """Why no keyframe is worth a prediction (each too small or too flat), in words; None when one is."""
    if not reading.keyframes or _informative(reading):
        return None
    return "every keyframe is " + (reading.keyframes[0].too_little or "").removeprefix("image ")


def _informative(reading: VideoReading) -> list:
    return [k for k in reading.keyframes if not k.too_little]


def predict_clips(predictor: LocationPredictor | None, items: Sequence, inputs_of: Callable[[object], list],
                  batch_size: int) -> dict[int, tuple[Prediction, list[Prediction]]]:
    """{id(item): (the clip's prediction, each keyframe's)} for the items with keyframe inputs, the model
    run in batches of ``batch_size`` over all their keyframes together."""
    if predictor is None:
        return {}
    owners, inputs = [], []
    for item in items:
        for image in inputs_of(item) or []:
            owners.append(id(item))
            inputs.append(image)
    if not inputs:
        return {}
    results: list[Prediction] = []
    for start in range(0, len(inputs), max(1, batch_size)):
        results.extend(predictor.predict(inputs[start:start + batch_size]))
    per_item: dict[int, list[Prediction]] = {}
    for owner, prediction in zip(owners, results):
        per_item.setdefault(owner, []).append(prediction)
    return {owner: (combine(predictions), predictions) for owner, predictions in per_item.items()}


def combine(predictions: Sequence[Prediction]) -> Prediction:
    """The clip's prediction: ``CLIP_RULE`` (see the module docstring for why); ties go to the earlier keyframe."""
    return min(predictions, key=lambda p: (p.radius90_km if p.radius90_km is not None else float("inf")))


def record_keyframe_predictions(finding: Finding, reading: VideoReading, clip: Prediction,
                                predictions: Sequence[Prediction]) -> None:
    """Each keyframe's point and radii on the finding (JSON), and which one the clip's prediction (``clip``, one
    of ``predictions``, as ``predict_clips`` chose it) is."""
    rows = []
    for keyframe, prediction in zip(_informative(reading), predictions):
        rows.append({"time_s": keyframe.time_s, "lat": prediction.lat, "lon": prediction.lon,
                     "radius50_km": prediction.radius50_km, "radius90_km": prediction.radius90_km})
        if prediction is clip:
            finding.clip_prediction_from = f"keyframe at {keyframe.time_s:.2f} s ({CLIP_RULE})"
    finding.keyframe_predictions = json.dumps(rows)


def finish(finding: Finding) -> None:
    """After the checks: a container's UTC time (passed to the checks as a UTC-only time) is named by its tag."""
    if finding.capture_time_source:
        label = f"{finding.capture_time_source} (UTC)"
        finding.check_sun = finding.check_sun.replace(_UTC_LABEL, label)
        finding.check_time = finding.check_time.replace(_UTC_LABEL, label)
        finding.check_timezone = finding.check_timezone.replace(_UTC_LABEL, label)


def keyframe_rows(parent: Finding, geocoder: ReverseGeocoder,
                  thresholds: VerdictThresholds | None = None) -> list[Finding]:
    """One finding per keyframe of a video finding (``scan --keyframe-rows``): its time, its prediction,
    places and verdict against the container's GPS, and ``parent_sha256`` naming the video."""
    if parent.media_kind != "video" or not parent.keyframe_times:
        return []
    times = json.loads(parent.keyframe_times)
    predictions = {row["time_s"]: row for row in json.loads(parent.keyframe_predictions or "[]")}
    points = [(r["lat"], r["lon"]) for r in predictions.values()]
    exif_point = (parent.exif_lat, parent.exif_lon) if parent.exif_lat is not None else None
    lookups = ([exif_point] if exif_point else []) + points
    places = iter(geocoder.reverse_many([a for a, _ in lookups], [b for _, b in lookups])) if lookups else iter(())
    exif_place = next(places) if exif_point else None
    pred_places = {t: next(places) for t in predictions}
    rows = []
    for t in times:
        row = Finding(file=f"{parent.file} @ {t:.3f} s", file_type=parent.file_type, media_kind="keyframe",
                      parent_sha256=parent.sha256, frame_time_s=t, analysed_at_utc=parent.analysed_at_utc,
                      acquired_at_utc=parent.acquired_at_utc, model=parent.model, analysis_settings=parent.analysis_settings)
        for name in ("exif_lat", "exif_lon", "exif_altitude_m", "exif_datetime_original", "camera_make", "camera_model",
                     "software", "exif_country", "exif_country_code", "exif_continent", "capture_time_source"):
            setattr(row, name, getattr(parent, name))
        found = predictions.get(t)
        prediction = None
        if found is not None:
            prediction = Prediction(lat=found["lat"], lon=found["lon"], radius50_km=found["radius50_km"],
                                    radius90_km=found["radius90_km"])
            place = pred_places[t]
            row.pred_lat, row.pred_lon = prediction.lat, prediction.lon
            row.pred_radius_km, row.pred_radius50_km = prediction.radius90_km, prediction.radius50_km
            row.pred_country, row.pred_country_code, row.pred_continent = place.country, place.country_code, place.continent
        result = verify(exif_point, prediction, exif_place, pred_places.get(t), model_available=bool(parent.model),
                        thresholds=thresholds or VerdictThresholds(), medium="keyframe")
        row.distance_km, row.band, row.verdict, row.verdict_reason = (result.distance_km, result.band, result.verdict,
                                                                      result.reason)
        rows.append(row)
    return rows


def with_keyframe_rows(findings: Iterable[Finding], geocoder: ReverseGeocoder) -> Iterable[Finding]:
    for finding in findings:
        yield finding
        yield from keyframe_rows(finding, geocoder)


__all__ = ["CLIP_RULE", "as_exif", "combine", "fill", "finish", "is_video", "keyframe_inputs", "keyframe_rows",
           "predict_clips", "read", "record_keyframe_predictions", "too_little", "with_keyframe_rows"]
