"""Where else could it be (#17) in a real Chromium: the candidate, heat and constraint layers and the Batch
toggle, with hostile strings in every label (file name, zero-shot place names), executed, not read."""
from __future__ import annotations

import json
import re

import pytest

from geoloc_core.case.candidates import candidate_rows, heat_points, kappa_from_radius, prediction_components
from geoloc_core.case.constraints import Constraint, constrain
from geoloc_core.case.findings import Finding
from tests.hostile_corpus import TEXT_PAYLOADS, payload_file_name
from tests.imagegen import gps_exif, image_bytes
from tests.test_browser import (ARTIFACTS, _map_frame, _shot, browser, page, server)  # noqa: F401 - fixtures
from tests.test_hostile import _open_in_chromium

pytestmark = pytest.mark.browser

LAYERS_JS = """() => {
  const map = (window.map && window.map.eachLayer) ? window.map  // streamlit-folium renames it
    : window[Object.keys(window).find(k => /^map_[0-9a-f]+$/.test(k))];
  map.eachLayer(l => { if (l.getPopup && l.getPopup()) { l.openPopup(); } if (l.getTooltip && l.getTooltip()) { l.openTooltip(); } });
  const texts = [];
  let circleMarkers = 0, lines = 0, strings = 0;
  const fills = [];
  map.eachLayer(layer => {
    if (layer instanceof L.CircleMarker && !(layer instanceof L.Circle)) { circleMarkers += 1; fills.push(layer.options.fillColor); }
    if (layer instanceof L.Polyline && !(layer instanceof L.Polygon) && layer.options.dashArray === '4 6') { lines += 1; }
    for (const part of [layer.getPopup && layer.getPopup(), layer.getTooltip && layer.getTooltip()]) {
      const c = part && part.getContent();
      if (typeof c === 'string') { strings += 1; } else if (c && c.nodeType) { texts.push(c.textContent); }
    }
  });
  return {texts, circleMarkers, lines, strings, fills: [...new Set(fills)].sort(),
          candidates: document.querySelectorAll('.geoloc-cand').length,
          duplicates: document.querySelectorAll('.geoloc-cand-dup').length,
          candidateTexts: [...document.querySelectorAll('.geoloc-cand')].map(e => e.textContent),
          heat: document.querySelectorAll('canvas.leaflet-heatmap-layer').length,
          layerNames: [...document.querySelectorAll('.leaflet-control-layers-overlays label')].map(e => e.textContent.trim()),
          injected: document.querySelectorAll('img[src="x"], svg[onload], .leaflet-pane img, .leaflet-pane script').length,
          pwned: typeof window.__pwned !== 'undefined'};
}"""


def _render_many(maps: dict, tmp_path) -> dict:
    """Each map rendered to a file and loaded in one Chromium; the same checks as ``_render``."""
    from playwright.sync_api import sync_playwright

    from geoloc_core.case.maps.layers import use_local_assets, vendor_leaflet_assets
    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    vendor = tmp_path / "vendor"
    vendor_leaflet_assets(vendor)
    results = {}
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name, fmap in maps.items():
            page_file = tmp_path / f"{name}.html"
            page_file.write_text(use_local_assets(fmap, vendor.as_uri() + "/").get_root().render(), encoding="utf-8")
            page_ = chromium.new_page()
            dialogs, offsite, errors = [], [], []
            page_.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page_.on("pageerror", lambda e: errors.append(str(e)))
            page_.on("request", lambda r: None if r.url.startswith(("file:", "data:", "about:")) else offsite.append(r.url))
            page_.goto(page_file.as_uri(), wait_until="load")
            page_.wait_for_timeout(500)
            results[name] = page_.evaluate(LAYERS_JS)
            page_.close()
            assert errors == [] and dialogs == [] and offsite == [], (name, errors[:3], dialogs, offsite)
            assert not results[name]["pwned"] and results[name]["injected"] == 0 and results[name]["strings"] == 0
        chromium.close()
    return results


def _render(fmap, tmp_path):
    from geoloc_core.case.maps.layers import use_local_assets, vendor_leaflet_assets

    vendor = tmp_path / "vendor"
    vendor_leaflet_assets(vendor)
    html_text = use_local_assets(fmap, vendor.as_uri() + "/").get_root().render()
    playwright, browser_, page_ = _open_in_chromium(html_text, tmp_path)
    try:
        page_.wait_for_timeout(500)
        result = page_.evaluate(LAYERS_JS)
        page_.screenshot(path=str(tmp_path / "map.png"))
    finally:
        browser_.close()
        playwright.stop()
    assert page_.errors == [], page_.errors[:3]
    assert page_.dialogs == [] and page_.offsite == [], (page_.dialogs, page_.offsite)
    assert not result["pwned"] and result["injected"] == 0 and result["strings"] == 0
    return result


def test_candidate_heat_and_constraint_layers_show_hostile_labels_as_text(tmp_path, geocoder):
    """A regressor mixture (3 components, two overlapping) and a zero-shot second witness whose 18 place names
    are the payloads, in a file named with a payload: every candidate is drawn as its rank, duplicates faded,
    the heat layer and the constrained cells drawn, each label shown character for character."""
    from geoloc_core.case.maps.finding_maps import finding_map

    components = [{"lat": a, "lon": b, "weight": w, "kappa": kappa_from_radius(r, 0.9)}
                  for a, b, w, r in [(50.45, 30.52, 0.5, 150.0), (49.84, 24.03, 0.3, 200.0), (50.2, 30.9, 0.2, 80.0)]]
    places = [{"lat": -40 + 4 * n, "lon": -60 + 9 * n, "weight": round(0.9 ** n / 10, 4), "label": payload}
              for n, payload in enumerate(TEXT_PAYLOADS.values())]
    name = payload_file_name("candidates", TEXT_PAYLOADS["template_literal"] + TEXT_PAYLOADS["script_close"])
    finding = Finding(file=f"/cases/{name}", pred_lat=50.45, pred_lon=30.52, pred_radius_km=300.0,
                      pred_radius50_km=120.0, pred_candidates=json.dumps(components), exif_lat=50.0, exif_lon=36.2,
                      distance_km=400.0, band="region", second_lat=-40.0, second_lon=-60.0, second_kind="zero-shot",
                      second_candidates=json.dumps(places))
    first, second = candidate_rows(finding, geocoder), candidate_rows(finding, geocoder, "second")
    constrained = constrain(finding, Constraint("circle", lat=50.0, lon=28.0, radius_km=300.0), geocoder)
    fmap = finding_map(finding, candidates=first, second_candidates=second,
                       heat=heat_points(prediction_components(finding)), constrained=constrained)
    result = _render(fmap, tmp_path)
    assert result["candidates"] == len(first) + len(second) == 3 + len(TEXT_PAYLOADS)
    assert result["candidateTexts"][:3] == ["1", "2", "3"]  # ranks, nothing else in the icon
    assert result["duplicates"] == sum(r.merged for r in first + second) >= 1  # #3 overlaps #1
    assert result["heat"] == 1
    assert result["circleMarkers"] == 4  # EXIF, prediction, second witness, constrained point
    assert {"Candidates of the first witness (3)", "Heat: the first witness's mixture density",
            "Constrained prediction"} <= set(result["layerNames"]), result["layerNames"]
    texts = "\n".join(result["texts"])
    for key, payload in TEXT_PAYLOADS.items():
        assert payload in texts, key
    assert name in texts
    assert "Constrained to within 300.0 km" in texts and "mass inside before renormalising" in texts
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "candidate_layers.png").write_bytes((tmp_path / "map.png").read_bytes())


def test_batch_map_toggle_draws_the_chosen_points_and_lines(tmp_path):
    """18 findings with EXIF GPS, a prediction and a written place (payload names): "both" joins each
    prediction to its EXIF point; "exif" shows EXIF points and written places; "predictions" the predictions.
    (One test for the three maps: each Chromium start with the 1:10m outlines costs tens of seconds here.)"""
    from geoloc_core.case.maps.finding_maps import findings_map

    findings = [Finding(file=f"/cases/{payload_file_name(key, payload)}", exif_lat=-50 + 5 * n, exif_lon=-170 + 18 * n,
                        pred_lat=-45 + 5 * n, pred_lon=-160 + 18 * n, distance_km=1000.0, band=payload,
                        verdict=payload, claimed_lat=-48 + 5 * n, claimed_lon=-165 + 18 * n,
                        claimed_place_text=payload)
                for n, (key, payload) in enumerate(TEXT_PAYLOADS.items())]
    maps = {show: findings_map(findings, show=show) for show in ("both", "exif", "predictions")}
    results = _render_many(maps, tmp_path)
    counts = {show: (r["circleMarkers"], r["lines"]) for show, r in results.items()}
    assert counts == {"both": (3 * 18, 18), "exif": (2 * 18, 0), "predictions": (18, 0)}
    for result in results.values():
        texts = "\n".join(result["texts"])
        for payload in TEXT_PAYLOADS.values():
            assert payload in texts


@pytest.mark.slow
def test_verify_page_shows_candidates_beside_the_map_and_a_constraint(page, server, tmp_path):
    """In the app: the tiny 3-component model's candidates as numbered markers with a heat layer, the table
    beside the map; constraining to a circle draws the constrained point and says so on the card."""
    photo = tmp_path / "kyiv.jpg"
    photo.write_bytes(image_bytes(size=(640, 480), exif=gps_exif(50.4501, 30.5234)))
    page.locator("input[type=file]").first.set_input_files(str(photo))
    page.get_by_text("Candidates of the first witness").wait_for(timeout=120_000)
    frame = _map_frame(page)
    page.wait_for_timeout(1500)
    _shot(page, "verify_candidates")
    state = frame.evaluate(LAYERS_JS)
    assert state["candidates"] == 3 and state["heat"] == 1 and state["strings"] == 0
    assert page.get_by_text("50 % / 90 % radius").count() >= 1
    page.get_by_text("Constrain the prediction").click()
    page.get_by_text("a circle", exact=True).click()
    page.get_by_text(re.compile("Constrained to within 100.0 km")).wait_for(timeout=120_000)
    for _ in range(30):  # the map is redrawn with the constrained layer
        frame = _map_frame(page)
        try:
            if "Constrained prediction" in frame.evaluate(LAYERS_JS)["layerNames"]:
                break
        except Exception:  # noqa: BLE001 - the frame was replaced mid-evaluation
            pass
        page.wait_for_timeout(1000)
    else:
        raise AssertionError("the constrained layer was never drawn")
    page.get_by_text("Candidates of the first witness").scroll_into_view_if_needed()
    _shot(page, "verify_constrained")
    assert page.dialogs == [] and page.offsite == []


@pytest.mark.slow
def test_batch_page_toggle_switches_the_map_in_the_app(page, server, tmp_path):
    """In the app: three photos with EXIF GPS; "Both" draws 6 points and 3 lines, "EXIF points" 3 and no line,
    "Predictions" the 3 predictions."""
    folder = tmp_path / "toggle"
    folder.mkdir()
    for n, (lat, lon) in enumerate([(48.85, 2.35), (40.42, -3.70), (52.52, 13.40)]):
        (folder / f"p{n}.jpg").write_bytes(image_bytes(size=(96, 64), exif=gps_exif(lat, lon)))
    page.get_by_role("link", name="Batch").click()
    page.get_by_text("A folder of images").wait_for()
    page.locator("input[type=file][webkitdirectory]").set_input_files(str(folder))
    page.get_by_role("button", name=re.compile(r"Analyse \d+ upload")).click()
    page.get_by_text("Done:").wait_for(timeout=180_000)

    def drawn(expected):
        for _ in range(40):  # the map's iframe is replaced after each rerun
            try:
                state = _map_frame(page).evaluate(LAYERS_JS)
                if (state["circleMarkers"], state["lines"], state["fills"]) == expected:
                    return state
            except Exception:  # noqa: BLE001 - frame detached mid-evaluation
                pass
            page.wait_for_timeout(1000)
        raise AssertionError(f"map never showed {expected}")

    red, blue = "#d62728", "#1f77b4"  # EXIF GPS, prediction (geoloc_core.case.maps.layers)
    drawn((6, 3, [blue, red]))
    page.get_by_text("EXIF points (and written places)").click()
    drawn((3, 0, [red]))
    page.get_by_text("Predictions (both witnesses)").click()
    drawn((3, 0, [blue]))
    _shot(page, "batch_toggle_predictions")
    assert page.dialogs == [] and page.offsite == []
