"""Findings -> KML, for Google Earth (where analysts continue).

One Placemark per located point: the EXIF GPS point, the predicted point, the second witness,
the place written in the caption/IPTC/XMP (when located) and the analyst's own point (named "Analyst's
point", with its verification against EXIF GPS and the written place and the analyst's note), each with the
verdict and its reason in the description, plus the line between them. Built with the standard
library's ElementTree, never by string concatenation: file names and EXIF strings are hostile,
and the XML library escapes ``< > & "`` itself. Characters that XML 1.0 cannot carry at all
(control characters such as NUL or vertical tab, which a crafted file name can contain) are
replaced with U+FFFD, so the file always parses.

For Google Earth's own tools (issue #32): the prediction's 50 % and 90 % regions are polygons (geodesic
circles, 72 points; a region too large to draw as one polygon, or holding a pole, is named in the
description instead), the capture time is a ``TimeStamp`` on the EXIF and predicted points, so the time
slider works, and the top-k candidates are a folder of their own.

Google Earth renders a description (and the balloon's ExtendedData table) as HTML, so XML escaping
alone let ``<img src=x onerror=...>`` from a file name reach it as markup (issue #31). Every text that
a balloon shows is HTML-escaped first (``html.escape``) and then XML-escaped by ElementTree; the only
element geoloc writes into a description is ``<br>`` between its lines. A ``<name>`` is plain text to
Google Earth and is written as it is.
"""
from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Sequence

from ..findings import ANALYST_POINT_LABEL, Finding, regions_word
from ..pixel_findings import summary_rows as pixel_summary_rows
from .telemetry_track import track_coordinates

KML_NS = "http://www.opengis.net/kml/2.2"
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
STYLES = {"exif": "ff2827d6", "predicted": "ffb4771f", "second_witness": "ff2ca02c", "claimed": "ffbd6794",
          "distance": "ff444444", "candidate": "ffe8c7ae", "analyst": "ff00d7ff"}  # aabbggrr
REGION_STYLES = {"region50": ("ffb4771f", "40b4771f"), "region90": ("ffb4771f", "1ab4771f")}  # line, fill (aabbggrr)
REGION_POINTS = 72
MAX_REGION_KM = 5000.0  # larger regions (or ones holding a pole) are described, not drawn: one polygon cannot hold them
DATA_FIELDS = ("file", "sha256", "verdict", "verdict_reason", "distance_km", "band", "exif_country",
               "pred_country", "pred_radius_km", "pred_calibrated", "camera_make", "camera_model", "software",
               "exif_datetime_original", "checks_flagged", "analyst_verdict", "analyst_tags", "note",
               "camera_serial",  # empty unless the export asked for serials (export.without_serials)
               # the written claim (#19), as in the CSV / JSON / GeoJSON exports
               "claimed_place_text", "claimed_city", "claimed_region", "claimed_country", "claimed_country_code",
               "claimed_lat", "claimed_lon", "claim_source", "creator", "caption", "capture_time_source",
               "claim_exif_check", "claim_pred_verdict",
               # the second witness (#14)
               "second_model", "second_verdict", "second_distance_km", "witnesses_distance_km",
               # the analyst's own point (#32)
               "analyst_point_lat", "analyst_point_lon", "analyst_point_note", "analyst_point_by",
               "analyst_point_at_utc", "analyst_point_exif_distance_km", "analyst_point_exif_verdict",
               "analyst_point_claim_distance_km", "analyst_point_claim_verdict",
               # pixel forensics (#37)
               "pixel_forensics", "pixel_checks_flagged", "jpeg_quality_estimate", "quant_table_match",
               "double_compression", "double_compression_score", "clone_regions", "clone_boxes")


def xml_text(value: object) -> str:
    """Text that XML 1.0 can hold (escaping itself is ElementTree's job)."""
    return _NOT_XML.sub("\ufffd", "" if value is None else str(value))


def _sub(parent: ET.Element, tag: str, text: object | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{KML_NS}}}{tag}", {k: xml_text(v) for k, v in attributes.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def _description(finding: Finding, role: str) -> str:
    lines = [f"{role}: {Path(finding.file).name}", f"Verdict: {finding.verdict}"]
    if finding.verdict_reason:
        lines.append(f"Why: {finding.verdict_reason}")
    if finding.distance_km is not None:
        lines.append(f"Distance EXIF GPS - prediction: {finding.distance_km:,.1f} km ({finding.band} band)")
    if finding.pred_radius_km is not None:
        word = regions_word(finding.pred_calibrated)
        lines.append(f"90 % region radius: {finding.pred_radius_km:,.1f} km" + (f" ({word})" if word else ""))
    if getattr(finding, "analyst_verdict", ""):
        lines.append(f"Analyst's assessment: {finding.analyst_verdict}")
    if finding.checks_flagged:
        lines.append(f"Metadata checks flagged: {finding.checks_flagged}")
    lines += [f"{label}: {text}" for label, text in pixel_summary_rows(finding)]  # #37
    lines.append(f"SHA-256: {finding.sha256}")
    return "<br>".join(html.escape(line) for line in lines)  # HTML text for the balloon, then XML-escaped


def _analyst_description(finding: Finding) -> str:
    """The analyst's point's balloon: the same rows as the report's section, each HTML-escaped."""
    from ..analyst_point import summary_lines

    lines = [f"{ANALYST_POINT_LABEL} (the analyst's own, not geoloc's): {Path(finding.file).name}"]
    lines += [f"{label}: {text}" for label, text in summary_lines(finding) if text]
    lines.append(f"SHA-256: {finding.sha256}")
    return "<br>".join(html.escape(line) for line in lines)


def capture_time(finding: Finding) -> str | None:
    """The capture time as KML's ``xsd:dateTime`` (EXIF DateTimeOriginal, with its offset when written), or None."""
    from datetime import datetime

    value = finding.exif_datetime_original
    if not value:
        return None
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return None
    return value


def _region_ring(lat: float, lon: float, radius_km: float) -> str | None:
    """The region's boundary as KML coordinates, closed; None when one polygon cannot hold it."""
    from ...places.geodesy import EARTH_RADIUS_KM, geodesic_circle

    if radius_km > MAX_REGION_KM or abs(lat) + radius_km / EARTH_RADIUS_KM * 57.29577951308232 >= 90.0:
        return None
    lats, lons = geodesic_circle(lat, lon, radius_km, REGION_POINTS)
    points = [f"{((x + 180.0) % 360.0) - 180.0:.5f},{y:.5f}" for y, x in zip(lats.tolist(), lons.tolist())]
    return " ".join(points[:-1] + [points[0]])  # closed on the very first point


def _regions(folder: ET.Element, finding: Finding) -> None:
    """The prediction's 50 % and 90 % regions as polygons (or a note why one is not drawn)."""
    name = Path(finding.file).name
    for key, percent, radius in (("region90", "90 %", finding.pred_radius_km),
                                 ("region50", "50 %", finding.pred_radius50_km)):
        if not radius:
            continue
        ring = _region_ring(finding.pred_lat, finding.pred_lon, radius)
        placemark = _sub(folder, "Placemark")
        _sub(placemark, "name", f"{percent} region: {name}")
        word = regions_word(finding.pred_calibrated)
        text = f"The prediction's {percent} region{f' ({word})' if word else ''}: radius {radius:,.1f} km"
        if ring is None:
            text += f"; not drawn (wider than {MAX_REGION_KM:,.0f} km or holding a pole)"
        _sub(placemark, "description", html.escape(text))
        _sub(placemark, "styleUrl", f"#{key}")
        if ring is not None:
            polygon = _sub(placemark, "Polygon")
            _sub(polygon, "tessellate", "1")
            boundary = _sub(_sub(polygon, "outerBoundaryIs"), "LinearRing")
            _sub(boundary, "coordinates", ring)


def _candidates(folder: ET.Element, finding: Finding) -> None:
    """The prediction's top-k candidates, best first, in a folder of their own."""
    from ..candidates import parse_candidates

    listed = parse_candidates(finding.pred_candidates)
    if len(listed) < 2:
        return
    sub = _sub(folder, "Folder")
    _sub(sub, "name", f"Candidates: {Path(finding.file).name}")
    for rank, candidate in enumerate(listed, 1):
        placemark = _sub(sub, "Placemark")
        _sub(placemark, "name", f"#{rank} ({100 * candidate['weight']:.1f} %)")
        _sub(placemark, "description", html.escape(f"Candidate {rank} of the prediction for {Path(finding.file).name}: "
                                                   f"{100 * candidate['weight']:.1f} % of the model's mass"))
        _sub(placemark, "styleUrl", "#candidate")
        _sub(_sub(placemark, "Point"), "coordinates", f"{candidate['lon']:.6f},{candidate['lat']:.6f}")


def _placemark(folder: ET.Element, finding: Finding, role: str, label: str, coordinates: str, geometry: str,
               description: str | None = None) -> None:
    placemark = _sub(folder, "Placemark")
    _sub(placemark, "name", f"{label}: {Path(finding.file).name}")
    _sub(placemark, "description", description if description is not None else _description(finding, label))
    when = capture_time(finding) if role in ("exif", "predicted") else None
    if when is not None:  # Google Earth's time slider: when the photo was taken, as the camera says
        _sub(_sub(placemark, "TimeStamp"), "when", when)
    _sub(placemark, "styleUrl", f"#{role}")
    extended = _sub(placemark, "ExtendedData")
    row = finding.to_dict()
    for field in DATA_FIELDS:
        if row.get(field) not in (None, ""):
            data = _sub(extended, "Data", name=field)
            _sub(data, "value", html.escape(str(row[field])))  # the balloon shows it as HTML
    shape = _sub(placemark, geometry)
    if geometry == "LineString":
        _sub(shape, "tessellate", "1")
    _sub(shape, "coordinates", coordinates)


def to_kml(findings: Sequence[Finding], name: str = "geoloc findings") -> str:
    ET.register_namespace("", KML_NS)
    root = ET.Element(f"{{{KML_NS}}}kml")
    document = _sub(root, "Document")
    _sub(document, "name", name)
    for role, colour in STYLES.items():
        style = _sub(document, "Style", id=role)
        if role == "distance":
            line = _sub(style, "LineStyle")
            _sub(line, "color", colour)
            _sub(line, "width", "2")
        else:
            icon = _sub(style, "IconStyle")
            _sub(icon, "color", colour)
    for role, (line_colour, fill_colour) in REGION_STYLES.items():
        style = _sub(document, "Style", id=role)
        line = _sub(style, "LineStyle")
        _sub(line, "color", line_colour)
        _sub(line, "width", "1.5")
        _sub(_sub(style, "PolyStyle"), "color", fill_colour)
    for finding in findings:
        track = track_coordinates(finding)  # a video's per-frame telemetry (#34)
        if finding.exif_lat is None and finding.pred_lat is None and finding.claimed_lat is None \
                and finding.second_lat is None and finding.analyst_point_lat is None and not track:
            continue
        folder = _sub(document, "Folder")
        _sub(folder, "name", Path(finding.file).name)
        if finding.exif_lat is not None:
            altitude = f",{finding.exif_altitude_m:.1f}" if finding.exif_altitude_m is not None else ""
            _placemark(folder, finding, "exif", "EXIF GPS", f"{finding.exif_lon:.7f},{finding.exif_lat:.7f}{altitude}",
                       "Point")
        if finding.pred_lat is not None:
            _placemark(folder, finding, "predicted", "Predicted", f"{finding.pred_lon:.6f},{finding.pred_lat:.6f}", "Point")
            _regions(folder, finding)
            _candidates(folder, finding)
        if finding.second_lat is not None:
            _placemark(folder, finding, "second_witness", "Second witness",
                       f"{finding.second_lon:.6f},{finding.second_lat:.6f}", "Point")
        if finding.claimed_lat is not None:
            _placemark(folder, finding, "claimed", "Claimed place (written)",
                       f"{finding.claimed_lon:.6f},{finding.claimed_lat:.6f}", "Point")
        if finding.analyst_point_lat is not None:
            _placemark(folder, finding, "analyst", ANALYST_POINT_LABEL,
                       f"{finding.analyst_point_lon:.6f},{finding.analyst_point_lat:.6f}", "Point",
                       _analyst_description(finding))
        if track:
            _placemark(folder, finding, "distance", "Telemetry track",
                       " ".join(f"{lon:.7f},{lat:.7f}" for lon, lat in track), "LineString")
        if finding.exif_lat is not None and finding.pred_lat is not None:
            _placemark(folder, finding, "distance", "Distance", f"{finding.exif_lon:.7f},{finding.exif_lat:.7f} "
                       f"{finding.pred_lon:.6f},{finding.pred_lat:.6f}", "LineString")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
