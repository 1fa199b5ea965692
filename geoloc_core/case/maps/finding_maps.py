"""The maps an analyst sees: one finding with every layer it has, or all points of a batch.

Why a module of its own: these two assemble the layers the other modules of ``case.maps`` draw (the
points and regions in ``layers``, candidates and heat in ``candidate_map``, city context in
``map_context``), so they sit above all of them and nothing below imports back up.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import folium
from folium.plugins import MarkerCluster

from ..findings import Finding
from .candidate_map import add_candidates, add_constrained, add_heat
from .layers import PREDICTION_COLOR, SECOND_WITNESS_COLOR, add_fine_boundaries, add_finding, base_map, fit_to
from .map_context import add_city_context  # place labels, grid, camera cone, GPS error circle


def finding_map(finding: Finding, online_tiles: bool = False, candidates: Sequence = (),
                second_candidates: Sequence = (), heat: Sequence = (), constrained=None) -> folium.Map:
    """One finding. Optional layers (``case.maps.candidate_map``), each switchable in the layer control: the
    witnesses' candidate rows (``case.candidates.candidate_rows``), heat points of a mixture and a
    ``ConstrainedPrediction``."""
    fmap = base_map(online_tiles)
    add_fine_boundaries(fmap, [finding])
    add_city_context(fmap, finding)
    add_heat(fmap, heat)
    bounds = add_candidates(fmap, finding, candidates, "first witness", PREDICTION_COLOR)
    bounds += add_candidates(fmap, finding, second_candidates, "second witness", SECOND_WITNESS_COLOR)
    if constrained is not None:
        bounds += add_constrained(fmap, constrained)
    bounds += add_finding(fmap, finding)
    if (candidates or second_candidates or heat or constrained is not None) and not online_tiles:
        folium.LayerControl().add_to(fmap)  # collapsed: a layers button; with online tiles base_map has one
    fit_to(fmap, bounds)
    return fmap


def findings_map(findings: Iterable[Finding], online_tiles: bool = False, cluster_above: int = 30,
                 show: str = "both") -> folium.Map:
    """All points of a batch; clustered when there are many (no regions, to keep it readable). ``show``
    picks EXIF points, predictions or both (then each prediction is joined to its EXIF point)."""
    findings = list(findings)
    fmap = base_map(online_tiles)
    add_fine_boundaries(fmap, findings)
    many = len(findings) > cluster_above
    target = MarkerCluster(name="findings").add_to(fmap) if many else fmap
    bounds: list[list[float]] = []
    for finding in findings:
        bounds.extend(add_finding(target, finding, with_regions=False, show=show))
    fit_to(fmap, bounds)
    return fmap
