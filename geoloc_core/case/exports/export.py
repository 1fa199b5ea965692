"""Findings -> CSV, JSON, GeoJSON (and KML, in ``kml.py``).

CSV is opened by analysts in spreadsheets, so text cells that a spreadsheet would
treat as a formula (leading ``=``, ``+``, ``-``, ``@``, tab or carriage return;
OWASP CSV-injection guidance) are prefixed with a single quote. Numbers are
written as numbers, so a negative longitude stays numeric.

Line breaks inside a value are where that rule used to fail: Python's writer does not
quote a bare carriage return when the line terminator is ``\n``, and a reader that takes
a lone CR as the end of a row (old Excel for Mac, many scripts) then starts a new row
with ``=cmd|...``. So every text cell is quoted (``QUOTE_NONNUMERIC``: all control
characters end up inside quotes), and a formula trigger that follows any line break
inside a value gets the same ``'`` prefix as one at the start.

"CSV for Excel" (``csv-excel``, issue #32) is the same cells with a UTF-8 byte-order mark, which Excel
needs to read UTF-8 at all (without it "°" shows as "Â°" and every non-Latin caption is mangled), and a
short column set an analyst reads in a spreadsheet (``EXCEL_COLUMNS``) instead of the 100-odd of the
fixed-contract CSV, which scripts rely on and which stays as it is.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

from ..findings import ANALYST_POINT_LABEL, CORE_COLUMNS, Finding
from .telemetry_track import track_coordinates

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# a formula trigger right after anything str.splitlines() treats as a line break
_TRIGGER_AFTER_BREAK = re.compile(r"([\r\n\v\f\x1c-\x1e\x85\u2028\u2029])(?=[=+\-@\t\r])")
FORMATS = ("csv", "csv-excel", "json", "geojson", "kml")
BYTE_ORDER_MARK = "\ufeff"
EXCEL_COLUMNS = ("file", "sha256", "status", "verdict", "verdict_reason", "distance_km", "band", "exif_lat", "exif_lon",
                 "exif_datetime_original", "exif_country", "camera_make", "camera_model", "software",
                 "camera_serial",  # empty unless the export asked for serials (without_serials)
                 "pred_lat",
                 "pred_lon", "pred_radius_km", "pred_country", "checks_flagged", "claimed_place_text",
                 "claim_exif_check", "second_verdict", "analyst_verdict", "analyst_tags", "note", "message",
                 "analyst_point_lat", "analyst_point_lon")  # the analyst's own point (#32)


# a lone surrogate: what Python's surrogateescape makes of a file name's bytes that are not UTF-8 (Linux names
# are bytes); no UTF-8 file can hold one, so the scan's whole export raised at the first such name
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogates(text: str) -> str:
    """Each lone surrogate as its ``\\uXXXX`` escape: in JSON that is the format's own escape (read back, the
    same string); in CSV it is the text the reports and the pages show for it (``visible_text``)."""
    return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def spreadsheet_safe(value: object) -> object:
    """Neutralise formula-leading text, also at the start of every line inside the text; leave
    numbers, booleans and None alone."""
    if not isinstance(value, str):
        return value
    if not value.isprintable():  # every line break above is unprintable: printable text needs no search
        value = _TRIGGER_AFTER_BREAK.sub(r"\1'", value)
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def column_order() -> list[str]:
    return list(_column_order())


@lru_cache(maxsize=1)
def _column_order() -> tuple[str, ...]:  # a streamed scan asks once per row
    return tuple(CORE_COLUMNS) + tuple(c for c in Finding.columns() if c not in CORE_COLUMNS)


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return spreadsheet_safe(_escape_surrogates(value) if isinstance(value, str) else value)


def write_csv(findings: Iterable[Finding], stream: io.TextIOBase, header: bool = True, excel: bool = False) -> None:
    """Rows of the fixed-contract CSV, or with ``excel`` the short column set after a byte-order mark."""
    columns = list(EXCEL_COLUMNS) if excel else column_order()
    if header and excel:
        stream.write(BYTE_ORDER_MARK)
    writer = csv.DictWriter(stream, fieldnames=columns, extrasaction="ignore", lineterminator="\n",
                            quoting=csv.QUOTE_NONNUMERIC)
    if header:
        writer.writeheader()
    for finding in findings:
        row = finding.to_dict()
        writer.writerow({c: _cell(row.get(c)) for c in columns})


def to_csv(findings: Sequence[Finding], excel: bool = False) -> str:
    buffer = io.StringIO()
    write_csv(findings, buffer, excel=excel)
    return buffer.getvalue()


def to_json(findings: Sequence[Finding]) -> str:
    return _escape_surrogates(json.dumps([f.to_dict() for f in findings], indent=2, ensure_ascii=False))


def to_geojson(findings: Sequence[Finding]) -> str:
    """One Point feature per located point: role "exif", "predicted", "second_witness", "claimed" (the
    written place, forward-geocoded) or "analyst" (the analyst's own point, with ``label`` "Analyst's point"),
    plus the line between EXIF and prediction."""
    features = []
    for f in findings:
        props = f.to_dict()
        if f.exif_lat is not None:
            features.append(_feature({"type": "Point", "coordinates": [f.exif_lon, f.exif_lat]}, props, "exif"))
        if f.pred_lat is not None:
            features.append(_feature({"type": "Point", "coordinates": [f.pred_lon, f.pred_lat]}, props, "predicted"))
        if f.second_lat is not None:
            features.append(_feature({"type": "Point", "coordinates": [f.second_lon, f.second_lat]}, props,
                                     "second_witness"))
        if f.claimed_lat is not None:
            features.append(_feature({"type": "Point", "coordinates": [f.claimed_lon, f.claimed_lat]}, props, "claimed"))
        if f.analyst_point_lat is not None:
            point = {"type": "Point", "coordinates": [f.analyst_point_lon, f.analyst_point_lat]}
            features.append(_feature(point, {**props, "label": ANALYST_POINT_LABEL}, "analyst"))
        if f.exif_lat is not None and f.pred_lat is not None:
            line = {"type": "LineString", "coordinates": [[f.exif_lon, f.exif_lat], [f.pred_lon, f.pred_lat]]}
            features.append(_feature(line, props, "distance"))
        if track_coordinates(f):  # a video's per-frame telemetry (#34)
            features.append(_feature({"type": "LineString", "coordinates": track_coordinates(f)}, props, "track"))
    return _escape_surrogates(json.dumps({"type": "FeatureCollection", "features": features}, indent=2,
                                         ensure_ascii=False))


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
    if fmt in ("csv", "csv-excel"):
        return to_csv(findings, excel=fmt == "csv-excel")
    if fmt == "json":
        return to_json(findings)
    if fmt == "geojson":
        return to_geojson(findings)
    if fmt == "kml":
        from .kml import to_kml

        return to_kml(findings)
    raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")


def format_for(out: str, requested: str | None = None) -> str:
    """The format a command writes to ``out``: the one asked for, else ``out``'s extension, else CSV."""
    if requested:
        return requested
    suffix = Path(out).suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else "csv"


def write_export(findings: Sequence[Finding], out: str, fmt: str, include_serials: bool = False) -> None:
    """``export`` of the findings to the file ``out``, or to standard output for "-" (both scan engines)."""
    text = export(findings, fmt, include_serials=include_serials)
    if out == "-":
        sys.stdout.write(text)
    else:
        Path(out).write_text(text, encoding="utf-8", newline="")
