"""KML export (issue 13): valid KML that Google Earth opens, hostile strings escaped, from the
library and from `scan --format kml`."""
from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from geoloc_core.case.exports.export import export
from geoloc_core.case.findings import Finding
from tests.imagegen import gps_exif, image_bytes

ROOT = Path(__file__).resolve().parents[1]
NS = {"k": "http://www.opengis.net/kml/2.2"}
HOSTILE = "<Placemark><script>alert(1)<script>]]>&amp;\x00\x0b\"'.jpg"  # a file name cannot hold "/"


def _parse(text: str) -> ET.Element:
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "{http://www.opengis.net/kml/2.2}kml"
    return root


class _HTMLText:
    """What an HTML renderer (Google Earth's balloon) makes of a string: its elements and its text."""

    def __init__(self, markup: str):
        from html.parser import HTMLParser

        self.tags: set[str] = set()
        chunks: list[str] = []
        outer = self

        class Parser(HTMLParser):
            def handle_starttag(self, tag, attrs):
                outer.tags.add(tag)
                if tag == "br":
                    chunks.append("\n")

            def handle_data(self, data):
                chunks.append(data)

        parser = Parser(convert_charrefs=True)
        parser.feed(markup)
        parser.close()
        self.text = "".join(chunks)


def _as_html(markup: str) -> _HTMLText:
    return _HTMLText(markup)


def test_kml_has_a_placemark_per_point_and_escapes_hostile_strings():
    both = Finding(file=f"/evidence/{HOSTILE}", sha256="ab" * 32, exif_lat=40.6892, exif_lon=-74.0445,
                   exif_altitude_m=12.5, pred_lat=40.7, pred_lon=-73.9, distance_km=12.3, band="city",
                   verdict="consistent", verdict_reason="within <b>50 %</b> & more", software="<img onerror=x>")
    only_pred = Finding(file="b.jpg", pred_lat=-33.86, pred_lon=151.21, verdict="cannot verify: no EXIF GPS")
    nowhere = Finding(file="c.pdf", verdict="cannot verify: not an image")
    root = _parse(export([both, only_pred, nowhere], "kml"))
    placemarks = root.findall(".//k:Placemark", NS)
    assert len(placemarks) == 4  # EXIF + predicted + line for the first, predicted for the second
    names = [p.find("k:name", NS).text for p in placemarks]
    clean = HOSTILE.replace("\x00", "\ufffd").replace("\x0b", "\ufffd")
    assert names[0] == f"EXIF GPS: {clean}"  # the name survives literally, as text
    assert root.find(".//k:script", NS) is None and not root.findall(".//script")
    point = placemarks[0].find(".//k:Point/k:coordinates", NS).text
    assert point == "-74.0445000,40.6892000,12.5"  # KML order: lon,lat[,alt]
    # Google Earth renders descriptions and the balloon's data as HTML: parsed as HTML after the XML, they
    # hold no element but geoloc's <br>, and their text is the hostile strings, literally (#31)
    description = _as_html(placemarks[0].find("k:description", NS).text)
    assert description.tags <= {"br"}
    assert "Verdict: consistent" in description.text and "within <b>50 %</b> & more" in description.text
    assert f"EXIF GPS: {clean}" in description.text
    data = {d.get("name"): _as_html(d.find("k:value", NS).text) for d in placemarks[0].findall(".//k:Data", NS)}
    assert all(not value.tags for value in data.values())
    assert data["software"].text == "<img onerror=x>" and data["verdict"].text == "consistent"
    line = placemarks[2].find(".//k:LineString/k:coordinates", NS).text.split()
    assert line == ["-74.0445000,40.6892000", "-73.900000,40.700000"]


def test_scan_writes_kml(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "statue & <liberty>.jpg").write_bytes(image_bytes(exif=gps_exif(40.6892, -74.0445)))
    (tmp_path / "in" / "plain.png").write_bytes(image_bytes("PNG"))
    out = tmp_path / "out.kml"
    result = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(tmp_path / "in"), "--format", "kml",
                             "--out", str(out), "--no-progress"], capture_output=True, text=True, cwd=ROOT,
                            env={"PATH": "/usr/bin:/bin", "GEOLOC_MODEL": ""}, timeout=300)
    assert result.returncode == 0, result.stderr
    root = _parse(out.read_text(encoding="utf-8"))
    names = [p.find("k:name", NS).text for p in root.findall(".//k:Placemark", NS)]
    assert names == ["EXIF GPS: statue & <liberty>.jpg"]


def test_kml_carries_the_written_claim_and_the_second_witness():
    """#19/#14: the claimed place and the second witness reach KML like the other exports, as text."""
    caption = "Kyiv, Ukraine ${alert(1)} <b>12 March</b>"
    finding = Finding(file="agency.jpg", claimed_place_text=caption, claimed_city="Kyiv", claimed_country="Ukraine",
                      claimed_country_code="UA", claimed_lat=50.45, claimed_lon=30.52, claim_source="IPTC:City",
                      creator="<i>Staff</i>", caption=caption, capture_time_source="XMP-photoshop:DateCreated",
                      second_model="clip", second_lat=49.0, second_lon=31.0, second_verdict="plausible")
    root = _parse(export([finding], "kml"))
    marks = {m.find("k:name", NS).text: m for m in root.iter("{http://www.opengis.net/kml/2.2}Placemark")}
    assert set(marks) == {"Claimed place (written): agency.jpg", "Second witness: agency.jpg"}
    claimed = marks["Claimed place (written): agency.jpg"]
    assert claimed.find("k:Point/k:coordinates", NS).text == "30.520000,50.450000"
    data = {d.get("name"): _as_html(d.find("k:value", NS).text).text
            for d in claimed.iter("{http://www.opengis.net/kml/2.2}Data")}  # as the balloon shows them
    assert data["claimed_place_text"] == caption and data["creator"] == "<i>Staff</i>"
    assert data["claimed_country_code"] == "UA" and data["capture_time_source"] == "XMP-photoshop:DateCreated"
    assert data["second_verdict"] == "plausible"


def test_kml_draws_regions_as_polygons_with_the_capture_time_and_candidates():
    """#32: Google Earth's tools need the regions as polygons, the capture time as a TimeStamp (the time
    slider) and the candidates as a folder; a region too large for one polygon is said, not drawn."""
    import json

    from geoloc_core.places.geodesy import geodesic_km

    candidates = json.dumps([{"lat": 48.85, "lon": 2.35, "weight": 0.6}, {"lat": 45.76, "lon": 4.84, "weight": 0.3},
                             {"lat": 43.3, "lon": 5.37, "weight": 0.1}])
    near = Finding(file="paris.jpg", exif_lat=48.8584, exif_lon=2.2945, exif_datetime_original="2024-06-21T23:30:00+02:00",
                   pred_lat=48.85, pred_lon=2.35, pred_radius50_km=120.0, pred_radius_km=480.0, pred_calibrated=True,
                   pred_candidates=candidates, verdict="consistent")
    vague = Finding(file="beach.jpg", pred_lat=10.0, pred_lon=-20.0, pred_radius50_km=2900.0, pred_radius_km=7400.0,
                    exif_datetime_original="not a time")
    root = _parse(export([near, vague], "kml"))
    marks = {m.find("k:name", NS).text: m for m in root.iter("{http://www.opengis.net/kml/2.2}Placemark")}
    for percent, radius in (("50 %", 120.0), ("90 %", 480.0)):
        ring = marks[f"{percent} region: paris.jpg"].find(".//k:Polygon/k:outerBoundaryIs/k:LinearRing/k:coordinates", NS)
        points = [tuple(map(float, p.split(","))) for p in ring.text.split()]
        assert points[0] == points[-1] and len(points) >= 60  # closed
        assert all(abs(geodesic_km(48.85, 2.35, lat, lon) - radius) < 0.01 * radius for lon, lat in points)
        assert "(calibrated)" in marks[f"{percent} region: paris.jpg"].find("k:description", NS).text
    assert marks["EXIF GPS: paris.jpg"].find("k:TimeStamp/k:when", NS).text == "2024-06-21T23:30:00+02:00"
    assert marks["Predicted: paris.jpg"].find("k:TimeStamp/k:when", NS).text == "2024-06-21T23:30:00+02:00"
    folder = next(f for f in root.iter("{http://www.opengis.net/kml/2.2}Folder")
                  if f.find("k:name", NS).text == "Candidates: paris.jpg")
    points = [p.find(".//k:coordinates", NS).text for p in folder.findall("k:Placemark", NS)]
    assert points == ["2.350000,48.850000", "4.840000,45.760000", "5.370000,43.300000"]
    # a 7,400 km region is named in its placemark, not drawn; an unreadable time gives no TimeStamp
    wide = marks["90 % region: beach.jpg"]
    assert wide.find(".//k:Polygon", NS) is None and "not drawn" in wide.find("k:description", NS).text
    assert marks["Predicted: beach.jpg"].find("k:TimeStamp", NS) is None
