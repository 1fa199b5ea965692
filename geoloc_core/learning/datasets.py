"""Geotagged image data sets: a CSV plus an image root, in any of the common layouts.

Layouts recognised from the header (case-insensitive):
* ``geoclip``: GeoCLIP / MP-16 / IM2GPS3K style, ``IMG_FILE`` or ``IMG_ID``, ``LAT``, ``LON``;
* ``osv5m``:   OSV-5M style, ``id``, ``latitude``, ``longitude`` (image at ``ROOT/<id>.jpg``);
* ``plain``:   ``path``, ``lat``, ``lon``.

Bad rows (missing file, blank or non-numeric or out-of-range coordinates, empty path)
are skipped, counted and listed in a ``DataReport``: never silently dropped, never fatal.
"""
from __future__ import annotations

import csv
import json
import math
import random
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

OSV5M_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")


class DataError(ValueError):
    """The data set as a whole cannot be used (e.g. no recognised columns)."""


@dataclass(frozen=True)
class Layout:
    name: str
    path_column: str
    lat_column: str
    lon_column: str
    id_only: bool = False  # the path column holds an id; the file is ROOT/<id>.<ext>


@dataclass(frozen=True)
class GeoRecord:
    path: Path
    lat: float
    lon: float


@dataclass
class DataReport:
    csv: str
    layout: str
    rows: int = 0
    kept: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (data row number or -1, reason)

    @property
    def skipped_by_reason(self) -> dict[str, int]:
        return dict(Counter(reason.split(":")[0] for _, reason in self.skipped))

    def summary(self) -> str:
        reasons = ", ".join(f"{n} {r}" for r, n in self.skipped_by_reason.items()) or "none"
        return (f"{self.csv}: layout '{self.layout}', {self.rows} rows, {self.kept} kept, "
                f"{len(self.skipped)} skipped ({reasons})")

    def write(self, path: Path) -> None:
        data = asdict(self) | {"skipped_by_reason": self.skipped_by_reason}
        Path(path).write_text(json.dumps(data, indent=2), encoding="utf-8")


def detect_layout(columns: list[str]) -> Layout:
    lower = {c.strip().lower(): c for c in columns}
    if {"lat", "lon"} <= lower.keys() and ("img_file" in lower or "img_id" in lower):
        path = lower.get("img_file") or lower["img_id"]
        return Layout("geoclip", path, lower["lat"], lower["lon"])
    if {"id", "latitude", "longitude"} <= lower.keys():
        return Layout("osv5m", lower["id"], lower["latitude"], lower["longitude"], id_only=True)
    if {"path", "lat", "lon"} <= lower.keys():
        return Layout("plain", lower["path"], lower["lat"], lower["lon"])
    raise DataError(f"no known layout in columns {columns}: expected IMG_FILE|IMG_ID,LAT,LON (GeoCLIP/MP-16/IM2GPS3K), "
                    f"id,latitude,longitude (OSV-5M) or path,lat,lon")


def _coordinate(raw: str, limit: float, name: str) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"non-numeric {name}: {str(raw)[:30]!r}") from None
    if not math.isfinite(value) or abs(value) > limit:
        raise ValueError(f"out-of-range {name}: {raw}")
    return value


def _resolve(root: Path, value: str, layout: Layout) -> Path:
    if not layout.id_only:
        return root / value
    for extension in OSV5M_EXTENSIONS:
        candidate = root / f"{value}{extension}"
        if candidate.exists():
            return candidate
    return root / f"{value}.jpg"


def load_geo_csv(csv_path: str | Path, image_root: str | Path, check_files: bool = True) -> tuple[list[GeoRecord], DataReport]:
    """Parse a data set CSV into records; every skipped row is listed with its reason."""
    csv_path, root = Path(csv_path), Path(image_root)
    bad_lines: list[tuple[int, str]] = []

    def on_bad_line(fields: list[str]) -> None:
        bad_lines.append((-1, f"malformed row: {len(fields)} fields: {','.join(fields)[:60]!r}"))
        return None

    try:
        frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False, skip_blank_lines=True, engine="python",
                            on_bad_lines=on_bad_line)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {csv_path}: {exc}") from None
    layout = detect_layout(list(frame.columns))
    report = DataReport(str(csv_path), layout.name, rows=len(frame) + len(bad_lines))
    report.skipped.extend(bad_lines)
    records: list[GeoRecord] = []
    for index, row in enumerate(frame.itertuples(index=False)):
        values = dict(zip(frame.columns, row))
        line = index + 1  # data row number (header and blank lines not counted)
        name = (values[layout.path_column] or "").strip()
        try:
            if not name:
                raise ValueError("empty image path")
            if ".." in Path(name).parts or Path(name).is_absolute():
                raise ValueError(f"path escapes the image root: {name[:60]!r}")
            lat = _coordinate(values[layout.lat_column], 90.0, "latitude")
            lon = _coordinate(values[layout.lon_column], 180.0, "longitude")
            path = _resolve(root, name, layout)
            if check_files and not path.is_file():
                raise ValueError(f"missing file: {name[:80]}")
        except ValueError as exc:
            report.skipped.append((line, str(exc)))
            continue
        records.append(GeoRecord(path, lat, lon))
    report.kept = len(records)
    return records, report


def split_records(records: list[GeoRecord], val_fraction: float, seed: int) -> tuple[list[GeoRecord], list[GeoRecord]]:
    """Deterministic train/validation split by seed."""
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    n_val = max(1, int(round(len(records) * val_fraction))) if val_fraction > 0 and len(records) > 1 else 0
    val = [records[i] for i in sorted(order[:n_val])]
    train = [records[i] for i in sorted(order[n_val:])]
    return train, val


def write_plain_csv(records: list[GeoRecord], path: Path, root: Path) -> None:
    """Write records in the ``plain`` layout, paths relative to ``root``."""
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "lat", "lon"])
        for record in records:
            writer.writerow([record.path.relative_to(root).as_posix(), f"{record.lat:.7f}", f"{record.lon:.7f}"])
