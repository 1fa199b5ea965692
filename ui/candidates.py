"""Where else could it be: each witness's candidates beside the Verify map, the analyst's constraint, and
the opt-in hand-off links. Logic lives in geoloc_core.case (candidates, constraints, handoff); this lays out
widgets and shows the results as escaped text."""
from __future__ import annotations

import streamlit as st

from geoloc_core.case.candidates import CandidateRow, candidate_rows, heat_points, prediction_components
from geoloc_core.case.constraints import (Constraint, ConstrainedPrediction, ConstraintError, constrain,
                                          region_names)
from geoloc_core.case.findings import Finding
from geoloc_core.case.handoff import finding_links
from geoloc_core.places.geocoding import load_country_info
from ui import resources
from ui.plaintext import markdown_literal, text_table_html

WITNESSES = {"pred": "first witness", "second": "second witness"}


def _percent(p: float | None) -> str:
    return "" if p is None else f"{100 * p:.1f} %"


def _km(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f} km"


def witness_rows(finding: Finding) -> dict[str, list[CandidateRow]]:
    """Candidate rows per witness that has candidates (places from the offline geocoder: candidates never go
    to Nominatim, whatever the sidebar says)."""
    geocoder = resources.offline_geocoder()
    rows = {which: candidate_rows(finding, geocoder, which) for which in WITNESSES}
    return {which: found for which, found in rows.items() if found}


def candidates_panel(finding: Finding, rows: dict[str, list[CandidateRow]]) -> None:
    """The candidates as a table per witness: the same facts as the map's candidate popups."""
    for which, found in rows.items():
        kind = getattr(finding, f"{which}_kind", "") or "model"
        zero_shot = any(not r.radius50_km for r in found)
        st.markdown(f"**Candidates of the {WITNESSES[which]} ({markdown_literal(kind)}), most probable first**")
        header = ["#", "probability", "credible set" if zero_shot else "50 % / 90 % radius",
                  "where (region, country; nearest place)", "overlap"]
        table = []
        for r in found:
            where = ", ".join(x for x in (r.region, r.country) if x) or "open water"
            if r.label:
                where = f"{r.label} — {where}"
            if r.nearest_place:
                where += f"; near {r.nearest_place}"
            spread = r.credible_set if zero_shot else f"{_km(r.radius50_km)} / {_km(r.radius90_km)}"
            overlap = (f"duplicate of #{r.duplicate_of}" if r.merged else
                       f"with duplicates {_percent(r.group_probability)}" if r.group_probability else "")
            table.append([r.rank, _percent(r.probability), spread, where, overlap])
        st.html(text_table_html(table, header))
        merged = sum(r.merged for r in found)
        note = ("Regions are each component's own exact vMF caps." if not zero_shot else
                "Zero-shot candidates are places in one posterior (uncalibrated): the credible set says whether a "
                "place is among the most probable holding 50 % / 90 % of the mass.")
        if merged:
            note += (f" {merged} candidate(s) overlap a more probable one (50 % regions overlapping, or within 25 km "
                     "without regions) and are marked as its duplicates: their probability is added to it.")
        st.caption(note)  # own text: geoloc's sentences and a count


def map_layers(finding: Finding, rows: dict[str, list[CandidateRow]]) -> dict:
    """Keyword arguments for ``finding_map``: candidate layers and the heat layer of a mixture."""
    return {"candidates": rows.get("pred", []), "second_candidates": rows.get("second", []),
            "heat": heat_points(prediction_components(finding, "pred"))}


def _country_choices() -> dict[str, str]:
    info = load_country_info()
    return dict(sorted(((code, f"{item['name']} ({code})") for code, item in info.items()), key=lambda kv: kv[1]))


def constraint_form(finding: Finding, key: str = "constraint") -> ConstrainedPrediction | None:
    """"The source says it is in ...": restrict a witness's prediction to a country, an admin-1 region or a
    circle. Returns the constrained prediction (None: no constraint, or it could not be applied)."""
    witnesses = [w for w in WITNESSES if getattr(finding, f"{w}_lat") is not None]
    if not witnesses:
        return None
    with st.expander("Constrain the prediction (a source says where it is)"):
        st.caption("The model's belief is kept only inside the area and renormalised there; the card then says how "
                   "much of it was inside before. Country and region are tested with the offline borders and "
                   "GeoNames regions the geocoder uses.")
        c1, c2 = st.columns(2)
        kind = c1.radio("Restrict to", ["nothing", "a country", "a region", "a circle"], key=f"{key}_kind",
                        horizontal=True)
        which = c2.radio("Witness", witnesses, format_func=WITNESSES.get, key=f"{key}_which", horizontal=True) \
            if len(witnesses) > 1 else witnesses[0]
        try:
            constraint = _constraint_inputs(finding, kind, which, key)
        except ConstraintError as exc:
            st.warning(markdown_literal(str(exc)))
            return None
    if constraint is None:
        return None
    memo = st.session_state.setdefault(f"{key}_memo", {})
    memo_key = (finding.sha256, finding.file, finding.analysed_at_utc, which, constraint)
    if memo_key not in memo:
        memo.clear()
        try:
            with st.spinner("Constraining the prediction..."):
                memo[memo_key] = constrain(finding, constraint, resources.offline_geocoder(), which)
        except ConstraintError as exc:
            st.warning(markdown_literal(str(exc)))
            return None
    return memo[memo_key]


def _constraint_inputs(finding: Finding, kind: str, which: str, key: str) -> Constraint | None:
    if kind == "nothing":
        return None
    if kind in ("a country", "a region"):
        choices = _country_choices()
        codes = list(choices)
        default = getattr(finding, f"{which}_country_code") or "UA"
        code = st.selectbox("Country", codes, index=codes.index(default) if default in codes else 0,
                            format_func=choices.get, key=f"{key}_country")
        if kind == "a country":
            return Constraint("country", country_code=code)
        names = region_names(resources.offline_geocoder(), code)
        if not names:
            raise ConstraintError("no admin-1 regions are known for this country: use the country or a circle")
        region = st.selectbox("Region (admin-1, GeoNames)", names, key=f"{key}_region_{code}")
        return Constraint("region", country_code=code, region=region)
    c1, c2, c3 = st.columns(3)
    lat = c1.number_input("Centre latitude (°)", -90.0, 90.0, float(getattr(finding, f"{which}_lat")), format="%.5f",
                          key=f"{key}_lat")
    lon = c2.number_input("Centre longitude (°)", -180.0, 180.0, float(getattr(finding, f"{which}_lon")),
                          format="%.5f", key=f"{key}_lon")
    radius = c3.number_input("Radius (km)", 0.1, 20000.0, 100.0, key=f"{key}_km")
    return Constraint("circle", lat=lat, lon=lon, radius_km=radius)


def constrained_card(result: ConstrainedPrediction) -> None:
    """The card's statement that the prediction is constrained, and the reweighted candidates."""
    (st.warning if result.empty or result.mass_inside < 0.05 else st.info)(markdown_literal(result.summary()))
    if result.mass_inside < 0.05 and not result.empty:
        st.caption("Less than 5 % of the model's belief was inside: the constraint and the pixels disagree.")
    if result.empty and result.constraint.kind == "region":
        st.caption("Region names are GeoNames' admin-1 names; the geocoder names each admin-1 area by the places "
                   "inside it, so a city region inside a larger one (Kyiv City inside Kiev) may never be given. "
                   "Try the surrounding region, or a circle.")
    labelled = any(c.label for c in result.candidates)
    rows = [[c.rank] + ([c.label] if labelled else []) + [_percent(c.weight_before), _percent(c.inside_fraction),
                                                          _percent(c.weight_after)] for c in result.candidates]
    st.html(text_table_html(rows, ["#"] + (["place (zero-shot)"] if labelled else [])
                            + ["probability before", "own mass inside", "probability after"]))


def handoff_section(finding: Finding, enabled: bool) -> None:
    """Links to online tools, only when the sidebar's hand-off switch is on; each says what it sends."""
    if not enabled:
        st.caption("Links to online tools (OpenStreetMap, Google Maps / Street View, SunCalc, reverse-image search) "
                   "are off: switch on 'Links to online tools (hand-off)' in the sidebar. Nothing is sent while off.")
        return
    links = finding_links(finding, enabled)
    st.markdown("**Open in other tools (online)** — clicking a link sends what its tooltip says; nothing is sent "
                "until you click, and no image is ever sent.")
    for point, found in links.items():
        st.caption(markdown_literal(point) + ("" if point == "Image" else " — the coordinates travel in the link"))
        columns = st.columns(len(found))
        for column, link in zip(columns, found):
            column.link_button(link.service, link.url, help=f"{link.service}: {link.sends}.", width="stretch")
