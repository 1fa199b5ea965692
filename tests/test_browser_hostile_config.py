"""#31 in a real browser (headless Chromium via Playwright, against `streamlit run`): the payload corpus again, now
with the files that configure geoloc hostile too. The model is a zero-shot CLIP folder whose places table names
every country, region and town with a payload (and whose prompt templates carry one), and the configured basemap
($GEOLOC_BASEMAP) is a vector MBTiles whose name, attribution, description and layer names are payloads. Verify,
the Model page and Batch are driven with payload files and the maps' popups opened: no dialog, no request off this
server, no element made from a payload, and the hostile names shown as text."""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from tests.hostile_corpus import TEXT_PAYLOADS, hostile_exif_image, payload_file_name
from tests.test_basemap import HOSTILE as TILE_LAYER, make_mbtiles
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, _map_frame, _recording, _shot, _start_server, _stop_server
from tests.tiny_models import SYNTHETIC_COUNTRIES, save_tiny_clip, write_synthetic_places

pytestmark = [pytest.mark.browser, pytest.mark.slow]

P = TEXT_PAYLOADS
# a model folder's places table: each country, region and town carries a payload after its own name (the tiny
# CLIP's tokenizer knows the names, so the countries stay distinguishable; the payload words are <unk>)
COUNTRY_PAYLOADS = {"XA": P["md_image"], "XB": P["html_img"], "XC": P["template_literal"], "XD": P["script_close"]}
REGION_PAYLOADS = [P["html_remote_img"], P["svg_onload"], P["backtick"], P["quote_break"], P["md_link"],
                   P["md_autolink"], P["javascript_url"], P["katex"]]
TOWN_PAYLOADS = [P["st_directives"], P["bare_url"]]
# a template may hold anything but str.format fields besides its own placeholder
TEMPLATE_PAYLOAD = '<img src="http://evil.example/template.png"> ![t](http://evil.example/template-md.png)'
BASEMAP_TEXT = {"name": P["md_image"] + " " + P["html_img"],
                "attribution": '<img src="http://evil.example/attribution.png"> ' + P["script_close"],
                "description": P["html_remote_img"] + P["template_literal"]}
BASEMAP_LAYERS = ["water", "roads", "place", TILE_LAYER, P["template_literal"], P["script_close"], P["backtick"],
                  P["quote_break"]]
EVIL = ("evil.invalid", "evil.example")


def country_name(code: str) -> str:
    return f"{SYNTHETIC_COUNTRIES[code][0]} {COUNTRY_PAYLOADS[code]}"


def hostile_model_folder(folder: Path) -> Path:
    """A tiny zero-shot CLIP whose places.csv (named by zeroshot.json, inside the folder) holds payload names."""
    import csv

    clip = save_tiny_clip(folder)
    clean = write_synthetic_places(folder / "clean.csv")
    rows = list(csv.DictReader(clean.open(encoding="utf-8")))
    clean.unlink()
    regions = sorted({r["admin1"] for r in rows})
    for row in rows:
        region = regions.index(row["admin1"])
        row["name"] = f"{row['name']} {TOWN_PAYLOADS[row['name'].endswith('1')]}"
        row["admin1"] = f"{row['admin1']} {REGION_PAYLOADS[region]}"
        row["country"] = country_name(row["cc"])
    with (clip / "places.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (clip / "zeroshot.json").write_text(json.dumps({
        "places_csv": "places.csv", "country_template": "A Street View photo in {country}. " + TEMPLATE_PAYLOAD,
        "region_template": "A Street View photo in {region}, {country}. " + TEMPLATE_PAYLOAD}), encoding="utf-8")
    return clip


def hostile_basemap(path: Path) -> Path:
    """A vector MBTiles (zooms 0-2) whose metadata texts and vector layer names are payloads."""
    make_mbtiles(path, max_zoom=2, fmt="pbf", attribution=BASEMAP_TEXT["attribution"])
    with sqlite3.connect(path) as connection:
        connection.execute("DELETE FROM metadata WHERE name IN ('name', 'json')")
        connection.executemany("INSERT INTO metadata VALUES (?, ?)", [
            ("name", BASEMAP_TEXT["name"]), ("description", BASEMAP_TEXT["description"]),
            ("json", json.dumps({"vector_layers": [{"id": name, "fields": {}} for name in BASEMAP_LAYERS]}))])
    connection.close()
    return path


@contextlib.contextmanager
def _environment(**values: str):
    """``values`` in os.environ (inherited by the server process), the previous ones back afterwards."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            os.environ.pop(key) if value is None else os.environ.update({key: value})


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    from geoloc_core.case.maps.basemap import _folder

    work = tmp_path_factory.mktemp("hostile-config")
    clip = hostile_model_folder(work / "model")
    basemap = hostile_basemap(work / "org basemap.mbtiles")
    data = work / "data"
    data.mkdir()
    with _environment(GEOLOC_CACHE_DIR=str(data / "cache"), GEOLOC_BASEMAP=str(basemap)):
        process, url, log = _start_server(data, clip)
    yield {"url": url, "data": data}
    _stop_server(process, log)
    shutil.rmtree(_folder(basemap, ROOT / "static")[0], ignore_errors=True)  # the extracted tiles


# every document (the page and each map's iframe): elements a payload would have made
INJECTED_JS = """(evil) => [...document.querySelectorAll('img, a, iframe, script[src], svg[onload], .katex')]
  .filter(e => {
    const target = e.getAttribute('src') || e.getAttribute('href') || '';
    return e.matches('svg, .katex') || target === 'x' || target.startsWith('javascript')
      || evil.some(host => target.includes(host));
  }).map(e => e.outerHTML.slice(0, 200))"""
# the vector basemap drawn from this server's tiles, its popups opened; strings as popup content would be HTML
MAP_JS = """() => {
  let strings = 0, popups = 0;
  window.map.eachLayer(layer => {
    for (const part of [layer.getPopup && layer.getPopup(), layer.getTooltip && layer.getTooltip()]) {
      if (part && typeof part.getContent() === 'string') { strings += 1; }
    }
    if (layer.getPopup && layer.getPopup() && layer._map) { layer.openPopup(); popups += 1; }
  });
  return {strings, popups, basemap: typeof window.geolocVectorBasemap === 'object',
          attribution: (document.querySelector('.leaflet-control-attribution') || {}).textContent || ''};
}"""


# the page's text as _flat makes it, in the browser
PAGE_TEXT = "document.body.innerText.replace(/\\u2060/g, '').replace(/\\s+/g, ' ')"


def _flat(text: str) -> str:
    """Page text compared with runs of white space made one space and invisible word joiners dropped."""
    return " ".join(text.replace("\u2060", "").split())


def _assert_inert(page) -> None:
    for frame in page.frames:
        try:
            injected = frame.evaluate(INJECTED_JS, list(EVIL))
        except Exception:  # noqa: BLE001 - a map frame replaced by a rerun: the next look covers its successor
            continue
        assert injected == [], (frame.url, injected)
    assert page.dialogs == [] and page.offsite == [], (page.dialogs, page.offsite)


def _open_popups(page) -> dict:
    """Open every popup of the map on the page (again after a rerun replaced its frame)."""
    for attempt in range(10):
        try:
            frame = _map_frame(page)
            frame.wait_for_function("() => typeof window.geolocVectorBasemap === 'object'", timeout=30_000)
            state = frame.evaluate(MAP_JS)
            page.wait_for_timeout(500)  # popups opened: let anything they would fetch start
            return state
        except Exception:  # noqa: BLE001 - "frame was detached"
            if attempt == 9:
                raise
            page.wait_for_timeout(1000)
    raise AssertionError("unreachable")


def test_hostile_model_folder_and_basemap_stay_text(hostile_server, tmp_path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout, sync_playwright

    started = time.monotonic()
    red = SYNTHETIC_COUNTRIES["XA"][1]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = _recording(browser.new_context(viewport={"width": 1400, "height": 2600}).new_page(),
                          hostile_server["url"])
        page.goto(hostile_server["url"], wait_until="networkidle")
        page.get_by_text("Drop a photo").wait_for(timeout=300_000)
        page.locator("input[type=file]").first.wait_for(state="attached", timeout=300_000)

        # Verify: payload files (name and every EXIF text field) in Redonia's colour, so the zero-shot witness
        # ranks the hostile country names; the country table, candidates panel and map show them
        for n, key in enumerate(("html_img", "md_image", "template_literal")):
            photo = tmp_path / payload_file_name(f"verify{n}", P[key])
            photo.write_bytes(hostile_exif_image(P[key], lat=60.5 + n, lon=11.0, color=red))
            page.locator("input[type=file]").first.set_input_files(str(photo))
            page.get_by_text("Country probabilities (zero-shot CLIP, uncalibrated)").wait_for(timeout=180_000)
            page.wait_for_function(f"(p) => {PAGE_TEXT}.includes(p)", arg=_flat(P[key]), timeout=120_000)
            state = _open_popups(page)
            assert state["strings"] == 0 and state["popups"] > 0 and state["basemap"], state
            _assert_inert(page)
        # the payload waited for above is on the page before this photo's result (a country in the table carries
        # it): the body was read mid-rerun, before the candidates panel was drawn, once in a full run
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_function(f"(ps) => ps.some(p => {PAGE_TEXT}.includes(p))",
                                   arg=[_flat(p) for p in REGION_PAYLOADS], timeout=120_000)
        body = _flat(page.inner_text("body"))
        shown = [c for c in COUNTRY_PAYLOADS if _flat(country_name(c)) in body]
        assert len(shown) == len(COUNTRY_PAYLOADS), shown  # the country table lists every country, as text
        regions = [p for p in REGION_PAYLOADS if _flat(p) in body]
        assert regions, "no hostile region name shown in the candidates panel"
        assert BASEMAP_TEXT["attribution"] in state["attribution"], state  # Leaflet shows it as HTML: escaped first
        _shot(page, "hostile_config_verify")

        # the Model page: the templates, places source and cache path of the hostile folder
        page.get_by_role("link", name="Model").click()
        page.get_by_text("Loaded (zero-shot CLIP)").wait_for(timeout=120_000)
        page.get_by_text("Loading a model").wait_for(timeout=60_000)
        page.wait_for_timeout(1000)  # the data frames draw on a canvas after their element appears
        _assert_inert(page)
        _shot(page, "hostile_config_model")

        # Batch: a few payload files, the map's popups opened
        folder = tmp_path / "batch"
        folder.mkdir()
        for n, key in enumerate(("svg_onload", "md_link", "script_close", "katex")):
            code = list(SYNTHETIC_COUNTRIES)[n]
            (folder / payload_file_name(key, P[key])).write_bytes(
                hostile_exif_image(P[key], lat=-40 + 20 * n, lon=-100 + 40 * n, color=SYNTHETIC_COUNTRIES[code][1]))
        page.get_by_role("link", name="Batch").click()
        page.get_by_text("A folder of images").wait_for(timeout=60_000)
        page.locator("input[type=file][webkitdirectory]").set_input_files(str(folder))
        page.get_by_role("button", name=re.compile(r"Analyse \d+ upload")).click()
        page.get_by_text("Done:").wait_for(timeout=180_000)
        state = _open_popups(page)
        assert state["strings"] == 0 and state["popups"] > 0 and state["basemap"], state
        _assert_inert(page)
        _shot(page, "hostile_config_batch")
        browser.close()
    print(f"hostile model folder and basemap sweep: {time.monotonic() - started:.0f} s")
