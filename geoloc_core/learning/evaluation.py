"""Evaluate a model, or someone else's predictions, on a geotagged test set in the thesis's table form.

Missing predictions: one rule for a model (``evaluate_predictor``) and for a peer's CSV
(``evaluate_prediction_csv``), so neither is flattered against the other. By default
(``missing="miss"``) every test image without a valid prediction (a peer's row not given, or for
a model an image file that is missing or cannot be decoded) is scored as the worst possible
answer, the antipode of its true point: a miss at every threshold, ~20,000 km of error, GeoScore
~0, inside no predicted region; the count is reported. ``missing="drop"`` (``--drop-missing``)
scores only the predicted images, for comparison with papers that did so. A second prediction for
an image already predicted is ignored.

Images are read by the training data reader (``datasets.read_record_bytes``): a record is a file
in a folder or a member inside a tar shard (CSV + tars, or WebDataset), so ``--images test.tar``
evaluates what training would read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .datasets import GeoRecord, index_tars, load_geo_csv, read_record_bytes, tar_shards
from ..evidence.imaging import ImageDecodeError, load_rgb
from .area_accuracy import AreaAccuracy, area_accuracy, read_area_labels
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
    # every scored row: (true lat, true lon, predicted lat, lon), None for a miss; what area accuracy reads
    scored: list[tuple[float, float, float | None, float | None]] = field(default_factory=list)
    areas: "AreaAccuracy | None" = None  # OSV-5M's country/region/city accuracy, when the CSV has the columns


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
                       progress: Callable[[int], None] | None = None, missing: str = "miss") -> EvaluationResult:
    """Predict every readable image; a missing or unreadable one is listed and, by default, scored as a miss
    (``missing``: see the module docstring). Each image's bytes come from the data reader (file or tar
    member) and reach the model by the predictor's own ``model_input`` (the one path from bytes that Verify,
    Batch and ``scan`` take, so a test image gets the prediction an analyst would see); a predictor
    without one gets the picture."""
    if missing not in MISSING_POLICIES:
        raise ValueError(f"missing must be one of {MISSING_POLICIES}, not {missing!r}")
    skipped, predicted, unread = [], [], []
    calibrated = True
    prepare = getattr(predictor, "model_input", None) or load_rgb
    handles: dict = {}  # one open file per tar shard, not one open per image
    try:
        for start in range(0, len(records), batch_size):
            batch, images = [], []
            for record in records[start:start + batch_size]:
                try:
                    images.append(prepare(read_record_bytes(record, handles)))
                    batch.append(record)
                except (OSError, ImageDecodeError) as exc:
                    skipped.append((record.name, str(exc)))
                    unread.append(record)
            for record, prediction in zip(batch, predictor.predict(images) if images else []):
                predicted.append((record, prediction))
                calibrated = calibrated and getattr(prediction, "calibrated", True)
            if progress:
                progress(min(len(records), start + batch_size))
    finally:
        for handle in handles.values():
            handle.close()
    misses = unread if missing == "miss" else []
    truth = [r for r, _ in predicted] + misses
    points = [(p.lat, p.lon) for _, p in predicted] + [antipode(r.lat, r.lon) for r in misses]
    radius50 = [getattr(p, "radius50_km", None) for _, p in predicted] + [0.0] * len(misses)  # a miss: in no region
    radius90 = [getattr(p, "radius90_km", None) for _, p in predicted] + [0.0] * len(misses)
    metrics = compute_metrics([r.lat for r in truth], [r.lon for r in truth], [p[0] for p in points],
                              [p[1] for p in points], _radii(radius90), convention, radius50_km=_radii(radius50))
    metrics.extra |= {"unreadable_images": len(unread), "missing_predictions": len(unread), "missing_policy": missing,
                      "test_images": len(records), "regions_calibrated": calibrated}
    scored = [(r.lat, r.lon, p.lat, p.lon) for r, p in predicted] + [(r.lat, r.lon, None, None) for r in misses]
    return EvaluationResult(metrics, skipped, missing=len(unread), missing_policy=missing, test_images=len(records),
                            predictions=predicted, scored=scored)


def _radii(values: list) -> np.ndarray | None:
    """Radii when the model gives them for every predicted image, else None (no coverage column)."""
    return None if not values or any(v is None for v in values) else np.array(values, dtype=float)


def evaluate_prediction_csv(predictions_csv: str | Path, test_csv: str | Path, images: str | Path,
                            convention: str = "geodesic", missing: str = "miss") -> EvaluationResult:
    """Score another model's ``file, pred_lat, pred_lon`` CSV against the same ground truth.
    Files match by their path relative to the image root (inside tar shards: the member name), else by
    base name. Test images without a valid prediction are misses (``missing="miss"``) or left out
    (``"drop"``); see the module docstring."""
    if missing not in MISSING_POLICIES:
        raise ValueError(f"missing must be one of {MISSING_POLICIES}, not {missing!r}")
    records, _ = load_geo_csv(test_csv, images, check_files=False)
    names = _file_names(records, images)
    truth_by_relative = {name: r for name, r in zip(names, records)}
    truth_by_name = {name.rsplit("/", 1)[-1]: r for name, r in zip(names, records)}
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
    scored = [(t_lat, t_lon, p_lat, p_lon) for t_lat, t_lon, p_lat, p_lon in zip(true_lat, true_lon, pred_lat, pred_lon)]
    if missing == "miss":
        scored += [(r.lat, r.lon, None, None) for r in unpredicted]
        for record in unpredicted:
            true_lat.append(record.lat)
            true_lon.append(record.lon)
            far_lat, far_lon = antipode(record.lat, record.lon)
            pred_lat.append(far_lat)
            pred_lon.append(far_lon)
    metrics = compute_metrics(true_lat, true_lon, pred_lat, pred_lon, None, convention)
    metrics.extra |= {"missing_predictions": len(unpredicted), "missing_policy": missing, "test_images": len(records)}
    return EvaluationResult(metrics, skipped, missing=len(unpredicted), missing_policy=missing,
                            test_images=len(records), scored=scored)


def _file_names(records: list[GeoRecord], images: str | Path) -> list[str]:
    """How a peer names each test image: its path under the image root, or inside a tar shard its member name."""
    shards = tar_shards(images)
    if shards is None:
        root = Path(images)
        return [r.path.relative_to(root).as_posix() for r in records]
    members = {(m.shard, m.offset): m.name for m in index_tars(shards)}
    return [members[(r.path, r.offset)] for r in records]


def add_area_accuracy(result: EvaluationResult, test_csv: str | Path, geocoder=None) -> AreaAccuracy | None:
    """OSV-5M's country / region / sub-region / city accuracy of the scored rows (misses wrong at every level),
    when the test CSV has those columns (``area_accuracy``); stored on the result and in its metrics' extra."""
    labels = read_area_labels(test_csv)
    if labels is None:
        return None
    result.areas = area_accuracy([labels.get((t_lat, t_lon)) for t_lat, t_lon, _, _ in result.scored],
                                 [row[2] for row in result.scored], [row[3] for row in result.scored], geocoder)
    result.metrics.extra["osv5m_areas"] = result.areas.to_dict()
    return result.areas
