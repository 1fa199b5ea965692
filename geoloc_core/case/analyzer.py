"""The pipeline that turns a ``FileSource`` into a ``Finding``.

``Analyzer`` runs the steps for each file: file facts and EXIF in an isolated,
time-bounded worker (hostile files cannot hang or crash the batch), offline
reverse geocoding, model prediction in batches (memory stays bounded to one
batch of decoded images), verification. Any failure is confined to its file.

Two witnesses: with a trained regressor and a zero-shot CLIP loaded together, the
regressor fills the ``pred_*`` fields and the verdict, the zero-shot predictor the
``second_*`` fields with its own verdict, and ``witnesses_distance_km`` says how far
apart the two points are.
"""
from __future__ import annotations

import json
import logging
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator, Sequence

from ..evidence.checks import CheckResult, run_checks
from ..evidence.exif import ExifFacts
from ..evidence.filefacts import SUPPORTED_IMAGE_TYPES, FileFacts, describe_type, sha256_hex
from ..evidence.information import too_little_information
from ..evidence.forensic_facts import ForensicFacts
from ..evidence.imaging import ImageDecodeError, load_rgb
from ..evidence.inspection import inspect_file, inspect_file_at, inspect_metadata_only
from ..evidence.isolation import IsolatedCallError, IsolatedWorker, WorkerPool
from ..evidence.sources import FileSource
from ..model.clip_input import ClipInputSpec, inspect_with_model_input, same_spec
from ..model.prediction import LocationPredictor, Prediction
from ..places.forward_geocoding import ForwardGeocoder, default_forward_geocoder
from ..places.geocoding import Place, ReverseGeocoder
from . import video_media
from .claims import claim_check, fill_written_claims, locate_claim, verify_claim
from .findings import Finding
from . import pixel_findings
from .scan_mode import FULL, METADATA_ONLY, METADATA_ONLY_WINDOW, blank_pixel_columns
from ..places.geodesy import geodesic_km
from .verification import NOT_AN_IMAGE, PREDICTION_FAILED, TOO_LITTLE_IMAGE, VerdictThresholds, verify

LOGGER = logging.getLogger(__name__)


@dataclass
class _Inspected:
    """What the background stage made of one file (``Analyzer._inspect``)."""
    data: bytes = b""
    read_error: str | None = None
    inspect_error: str | None = None
    facts: FileFacts | None = None
    exif: ExifFacts | None = None
    forensic: ForensicFacts | None = None
    too_little: str | None = None
    image: object = None  # for the model: a crop from the worker (clip_input.py), or the model's input made here
    second_image: object = None  # the second witness's own input, when the two models' inputs differ
    decode_error: str | None = None
    pixels: object = None  # pixel forensics (#37), when asked for: pixel_findings.run_for_file's outcome
    video: object = None  # a video's VideoReading (video_media.py)
    keyframe_inputs: list | None = None  # its keyframes as the model's inputs, and the second witness's
    second_keyframe_inputs: list | None = None


@dataclass
class _Pending:
    finding: Finding
    image: object = None  # pixels awaiting the model (a crop or a PIL image)
    second_image: object = None  # the second witness's, when it takes other pixels than the first
    exif: ExifFacts | None = None
    forensic: ForensicFacts | None = None
    not_an_image: bool = False
    too_little: str | None = None  # why the pixels carry no location (information.py)
    video: object = None  # a video's VideoReading; its keyframes meet the model instead of ``image``
    keyframe_inputs: list | None = None
    second_keyframe_inputs: list | None = None


@dataclass
class Analyzer:
    """The analysis pipeline. Reuse one instance: it owns the isolated worker and the geocoder."""

    geocoder: ReverseGeocoder
    predictor: LocationPredictor | None = None
    batch_size: int = 16
    worker: IsolatedWorker | WorkerPool = field(default_factory=WorkerPool)  # a pool inspects files in parallel
    thresholds: VerdictThresholds = field(default_factory=VerdictThresholds)
    second_predictor: LocationPredictor | None = None  # the second witness (see the module docstring)
    forward_geocoder: ForwardGeocoder | None = None  # for written places; the shared offline one when None
    # what runs in the isolated worker per file: a picklable module-level function (tests swap in a hostile one)
    inspector: Callable[[bytes], tuple] = inspect_file
    pixel_forensics: bool = False  # also run the pixel checks (#37; seconds per photo: Verify, Batch on request, scan flag)
    metadata_only: bool = False  # scan --metadata-only (#35): no pixel decode, no model (case/scan_mode.py)

    def __post_init__(self) -> None:
        if self.metadata_only and (self.predictor is not None or self.second_predictor is not None
                                   or self.pixel_forensics):
            raise ValueError("a metadata-only scan decodes no pixels, so it runs no model and no pixel checks: "
                             "drop them or the mode")

    @property
    def settings_label(self) -> str:
        """The settings a finding depends on besides the model, in words (recorded on each finding:
        a batch skips a file only when it was analysed with the same model and settings)."""
        t = self.thresholds
        online = "Nominatim" in type(self.geocoder).__name__
        return (f"unlikely up to {t.unlikely_factor:g}x the 90 % radius; without radius {t.fallback_consistent_km:g} / "
                f"{t.fallback_plausible_km:g} / {t.fallback_unlikely_km:g} km; inconclusive beyond a 90 % / 50 % "
                f"region of {t.uninformative_r90_km:g} / {t.uninformative_r50_km:g} km; geocoder "
                f"{'online (Nominatim)' if online else 'offline'}")

    def analyze(self, source: FileSource) -> Finding:
        return next(iter(self.analyze_stream([source])))

    def analyze_stream(self, sources: Iterable[FileSource]) -> Iterator[Finding]:
        """Findings in input order; images meet the model in batches of ``batch_size``.

        Three stages overlap: reading, inspection (in the isolated workers) and the model's decode run
        ahead in background threads; the model runs on one batch in its own thread while this thread
        prepares the next one and geocodes, verifies and checks the one before. At most two batches of
        decoded images exist at once."""
        batch: list[_Pending] = []
        in_model: tuple[list[_Pending], Future] | None = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="geoloc-model") as model:
            for source, inspected in self._inspected(sources):
                batch.append(self._prepare(source, inspected))
                # flush on a full model batch, or regularly so progress shows even when few files decode
                if sum(p.image is not None or len(p.keyframe_inputs or ()) for p in batch) >= self.batch_size or len(batch) >= 4 * self.batch_size:
                    submitted = (batch, model.submit(self._run_models, batch))
                    if in_model is not None:
                        yield from self._complete(*in_model)
                    in_model, batch = submitted, []
            if batch:
                submitted = (batch, model.submit(self._run_models, batch))
                if in_model is not None:
                    yield from self._complete(*in_model)
                in_model = submitted
            if in_model is not None:
                yield from self._complete(*in_model)

    def _inspected(self, sources: Iterable[FileSource]) -> Iterator[tuple[FileSource, "_Inspected"]]:
        """(source, what the background stage made of it), in input order.

        One thread per worker keeps the worker pool busy; with a model, one more per worker has the next
        file's request ready for a worker the moment it is free, or decodes for a model whose crops the
        workers cannot make; at most ``window`` files are in flight, so memory stays bounded by the window,
        not the folder (a 10,000-file scan holds no more bytes at once than a 1,000-file one)."""
        workers = max(1, getattr(self.worker, "size", 1))
        threads = 2 * workers if self.predictor is not None else workers
        window = 2 * threads + (self.batch_size if self.predictor is not None else 0)
        if self.metadata_only:  # small results: parse ahead while the geocoder loads (case/scan_mode.py)
            window = max(window, METADATA_ONLY_WINDOW)
        in_flight: deque[tuple[FileSource, Future]] = deque()
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="geoloc-inspect") as pool:
            try:
                for source in sources:
                    in_flight.append((source, pool.submit(self._inspect, source)))
                    if len(in_flight) >= window:
                        source, future = in_flight.popleft()
                        yield source, future.result()
                while in_flight:
                    source, future = in_flight.popleft()
                    yield source, future.result()
            finally:
                for _, future in in_flight:  # the consumer stopped early: do not start the rest
                    future.cancel()

    def _inspect(self, source: FileSource) -> "_Inspected":
        """Read, inspect in an isolated worker, and decode for the model: the per-file work, off the
        main thread. Never raises: a failure is carried to ``_prepare`` as that file's message."""
        result = _Inspected()
        # The worker reads a file on disk itself (no copy through the pipe). With a model whose input it
        # can make (clip_input.py), it also decodes and crops for the model, from the bytes it hashed;
        # otherwise the pixels the model sees must be the bytes that were hashed, so they are read here.
        spec = self._model_input_spec()
        inspector = inspect_metadata_only if self.metadata_only else self.inspector
        try:
            path = source.checked_path() if self.predictor is None or spec is not None else None
            if path is None:
                result.data = source.read()
        except (OSError, ValueError) as exc:
            result.read_error = _describe_read_error(exc)
            return result
        except Exception as exc:  # an archive member or upload that fails oddly stays its own error
            result.read_error = f"unreadable file ({type(exc).__name__})"
            return result
        function, extra = (inspect_with_model_input, (inspector, spec)) if spec else (inspector, ())
        try:
            inspected = (self.worker.call(inspect_file_at, str(path), function, *extra) if path is not None
                         else self.worker.call(function, result.data, *extra))
        except IsolatedCallError as exc:
            if path is not None:  # the file's hash and size are still owed; an unreadable file says so
                try:
                    result.data = source.read()
                except (OSError, ValueError) as read_exc:
                    result.read_error = _describe_read_error(read_exc)
                    return result
            result.inspect_error = str(exc)
            return result
        result.facts, result.exif, result.forensic = inspected[:3]
        if video_media.is_video(result.facts):  # a second call: the video's claims and keyframes
            self._inspect_video(source, path, result)
            return result
        if spec is not None:  # the worker also made the model's crop, or says why it could not
            result.image, result.decode_error = inspected[3:]
        facts, forensic = result.facts, result.forensic
        if facts.error is None:
            result.too_little = too_little_information(facts.width, facts.height,
                                                       forensic.pixel_spread if forensic is not None else None)
        if facts.error is None and result.too_little is None and self.predictor is not None and spec is None:
            try:  # each model's input by its own one path from the bytes (preprocessing.model_input)
                result.image = _model_input(self.predictor, result.data)
                if self.second_predictor is not None:
                    result.second_image = _model_input(self.second_predictor, result.data)
            except ImageDecodeError as exc:
                result.image = result.second_image = None
                result.decode_error = str(exc)
        if self.pixel_forensics:  # in the worker, under the checks' own deadline (case/pixel_findings.py)
            result.pixels = pixel_findings.run_for_file(self.worker, result.data, path, facts, result.exif)
        return result

    def _inspect_video(self, source: FileSource, path, result: "_Inspected") -> None:
        try:
            data = result.data if path is None else b""
            result.video = video_media.read(self.worker, str(path) if path is not None else None, data,
                                            frames=not self.metadata_only)
        except IsolatedCallError as exc:
            result.inspect_error = f"video could not be read: {exc}"
            if path is not None:
                result.data = source.read()
            return
        if self.predictor is not None and result.video.keyframes:
            result.keyframe_inputs = video_media.keyframe_inputs(lambda b: _model_input(self.predictor, b), result.video)
            if self.second_predictor is not None:
                result.second_keyframe_inputs = video_media.keyframe_inputs(
                    lambda b: _model_input(self.second_predictor, b), result.video)

    def _model_input_spec(self) -> ClipInputSpec | None:
        """The crop every loaded model takes, when the workers can make it (None: no model, or models
        with other preprocessing, whose images are decoded here and preprocessed by the model)."""
        if self.predictor is None or self.metadata_only:
            return None
        return same_spec([self.predictor, self.second_predictor])

    def _prepare(self, source: FileSource, inspected: "_Inspected") -> _Pending:
        finding = Finding(file=source.name, analysed_at_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                          acquired_at_utc=source.acquired_utc,
                          model=self.predictor.description if self.predictor else "",
                          second_model=self.second_predictor.description if self.second_predictor else "",
                          analysis_settings=self.settings_label)
        finding.pred_kind = getattr(self.predictor, "kind", "") if self.predictor else ""
        finding.mode = METADATA_ONLY if self.metadata_only else FULL
        if inspected.read_error is not None:
            finding.status = "error"
            finding.add_message(inspected.read_error)
            return _Pending(finding)
        data = inspected.data
        if inspected.inspect_error is not None:
            finding.sha256, finding.size_bytes = sha256_hex(data), len(data)
            finding.status = "error"
            finding.add_message(f"file could not be inspected: {inspected.inspect_error}")
            return _Pending(finding)
        facts, exif, forensic = inspected.facts, inspected.exif, inspected.forensic
        _fill_file_facts(finding, facts)
        if inspected.video is not None:
            video_media.fill(finding, facts, inspected.video)
            return _Pending(finding, exif=video_media.as_exif(inspected.video), video=inspected.video,
                            keyframe_inputs=inspected.keyframe_inputs,
                            second_keyframe_inputs=inspected.second_keyframe_inputs,
                            too_little=video_media.too_little(inspected.video))
        if exif is not None:
            _fill_exif(finding, exif)
            fill_written_claims(finding, exif.claims)
        pixel_findings.apply(finding, inspected.pixels)
        too_little = inspected.too_little
        if too_little:
            finding.add_message(f"no prediction: {too_little}")
        if inspected.decode_error is not None:
            finding.add_message(f"prediction skipped: {inspected.decode_error}")
        if forensic is not None and too_little is None:  # flat images all hash alike: not duplicates
            finding.phash = forensic.phash or ""
        return _Pending(finding, inspected.image, inspected.second_image, exif, forensic,
                        not_an_image=facts.file_type not in SUPPORTED_IMAGE_TYPES, too_little=too_little)

    def _run_models(self, pending: Sequence[_Pending]) -> tuple[dict[int, Prediction], dict[int, Prediction]]:
        """The model stage for one batch (runs in the model thread); releases the pixels after."""
        with_images = [p for p in pending if p.image is not None]
        predictions = self._predict(self.predictor, with_images, [p.image for p in with_images], "")
        second = self._predict(self.second_predictor, with_images,
                               [p.image if p.second_image is None else p.second_image for p in with_images],
                               "second witness: ")
        for name, predictor, inputs_of, into in (
                ("", self.predictor, lambda p: p.keyframe_inputs, predictions),
                ("second witness: ", self.second_predictor,
                 lambda p: p.second_keyframe_inputs or p.keyframe_inputs, second)):
            try:
                clips = video_media.predict_clips(predictor, pending, inputs_of, self.batch_size)
            except Exception:  # as for photos: a model failure must not lose the clip's other facts
                LOGGER.exception("%sprediction failed for the keyframes of a batch", name)
                clips = {}
            for p in pending:
                if id(p) in clips:
                    into[id(p)] = clips[id(p)][0]
                    if not name:
                        video_media.record_keyframe_predictions(p.finding, p.video, *clips[id(p)])
        for p in pending:
            p.image = p.second_image = None  # release pixels as soon as possible
            p.keyframe_inputs = p.second_keyframe_inputs = None
        return predictions, second

    def _complete(self, pending: Sequence[_Pending], model_stage: Future) -> Iterator[Finding]:
        predictions, second = model_stage.result()
        self._geocode_and_verify(pending, predictions, second)
        for p in pending:
            yield p.finding

    @staticmethod
    def _predict(predictor: LocationPredictor | None, with_images: Sequence[_Pending], inputs: list,
                 label: str) -> dict[int, Prediction]:
        if not with_images or predictor is None:
            return {}
        try:
            results = predictor.predict(inputs)
            return {id(p): r for p, r in zip(with_images, results)}
        except Exception:  # a model failure must not lose the batch's other facts
            for p in with_images:
                p.finding.add_message(f"{label}prediction failed: the model could not process this batch of images "
                                      "(the server log has the details)")
            LOGGER.exception("%sprediction failed for a batch of %d images", label, len(with_images))
            return {}

    def _geocode_and_verify(self, pending: Sequence[_Pending], predictions: dict[int, Prediction],
                            second: dict[int, Prediction] | None = None) -> None:
        second = second or {}
        points: list[tuple[float, float]] = []
        for p in pending:
            f = p.finding
            if f.exif_lat is not None:
                points.append((f.exif_lat, f.exif_lon))
            if id(p) in predictions:
                points.append((predictions[id(p)].lat, predictions[id(p)].lon))
            if id(p) in second:
                points.append((second[id(p)].lat, second[id(p)].lon))
        places = iter(self.geocoder.reverse_many([a for a, _ in points], [b for _, b in points])) if points else iter(())
        for p in pending:
            f = p.finding
            exif_place = next(places) if f.exif_lat is not None else None
            prediction = predictions.get(id(p))
            pred_place = next(places) if prediction is not None else None
            second_prediction = second.get(id(p))
            second_place = next(places) if second_prediction is not None else None
            if exif_place is not None:
                _fill_place(f, "exif", exif_place)
            if prediction is not None:
                _fill_prediction(f, prediction, pred_place)
            exif_point = (f.exif_lat, f.exif_lon) if f.exif_lat is not None else None
            result = verify(exif_point, prediction, exif_place, pred_place, model_available=self.predictor is not None,
                            thresholds=self.thresholds, medium=f.media_kind)
            if p.not_an_image:
                result.verdict, result.reason = NOT_AN_IMAGE, (
                    f"not an image ({describe_type(f.file_type)}): there are no pixels to compare")
            elif p.too_little:
                result.verdict, result.reason = TOO_LITTLE_IMAGE, p.too_little
            elif f.status == "error" and prediction is None and self.predictor is not None:
                result.verdict, result.reason = PREDICTION_FAILED, _not_analysed(f)
            f.distance_km, f.band, f.verdict, f.verdict_reason = result.distance_km, result.band, result.verdict, result.reason
            f.country_match, f.continent_match = result.country_match, result.continent_match
            if self.second_predictor is not None:
                self._fill_second(f, exif_point, exif_place, second_prediction, second_place, prediction)
            pred_point = (prediction.lat, prediction.lon) if prediction is not None else None
            claimed_point = None
            claims = p.exif.claims if p.exif is not None else None
            if claims is not None and claims.has_place:
                try:
                    claimed = locate_claim(f, claims, self.forward_geocoder or default_forward_geocoder())
                    verify_claim(f, claimed, prediction, pred_place, exif_place, self.predictor is not None,
                                 self.thresholds, withheld=p.too_little)
                    claimed_point = claimed.point
                except Exception as exc:  # the written place must never cost the file's other facts
                    f.add_message(f"written place could not be located ({type(exc).__name__})")
            results = run_checks(p.exif, p.forensic, exif_point, pred_point, claimed_point=claimed_point)
            _fill_checks(f, results + [claim_check(f)])
            if p.video is not None:
                video_media.finish(f)
            if self.metadata_only:
                blank_pixel_columns(f)

    def _fill_second(self, f: Finding, exif_point, exif_place: Place | None, prediction: Prediction | None,
                     place: Place | None, first: Prediction | None) -> None:
        """The second witness's point, places and its own verdict against EXIF; the two witnesses' distance."""
        f.second_kind = getattr(self.second_predictor, "kind", "")
        if prediction is not None:
            f.second_lat, f.second_lon = prediction.lat, prediction.lon
            f.second_radius_km, f.second_radius50_km = prediction.radius90_km, prediction.radius50_km
            f.second_calibrated = prediction.calibrated
            f.second_candidates = _candidates_json(prediction)
            f.second_country_probs = _country_probs_json(prediction)
            if place is not None:
                f.second_country, f.second_country_code, f.second_continent = (place.country, place.country_code,
                                                                               place.continent)
            if first is not None:
                f.witnesses_distance_km = geodesic_km(first.lat, first.lon, prediction.lat, prediction.lon)
        result = verify(exif_point, prediction, exif_place, place, model_available=True, thresholds=self.thresholds,
                        witness=f"the second witness ({f.second_kind or 'model'})", medium=f.media_kind)
        if f.status == "error" and prediction is None:
            result.verdict, result.reason = PREDICTION_FAILED, _not_analysed(f)
        f.second_distance_km, f.second_band = result.distance_km, result.band
        f.second_verdict, f.second_verdict_reason = result.verdict, result.reason

    def close(self) -> None:
        self.worker.close()


def _not_analysed(finding: Finding) -> str:
    """Why a file that could not be read has no prediction, naming what it is (either witness's reason)."""
    return f"the file could not be analysed as {'a video' if finding.media_kind == 'video' else 'an image'}"


def _model_input(predictor: LocationPredictor, data: bytes):
    """A predictor's input from file bytes: its own ``model_input`` (the one path every page, ``scan`` and
    evaluation take); a predictor without one gets the oriented RGB picture at its ``input_size``."""
    make = getattr(predictor, "model_input", None)
    return make(data) if make is not None else load_rgb(data, draft_side=getattr(predictor, "input_size", 512))


def _describe_read_error(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return "unreadable path: no such file"
    if isinstance(exc, PermissionError):
        return "unreadable path: permission denied"
    if isinstance(exc, IsADirectoryError):
        return "unreadable path: is a directory"
    if isinstance(exc, ValueError):
        return str(exc)
    return f"unreadable file: {exc}"


def _fill_file_facts(finding: Finding, facts: FileFacts) -> None:
    finding.sha256, finding.size_bytes, finding.file_type = facts.sha256, facts.size_bytes, facts.file_type
    finding.width, finding.height = facts.width, facts.height
    finding.pixels_from = getattr(facts, "pixels_from", "")
    if facts.error:
        finding.status = "error"
        finding.add_message(facts.error)
    for warning in facts.warnings:
        finding.add_message(warning)


def _fill_exif(finding: Finding, exif: ExifFacts) -> None:
    finding.exif_present = exif.exif_present
    finding.exif_lat, finding.exif_lon = exif.GPSLatitude, exif.GPSLongitude
    finding.exif_altitude_m = exif.GPSAltitude_m
    finding.exif_datetime_original = exif.datetime_original_with_offset
    finding.exif_gps_datetime_utc = exif.GPSDateTime_utc
    finding.exif_img_direction_deg = exif.GPSImgDirection_deg
    finding.exif_gps_error_m = exif.GPSHPositioningError_m
    finding.camera_make, finding.camera_model = exif.Make, exif.Model
    finding.lens_model, finding.software, finding.orientation = exif.LensModel, exif.Software, exif.Orientation
    finding.camera_serial = " / ".join(x for x in (exif.BodySerialNumber, exif.LensSerialNumber) if x)
    for warning in exif.warnings:
        finding.add_message(warning)


def _fill_checks(finding: Finding, results: list[CheckResult]) -> None:
    for result in results:
        setattr(finding, f"check_{result.name}", result.cell())
    finding.checks_flagged = sum(r.status == "warn" for r in results)


def _fill_place(finding: Finding, prefix: str, place: Place) -> None:
    setattr(finding, f"{prefix}_country", place.country)
    setattr(finding, f"{prefix}_country_code", place.country_code)
    setattr(finding, f"{prefix}_continent", place.continent)
    setattr(finding, f"{prefix}_nearest_place", place.nearest_place)
    setattr(finding, f"{prefix}_place_note", place.note)
    setattr(finding, f"{prefix}_region", place.region)
    setattr(finding, f"{prefix}_region_source", place.region_source)


def _candidates_json(prediction: Prediction) -> str:
    return json.dumps([{"lat": round(c.lat, 6), "lon": round(c.lon, 6), "weight": round(c.weight, 4)}
                       | ({"label": c.label} if c.label else {})
                       | ({"kappa": float(f"{c.kappa:.6g}")} if getattr(c, "kappa", None) else {})
                       for c in prediction.candidates]
                      ) if prediction.candidates else ""


def _country_probs_json(prediction: Prediction) -> str:
    return json.dumps([{"country_code": c.country_code, "country": c.country, "p": round(c.probability, 4)}
                       for c in prediction.country_probabilities]) if prediction.country_probabilities else ""


def _fill_prediction(finding: Finding, prediction: Prediction, place: Place | None) -> None:
    finding.pred_lat, finding.pred_lon = prediction.lat, prediction.lon
    finding.pred_radius_km, finding.pred_radius50_km = prediction.radius90_km, prediction.radius50_km
    finding.pred_candidates = _candidates_json(prediction)
    finding.pred_calibrated = prediction.calibrated
    finding.pred_country_probs = _country_probs_json(prediction)
    if place is not None:
        _fill_place(finding, "pred", place)
