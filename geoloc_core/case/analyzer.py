"""The pipeline that turns a ``FileSource`` into a ``Finding``.

``Analyzer`` runs the steps for each file: file facts and EXIF in an isolated,
time-bounded worker (hostile files cannot hang or crash the batch), offline
reverse geocoding, model prediction in batches (memory stays bounded to one
batch of decoded images), verification. Any failure is confined to its file.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable, Iterator, Sequence

from ..evidence.checks import CheckResult, run_checks
from ..evidence.exif import ExifFacts
from ..evidence.filefacts import FileFacts, sha256_hex
from ..evidence.forensic_facts import ForensicFacts
from ..evidence.imaging import ImageDecodeError, load_rgb
from ..evidence.inspection import inspect_file
from ..evidence.isolation import IsolatedCallError, IsolatedWorker
from ..evidence.sources import FileSource
from ..model.prediction import LocationPredictor, Prediction
from ..places.geocoding import Place, ReverseGeocoder
from .findings import Finding
from .verification import PREDICTION_FAILED, VerdictThresholds, verify


@dataclass
class _Pending:
    finding: Finding
    image: object = None  # decoded PIL image awaiting the model
    exif: ExifFacts | None = None
    forensic: ForensicFacts | None = None


@dataclass
class Analyzer:
    """The analysis pipeline. Reuse one instance: it owns the isolated worker and the geocoder."""

    geocoder: ReverseGeocoder
    predictor: LocationPredictor | None = None
    batch_size: int = 16
    worker: IsolatedWorker = field(default_factory=IsolatedWorker)
    thresholds: VerdictThresholds = field(default_factory=VerdictThresholds)

    def analyze(self, source: FileSource) -> Finding:
        return next(iter(self.analyze_stream([source])))

    def analyze_stream(self, sources: Iterable[FileSource]) -> Iterator[Finding]:
        """Findings in input order; images meet the model in batches of ``batch_size``."""
        pending: list[_Pending] = []
        for source in sources:
            pending.append(self._prepare(source))
            # flush on a full model batch, or regularly so progress shows even when few files decode
            if sum(p.image is not None for p in pending) >= self.batch_size or len(pending) >= 4 * self.batch_size:
                yield from self._finish(pending)
                pending = []
        if pending:
            yield from self._finish(pending)

    def _prepare(self, source: FileSource) -> _Pending:
        finding = Finding(file=source.name, analysed_at_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                          model=self.predictor.description if self.predictor else "")
        try:
            data = source.read()
        except (OSError, ValueError) as exc:
            finding.status = "error"
            finding.add_message(_describe_read_error(exc))
            return _Pending(finding)
        try:
            facts, exif, forensic = self.worker.call(inspect_file, data)
        except IsolatedCallError as exc:
            finding.sha256, finding.size_bytes = sha256_hex(data), len(data)
            finding.status = "error"
            finding.add_message(f"file could not be inspected: {exc}")
            return _Pending(finding)
        _fill_file_facts(finding, facts)
        if exif is not None:
            _fill_exif(finding, exif)
        image = None
        if facts.error is None and self.predictor is not None:
            try:
                image = load_rgb(data, draft_side=getattr(self.predictor, "input_size", 512))
            except ImageDecodeError as exc:
                finding.add_message(f"prediction skipped: {exc}")
        if forensic is not None:
            finding.phash = forensic.phash or ""
        return _Pending(finding, image, exif, forensic)

    def _finish(self, pending: Sequence[_Pending]) -> Iterator[Finding]:
        with_images = [p for p in pending if p.image is not None]
        predictions: dict[int, Prediction] = {}
        if with_images and self.predictor is not None:
            try:
                results = self.predictor.predict([p.image for p in with_images])
                predictions = {id(p): r for p, r in zip(with_images, results)}
            except Exception as exc:  # a model failure must not lose the batch's other facts
                for p in with_images:
                    p.finding.add_message(f"prediction failed ({type(exc).__name__}: {str(exc)[:120]})")
        for p in pending:
            p.image = None  # release pixels as soon as possible
        self._geocode_and_verify(pending, predictions)
        for p in pending:
            yield p.finding

    def _geocode_and_verify(self, pending: Sequence[_Pending], predictions: dict[int, Prediction]) -> None:
        points: list[tuple[float, float]] = []
        for p in pending:
            f = p.finding
            if f.exif_lat is not None:
                points.append((f.exif_lat, f.exif_lon))
            if id(p) in predictions:
                points.append((predictions[id(p)].lat, predictions[id(p)].lon))
        places = iter(self.geocoder.reverse_many([a for a, _ in points], [b for _, b in points])) if points else iter(())
        for p in pending:
            f = p.finding
            exif_place = next(places) if f.exif_lat is not None else None
            prediction = predictions.get(id(p))
            pred_place = next(places) if prediction is not None else None
            if exif_place is not None:
                _fill_place(f, "exif", exif_place)
            if prediction is not None:
                _fill_prediction(f, prediction, pred_place)
            exif_point = (f.exif_lat, f.exif_lon) if f.exif_lat is not None else None
            result = verify(exif_point, prediction, exif_place, pred_place, model_available=self.predictor is not None,
                            thresholds=self.thresholds)
            if f.status == "error" and prediction is None and self.predictor is not None:
                result.verdict, result.reason = PREDICTION_FAILED, "the file could not be analysed as an image"
            f.distance_km, f.band, f.verdict, f.verdict_reason = result.distance_km, result.band, result.verdict, result.reason
            f.country_match, f.continent_match = result.country_match, result.continent_match
            pred_point = (prediction.lat, prediction.lon) if prediction is not None else None
            _fill_checks(f, run_checks(p.exif, p.forensic, exif_point, pred_point))

    def close(self) -> None:
        self.worker.close()


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


def _fill_prediction(finding: Finding, prediction: Prediction, place: Place | None) -> None:
    finding.pred_lat, finding.pred_lon = prediction.lat, prediction.lon
    finding.pred_radius_km, finding.pred_radius50_km = prediction.radius90_km, prediction.radius50_km
    finding.pred_candidates = json.dumps(
        [{"lat": round(c.lat, 6), "lon": round(c.lon, 6), "weight": round(c.weight, 4)} for c in prediction.candidates]
    ) if prediction.candidates else ""
    if place is not None:
        _fill_place(finding, "pred", place)
