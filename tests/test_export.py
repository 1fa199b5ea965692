from __future__ import annotations

import csv
import io
import json

from geoloc_core.case.exports.export import export, spreadsheet_safe, to_csv
from geoloc_core.case.findings import CORE_COLUMNS, Finding


def _finding(**kw) -> Finding:
    base = dict(file="=HYPERLINK(\"http://evil\",\"x\").jpg", sha256="ab" * 32, file_type="jpeg", status="ok",
                exif_lat=-33.5, exif_lon=-70.25, software="+cmd|' /C calc'!A0", camera_make="@SUM(1+1)",
                camera_model="-2+3", message="\tleading tab", verdict="consistent", pred_lat=-33.4, pred_lon=-70.6,
                distance_km=35.2)
    base.update(kw)
    return Finding(**base)


def test_csv_neutralises_formulas_but_keeps_numbers_numeric():
    rows = list(csv.DictReader(io.StringIO(to_csv([_finding()]))))
    row = rows[0]
    for column in ("file", "software", "camera_make", "camera_model", "message"):
        assert row[column].startswith("'"), column
    assert float(row["exif_lon"]) == -70.25 and float(row["exif_lat"]) == -33.5
    assert list(row)[: len(CORE_COLUMNS)] == list(CORE_COLUMNS)


def test_spreadsheet_safe_only_touches_text():
    assert spreadsheet_safe(-5.0) == -5.0 and spreadsheet_safe(None) is None
    assert spreadsheet_safe("=1+1") == "'=1+1" and spreadsheet_safe("Paris") == "Paris"
    assert spreadsheet_safe("\r=x") == "'\r'=x"  # the line after the CR is neutralised too


def test_json_and_geojson_round_trip():
    findings = [_finding(), _finding(file="b.jpg", exif_lat=None, exif_lon=None)]
    data = json.loads(export(findings, "json"))
    assert [d["file"] for d in data] == [f.file for f in findings]
    geo = json.loads(export(findings, "geojson"))
    roles = [f["properties"]["role"] for f in geo["features"]]
    assert roles == ["exif", "predicted", "distance", "predicted"]
    assert geo["features"][0]["geometry"]["coordinates"] == [-70.25, -33.5]  # GeoJSON is lon, lat


def test_camera_serials_are_exported_only_when_asked():
    finding = _finding(camera_serial="BODY123 / LENS456")
    assert "BODY123" not in export([finding], "csv") and "BODY123" not in export([finding], "json")
    assert "BODY123" in export([finding], "csv", include_serials=True)
    assert finding.camera_serial == "BODY123 / LENS456"  # the record itself is untouched


TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _cells_read_line_by_line(text: str) -> list[str]:
    """Cells as a reader sees them that ends a row at every line break, a lone CR included
    (str.splitlines), and knows nothing of quotes spanning lines."""
    return [cell for line in text.splitlines() for row in csv.reader([line]) for cell in row]


def test_csv_line_breaks_inside_values_never_start_a_formula_row():
    payload = "Photoshop\r=cmd|' /C calc'!A0"
    finding = _finding(software=payload, camera_make="Canon\n+SUM(1)", camera_model="x\u2028@A1",
                       message="ok\r\n-2+3", file="a\x0b=b.jpg")
    text = to_csv([finding])
    for cell in _cells_read_line_by_line(text):
        stripped = cell.lstrip('"')
        numeric = stripped.replace(".", "", 1).lstrip("-").isdigit()
        assert numeric or not stripped.startswith(TRIGGERS), (cell, text)
    # a standard reader still gets one row with the value, neutralised but otherwise intact
    row = next(csv.DictReader(io.StringIO(text, newline="")))
    assert row["software"] == "Photoshop\r'=cmd|' /C calc'!A0" and float(row["exif_lon"]) == -70.25


def test_scan_cli_csv_neutralises_a_bare_cr_in_exif(tmp_path):
    import piexif
    import subprocess
    import sys
    from pathlib import Path

    from tests.imagegen import gps_exif, image_bytes

    root = Path(__file__).resolve().parents[1]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jpg").write_bytes(image_bytes(exif=gps_exif(48.85, 2.29, **{
        "0th": {piexif.ImageIFD.Software: b"Photoshop\r=cmd|' /C calc'!A0"}})))
    result = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(tmp_path / "in"), "--out",
                             str(tmp_path / "o.csv"), "--no-progress"], cwd=root, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    text = (tmp_path / "o.csv").read_bytes().decode("utf-8")
    assert "=cmd" in text
    for cell in _cells_read_line_by_line(text):
        assert not cell.lstrip('"').startswith(("=", "+", "@")), cell


def test_csv_for_excel_has_a_byte_order_mark_and_the_short_columns(tmp_path):
    """#32: Excel reads a CSV without a UTF-8 byte-order mark as a legacy code page ("°" became "Â°", every
    non-Latin caption was mangled), and 107 columns of prose are no spreadsheet. "CSV for Excel" is the same
    cells, neutralised the same way, with the mark and a short column set; the fixed-contract CSV is unchanged."""
    import csv as csv_module
    import io
    import subprocess
    import sys
    from pathlib import Path

    from geoloc_core.case.exports.export import EXCEL_COLUMNS, export
    from geoloc_core.case.findings import Finding
    from tests.imagegen import gps_exif, image_bytes

    finding = Finding(file="Київ 50°27′.jpg", sha256="ab" * 32, caption="Майдан", claimed_place_text="Київ",
                      software="=HYPERLINK(\"http://x\")", exif_lat=50.45, exif_lon=30.52, verdict="inconclusive")
    text = export([finding], "csv-excel")
    assert text.startswith("\ufeff") and not export([finding], "csv").startswith("\ufeff")
    rows = list(csv_module.reader(io.StringIO(text.encode("utf-8").decode("utf-8-sig"))))
    assert tuple(rows[0]) == EXCEL_COLUMNS and len(EXCEL_COLUMNS) < 30
    row = dict(zip(rows[0], rows[1]))
    assert row["file"] == "Київ 50°27′.jpg" and row["claimed_place_text"] == "Київ"
    assert row["software"].startswith("'=")  # formula-neutralised like the contract CSV
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "kyiv.jpg").write_bytes(image_bytes(exif=gps_exif(50.45, 30.52)))
    out = tmp_path / "f.csv"
    result = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(folder), "--format", "csv-excel", "--out",
                             str(out), "--no-progress"], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1], timeout=300)
    assert result.returncode == 0, result.stderr
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\xef\xbb\xbf") == 1
    assert data.decode("utf-8-sig").splitlines()[0].split(",")[0] == '"file"'
