"""Evaluate a model, or someone else's predictions, on a geotagged test set in the thesis's table form."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .datasets import GeoRecord, load_geo_csv
from ..evidence.imaging import ImageDecodeError, load_rgb
from .metrics import GeoMetrics, compute_metrics


@dataclass
class EvaluationResult:
    metrics: GeoMetrics
    skipped: list[tuple[str, str]]  # (file, reason)


def evaluate_predictor(predictor, records: list[GeoRecord], convention: str = "geodesic", batch_size: int = 32,
                       progress: Callable[[int], None] | None = None) -> EvaluationResult:
    """Predict every readable image; unreadable ones are listed, not fatal."""
    true_lat, true_lon, pred_lat, pred_lon, radius90, skipped = [], [], [], [], [], []
    for start in range(0, len(records), batch_size):
        batch, images = [], []
        for record in records[start:start + batch_size]:
            try:
                images.append(load_rgb(record.path.read_bytes()))
                batch.append(record)
            except (OSError, ImageDecodeError) as exc:
                skipped.append((str(record.path), str(exc)))
        for record, prediction in zip(batch, predictor.predict(images) if images else []):
            true_lat.append(record.lat)
            true_lon.append(record.lon)
            pred_lat.append(prediction.lat)
            pred_lon.append(prediction.lon)
            radius90.append(prediction.radius90_km)
        if progress:
            progress(min(len(records), start + batch_size))
    radii = None if any(r is None for r in radius90) or not radius90 else np.array(radius90)
    return EvaluationResult(compute_metrics(true_lat, true_lon, pred_lat, pred_lon, radii, convention), skipped)


def evaluate_prediction_csv(predictions_csv: str | Path, test_csv: str | Path, images: str | Path,
                            convention: str = "geodesic") -> EvaluationResult:
    """Score another model's ``file, pred_lat, pred_lon`` CSV against the same ground truth.
    Files match by their path relative to the image root, else by base name."""
    records, _ = load_geo_csv(test_csv, images, check_files=False)
    root = Path(images)
    truth_by_relative = {r.path.relative_to(root).as_posix(): r for r in records}
    truth_by_name = {r.path.name: r for r in records}
    frame = pd.read_csv(predictions_csv, dtype=str, keep_default_na=False)
    missing = {"file", "pred_lat", "pred_lon"} - set(frame.columns)
    if missing:
        raise ValueError(f"{predictions_csv} lacks columns {sorted(missing)} (needs file, pred_lat, pred_lon)")
    true_lat, true_lon, pred_lat, pred_lon, skipped = [], [], [], [], []
    for row in frame.itertuples(index=False):
        record = truth_by_relative.get(row.file) or truth_by_name.get(Path(row.file).name)
        try:
            if record is None:
                raise ValueError("not in the test set")
            lat, lon = float(row.pred_lat), float(row.pred_lon)
            if not (abs(lat) <= 90 and abs(lon) <= 180):
                raise ValueError(f"invalid prediction ({row.pred_lat}, {row.pred_lon})")
        except ValueError as exc:
            skipped.append((row.file, str(exc)))
            continue
        true_lat.append(record.lat)
        true_lon.append(record.lon)
        pred_lat.append(lat)
        pred_lon.append(lon)
    return EvaluationResult(compute_metrics(true_lat, true_lon, pred_lat, pred_lon, None, convention), skipped)
