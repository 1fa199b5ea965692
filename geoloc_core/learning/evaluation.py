"""Evaluate a model, or someone else's predictions, on a geotagged test set in the thesis's table form.

Missing predictions: a peer that predicts only the images it is sure of must not score as
if it had predicted all. By default (``missing="miss"``) every test image without a valid
prediction is scored as the worst possible answer, the antipode of its true point (a miss
at every threshold, ~20,000 km of error, GeoScore ~0), and the count is reported;
``missing="drop"`` (``--drop-missing``) scores only the predicted images, for comparison
with papers that did so. A second prediction for an image already predicted is ignored.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .datasets import GeoRecord, load_geo_csv
from ..evidence.imaging import ImageDecodeError, load_rgb
from .metrics import GeoMetrics, compute_metrics


MISSING_POLICIES = ("miss", "drop")


@dataclass
class EvaluationResult:
    metrics: GeoMetrics
    skipped: list[tuple[str, str]]  # (file, reason)
    missing: int = 0  # test images without a (valid) prediction
    missing_policy: str = "miss"
    test_images: int = 0
    predictions: list = field(default_factory=list)  # (GeoRecord, Prediction) per predicted image, in test order


def write_predictions_csv(result: EvaluationResult, path: str | Path) -> None:
    """One row per predicted test image (file, truth, prediction, regions), in the ``--predictions`` layout
    (``file, pred_lat, pred_lon``) plus the rest, so another analyst can audit or re-score the run."""
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "true_lat", "true_lon", "pred_lat", "pred_lon", "pred_radius50_km", "pred_radius_km"])
        for record, prediction in result.predictions:
            writer.writerow([str(record.path), record.lat, record.lon, prediction.lat, prediction.lon,
                             prediction.radius50_km, prediction.radius90_km])


def antipode(lat: float, lon: float) -> tuple[float, float]:
    """The point farthest from (lat, lon): what a missing prediction is scored as."""
    return -lat, lon - 180.0 if lon > 0 else lon + 180.0


def evaluate_predictor(predictor, records: list[GeoRecord], convention: str = "geodesic", batch_size: int = 32,
                       progress: Callable[[int], None] | None = None) -> EvaluationResult:
    """Predict every readable image; unreadable ones are listed, not fatal. Each image reaches the model by
    the predictor's own ``model_input`` (the one path from bytes that Verify, Batch and ``scan`` take, so
    a test image gets the prediction an analyst would see); a predictor without one gets the picture."""
    true_lat, true_lon, pred_lat, pred_lon, radius90, skipped, predicted = [], [], [], [], [], [], []
    calibrated = True
    prepare = getattr(predictor, "model_input", None) or load_rgb
    for start in range(0, len(records), batch_size):
        batch, images = [], []
        for record in records[start:start + batch_size]:
            try:
                images.append(prepare(record.path.read_bytes()))
                batch.append(record)
            except (OSError, ImageDecodeError) as exc:
                skipped.append((str(record.path), str(exc)))
        for record, prediction in zip(batch, predictor.predict(images) if images else []):
            true_lat.append(record.lat)
            true_lon.append(record.lon)
            pred_lat.append(prediction.lat)
            pred_lon.append(prediction.lon)
            radius90.append(prediction.radius90_km)
            predicted.append((record, prediction))
            calibrated = calibrated and getattr(prediction, "calibrated", True)
        if progress:
            progress(min(len(records), start + batch_size))
    radii = None if any(r is None for r in radius90) or not radius90 else np.array(radius90)
    metrics = compute_metrics(true_lat, true_lon, pred_lat, pred_lon, radii, convention)
    metrics.extra |= {"unreadable_images": len(skipped), "regions_calibrated": calibrated}
    return EvaluationResult(metrics, skipped, test_images=len(records), predictions=predicted)


def evaluate_prediction_csv(predictions_csv: str | Path, test_csv: str | Path, images: str | Path,
                            convention: str = "geodesic", missing: str = "miss") -> EvaluationResult:
    """Score another model's ``file, pred_lat, pred_lon`` CSV against the same ground truth.
    Files match by their path relative to the image root, else by base name. Test images without a valid
    prediction are misses (``missing="miss"``) or left out (``"drop"``); see the module docstring."""
    if missing not in MISSING_POLICIES:
        raise ValueError(f"missing must be one of {MISSING_POLICIES}, not {missing!r}")
    records, _ = load_geo_csv(test_csv, images, check_files=False)
    root = Path(images)
    truth_by_relative = {r.path.relative_to(root).as_posix(): r for r in records}
    truth_by_name = {r.path.name: r for r in records}
    frame = pd.read_csv(predictions_csv, dtype=str, keep_default_na=False)
    absent = {"file", "pred_lat", "pred_lon"} - set(frame.columns)
    if absent:
        raise ValueError(f"{predictions_csv} lacks columns {sorted(absent)} (needs file, pred_lat, pred_lon)")
    true_lat, true_lon, pred_lat, pred_lon, skipped = [], [], [], [], []
    predicted: set[int] = set()
    for row in frame.itertuples(index=False):
        record = truth_by_relative.get(row.file) or truth_by_name.get(Path(row.file).name)
        try:
            if record is None:
                raise ValueError("not in the test set")
            if id(record) in predicted:
                raise ValueError("duplicate prediction for an image already predicted (the first one counts)")
            lat, lon = float(row.pred_lat), float(row.pred_lon)
            if not (abs(lat) <= 90 and abs(lon) <= 180):
                raise ValueError(f"invalid prediction ({row.pred_lat}, {row.pred_lon})")
        except ValueError as exc:
            skipped.append((row.file, str(exc)))
            continue
        predicted.add(id(record))
        true_lat.append(record.lat)
        true_lon.append(record.lon)
        pred_lat.append(lat)
        pred_lon.append(lon)
    unpredicted = [r for r in records if id(r) not in predicted]
    if missing == "miss":
        for record in unpredicted:
            true_lat.append(record.lat)
            true_lon.append(record.lon)
            far_lat, far_lon = antipode(record.lat, record.lon)
            pred_lat.append(far_lat)
            pred_lon.append(far_lon)
    metrics = compute_metrics(true_lat, true_lon, pred_lat, pred_lon, None, convention)
    metrics.extra |= {"missing_predictions": len(unpredicted), "missing_policy": missing, "test_images": len(records)}
    return EvaluationResult(metrics, skipped, missing=len(unpredicted), missing_policy=missing,
                            test_images=len(records))
