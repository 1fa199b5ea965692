"""Map layers for "where else could it be?": each witness's top-k candidates with their own 50 % / 90 %
regions, a heat layer of a mixture's density, and the prediction after the analyst's constraint.

Why a module of its own: ``maps`` draws what a finding *is* (points, regions, line); these layers draw the
alternatives an analyst weighs, each in a layer of its own that the map's layer control switches.

Candidates are numbered markers (a ``DivIcon`` whose only content is the rank, an integer) so they never
count as, or look like, the finding's own points; their popups and tooltips go through ``SafeLabels``
(``textContent`` from inert literals), because a candidate's place name comes from data files and the
finding's file name from the file. A candidate marked as a duplicate draws no regions of its own: its
area is the group head's.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import folium
from folium.plugins import HeatMap

from ..candidates import CandidateRow
from ..constraints import ConstrainedPrediction
from ..findings import Finding
from .layers import CONSTRAINED_COLOR, PREDICTION_COLOR, SECOND_WITNESS_COLOR, circle_bounds, labelled

CANDIDATE_STYLE = (".geoloc-cand{font:bold 11px/18px sans-serif;color:#fff;text-align:center;border-radius:9px;"
                   "width:18px;height:18px;border:1.5px solid #fff;box-shadow:0 0 2px #000}"
                   ".geoloc-cand-dup{opacity:.6;border-style:dashed}.geoloc-cand-icon{background:none;border:none}")


def _percent(p: float | None) -> str:
    return "" if p is None else f"{100 * p:.1f} %"


def _km(value: float | None) -> str:
    return "" if value is None else f"{value:,.1f} km"


def candidate_label_rows(row: CandidateRow, witness: str, file_name: str) -> list[tuple[str, object]]:
    """The popup's rows: the same facts as the card's candidate table."""
    return [("Candidate", f"#{row.rank} of the {witness}"), ("file", file_name),
            ("probability", _percent(row.probability)),
            ("probability with its duplicates", _percent(row.group_probability)),
            ("place (zero-shot)", row.label), ("in the credible set", row.credible_set),
            ("50 % region radius", _km(row.radius50_km)), ("90 % region radius", _km(row.radius90_km)),
            ("country", row.country), ("region", row.region), ("nearest place", row.nearest_place),
            ("lat, lon", f"{row.lat:.5f}, {row.lon:.5f}"),
            ("duplicate of", f"#{row.duplicate_of} (their 50 % regions overlap)" if row.merged else "")]


def add_candidates(fmap, finding: Finding, rows: Sequence[CandidateRow], witness: str = "first witness",
                   color: str = PREDICTION_COLOR) -> list[list[float]]:
    """One layer with every candidate of one witness; returns bounds points (the 50 % regions)."""
    if not rows:
        return []
    name = Path(finding.file).name
    group = folium.FeatureGroup(name=f"Candidates of the {witness} ({len(rows)})").add_to(fmap)
    bounds: list[list[float]] = []
    for row in rows:
        if not row.merged:
            for radius, dash, label in ((row.radius90_km, "6 6", "90 %"), (row.radius50_km, None, "50 %")):
                if radius:
                    # context, not a keyboard stop: Chromium makes an SVG path with a tooltip a Tab stop,
                    # so each circle would cost two presses; the radii are in the numbered marker's popup
                    # and in the list beside the map
                    folium.Circle([row.lat, row.lon], radius=radius * 1000.0, color=color, weight=1,
                                  dash_array=dash, fill=True, fill_opacity=0.04, opacity=0.7,
                                  interactive=False).add_to(group)
            if row.radius50_km:
                bounds.extend(circle_bounds(row.lat, row.lon, row.radius50_km))
        css = "geoloc-cand geoloc-cand-dup" if row.merged else "geoloc-cand"
        icon = folium.DivIcon(html=f'<div class="{css}" style="background:{color}">{int(row.rank)}</div>',
                              class_name="geoloc-cand-icon", icon_size=(18, 18), icon_anchor=(9, 9))
        labelled(folium.Marker([row.lat, row.lon], icon=icon), candidate_label_rows(row, witness, name),
                  tooltip=f"Candidate #{row.rank} ({_percent(row.probability)})"
                          + (f", duplicate of #{row.duplicate_of}" if row.merged else "")).add_to(group)
        bounds.append([row.lat, row.lon])
    fmap.get_root().header.add_child(folium.Element(f"<style>{CANDIDATE_STYLE}</style>"), name="geoloc_cand_css")
    return bounds


def add_heat(fmap, points: Sequence[Sequence[float]], witness: str = "first witness") -> None:
    """The mixture's density as a heat layer (samples drawn in ``candidates.heat_points``; numbers only)."""
    if points:
        HeatMap([list(p) for p in points], name=f"Heat: the {witness}'s mixture density", min_opacity=0.25,
                radius=18, blur=14, max_zoom=MAX_HEAT_ZOOM).add_to(fmap)


MAX_HEAT_ZOOM = 12


def _cells_geojson(cells: Sequence[Sequence[float]]) -> dict:
    return {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": {
        "type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}} for s, w, n, e in cells]}


def add_constrained(fmap, result: ConstrainedPrediction) -> list[list[float]]:
    """The constraint (a circle's outline), the constrained 50 % / 90 % regions (grid cells inside it) and
    the constrained point, in one layer."""
    group = folium.FeatureGroup(name="Constrained prediction").add_to(fmap)
    constraint = result.constraint
    bounds: list[list[float]] = []
    if constraint.kind == "circle":
        labelled(folium.Circle([constraint.lat, constraint.lon], radius=constraint.radius_km * 1000.0,
                                color=CONSTRAINED_COLOR, weight=2, dash_array="2 6", fill=False),
                  tooltip=f"Constraint: {constraint.describe()}").add_to(group)
        bounds.extend(circle_bounds(constraint.lat, constraint.lon, constraint.radius_km))
    for cells, opacity, label in ((result.cells90, 0.18, "90 %"), (result.cells50, 0.35, "50 %")):
        if cells:
            labelled(folium.GeoJson(_cells_geojson(cells), style_function=lambda _, o=opacity: {
                "color": CONSTRAINED_COLOR, "weight": 0, "fillColor": CONSTRAINED_COLOR, "fillOpacity": o}),
                tooltip=f"Constrained {label} region ({constraint.describe()})").add_to(group)
    if not result.empty:
        labelled(folium.CircleMarker([result.lat, result.lon], radius=7, color="white", weight=2, fill=True,
                                      fill_color=CONSTRAINED_COLOR, fill_opacity=1.0),
                  [("Constrained prediction", constraint.describe()),
                   ("lat, lon", f"{result.lat:.5f}, {result.lon:.5f}"),
                   ("mass inside before renormalising", _percent(result.mass_inside)),
                   ("measured with", result.method)],
                  tooltip=f"Constrained to {constraint.describe()}").add_to(group)
        bounds.append([result.lat, result.lon])
        for s, w, n, e in result.cells50:
            bounds.extend([[s, w], [n, e]])
    return bounds


__all__ = ["add_candidates", "add_constrained", "add_heat", "candidate_label_rows", "SECOND_WITNESS_COLOR"]
