"""Findings -> CSV, JSON, GeoJSON.

CSV is opened by analysts in spreadsheets, so text cells that a spreadsheet would
treat as a formula (leading ``=``, ``+``, ``-``, ``@``, tab or carriage return;
OWASP CSV-injection guidance) are prefixed with a single quote. Numbers are
written as numbers, so a negative longitude stays numeric.
"""
from __future__ import annotations

import csv
import io
import json
import math
from typing import Iterable, Sequence

from .findings import CORE_COLUMNS, Finding

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("csv", "json", "geojson")


def spreadsheet_safe(value: object) -> object:
    """Neutralise formula-leading text; leave numbers, booleans and None alone."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def column_order() -> list[str]:
    rest = [c for c in Finding.columns() if c not in CORE_COLUMNS]
    return list(CORE_COLUMNS) + rest


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return spreadsheet_safe(value)


def write_csv(findings: Iterable[Finding], stream: io.TextIOBase, header: bool = True) -> None:
    columns = column_order()
    writer = csv.DictWriter(stream, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    if header:
        writer.writeheader()
    for finding in findings:
        row = finding.to_dict()
        writer.writerow({c: _cell(row.get(c)) for c in columns})


def to_csv(findings: Sequence[Finding]) -> str:
    buffer = io.StringIO()
    write_csv(findings, buffer)
    return buffer.getvalue()


def to_json(findings: Sequence[Finding]) -> str:
    return json.dumps([f.to_dict() for f in findings], indent=2, ensure_ascii=False)


def to_geojson(findings: Sequence[Finding]) -> str:
    """One Point feature per located point: role "exif", "predicted" or "claimed" (the written place,
    forward-geocoded), plus the line between EXIF and prediction."""
    features = []
    for f in findings:
        props = f.to_dict()
        if f.exif_lat is not None:
            features.append(_feature({"type": "Point", "coordinates": [f.exif_lon, f.exif_lat]}, props, "exif"))
        if f.pred_lat is not None:
            features.append(_feature({"type": "Point", "coordinates": [f.pred_lon, f.pred_lat]}, props, "predicted"))
        if f.claimed_lat is not None:
            features.append(_feature({"type": "Point", "coordinates": [f.claimed_lon, f.claimed_lat]}, props, "claimed"))
        if f.exif_lat is not None and f.pred_lat is not None:
            line = {"type": "LineString", "coordinates": [[f.exif_lon, f.exif_lat], [f.pred_lon, f.pred_lat]]}
            features.append(_feature(line, props, "distance"))
    return json.dumps({"type": "FeatureCollection", "features": features}, indent=2, ensure_ascii=False)


def _feature(geometry: dict, props: dict, role: str) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": {**props, "role": role}}


def without_serials(findings: Sequence[Finding]) -> list[Finding]:
    """Copies with camera serial numbers removed: they identify a person's device."""
    from dataclasses import replace

    return [replace(f, camera_serial="") if f.camera_serial else f for f in findings]


def export(findings: Sequence[Finding], fmt: str, include_serials: bool = False) -> str:
    """Findings in ``fmt``; camera serial numbers only when ``include_serials`` (privacy)."""
    if not include_serials:
        findings = without_serials(findings)
    if fmt == "csv":
        return to_csv(findings)
    if fmt == "json":
        return to_json(findings)
    if fmt == "geojson":
        return to_geojson(findings)
    raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
