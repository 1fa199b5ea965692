"""The analyst's day in real Chromium (issue 13): the offline map at city zoom, keyboard focus on the
map, the case visible at 400 px and across a reload and a new tab."""
from __future__ import annotations

import contextlib

import piexif
import pytest

from tests.imagegen import gps_exif, image_bytes
from tests.test_browser import ARTIFACTS, _map_frame, _start_server, browser  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser
BROOKLYN = (40.6782, -73.9442)


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_model_dir):
    data = tmp_path_factory.mktemp("workflow-browser")
    process, url, log = _start_server(data, tiny_model_dir)
    yield {"url": url, "data": data}
    process.terminate()
    process.wait(timeout=30)
    log.close()


def _open(browser, url: str, width: int = 1400):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 1800})
    page = context.new_page()
    page.offsite = []
    page.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:", "about:"))
            else page.offsite.append(r.url))
    page.goto(url, wait_until="networkidle")
    page.locator("input[type=file]").first.wait_for(state="attached", timeout=180_000)  # first run loads the model
    return context, page


def test_offline_map_at_city_zoom_has_labels_cone_and_few_tab_stops(browser, server, tmp_path):  # noqa: F811
    photo = tmp_path / "brooklyn.jpg"
    photo.write_bytes(image_bytes(size=(640, 480), exif=gps_exif(*BROOKLYN, **{"GPS": {
        piexif.GPSIFD.GPSImgDirectionRef: b"T", piexif.GPSIFD.GPSImgDirection: (90, 1),
        31: (35, 1)}})))  # GPSHPositioningError, 35 m
    context, page = _open(browser, server["url"])
    page.locator("input[type=file]").first.set_input_files(str(photo))
    page.get_by_text("Copy coordinates").first.wait_for(timeout=120_000)
    page.wait_for_timeout(1500)  # the page settles; the map is drawn once more with the finding
    labels = []
    for _ in range(20):  # until the final map is up
        frame = _map_frame(page)
        frame.evaluate(f"() => window.map.setView([{BROOKLYN[0]}, {BROOKLYN[1]}], 12)")
        page.wait_for_timeout(700)
        labels = frame.evaluate("() => [...document.querySelectorAll('.geoloc-place')]"
                                ".filter(e => e.offsetParent !== null).map(e => e.textContent)")
        if labels:
            break
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "city-zoom.png"), full_page=True)
    assert "Brooklyn" in labels and len(labels) >= 5, labels
    assert frame.evaluate("() => document.querySelectorAll('path').length") > 20  # grid, cone, error circle
    # zoomed out to a country, the labels step aside
    frame.evaluate("() => window.map.setZoom(6)")
    page.wait_for_timeout(500)
    assert frame.evaluate("() => [...document.querySelectorAll('.geoloc-place')]"
                          ".filter(e => e.offsetParent !== null).length") == 0
    # copy-coordinates: decimal and DMS, each with a copy button
    body = page.inner_text("body")
    assert "40.678200, -73.944200" in body and "40°40'41.5\"N 73°56'39.1\"W" in body
    # keyboard: from the map itself, Tab leaves the map in a few presses, not one per country outline
    # (Chromium makes an SVG path with a focus listener, such as a tooltip's, a Tab stop)
    frame.focus(".leaflet-container")
    presses = 0
    while frame.evaluate("() => document.hasFocus()") and presses < 400:
        page.keyboard.press("Tab")
        presses += 1
    # each numbered candidate marker (#17) is one stop of its own; their regions are not
    candidates = frame.evaluate("() => document.querySelectorAll('.geoloc-cand-icon').length")
    assert presses <= 10 + candidates, f"{presses} Tab presses to leave the map ({candidates} candidates)"
    alt = page.locator("img").evaluate_all("els => els.filter(e => e.width > 100).map(e => e.alt)")
    assert all(alt), alt  # every shown image has alt text
    assert page.offsite == []
    context.close()


def test_case_visible_at_400px_and_kept_across_reload_and_new_tab(browser, server):  # noqa: F811
    from geoloc_core.case.log.caselog import CaseLog

    log = CaseLog(server["data"] / "caselog.sqlite3")
    chosen = log.ensure_case("Narrow screen case")
    log.ensure_case("A newer case nobody chose")
    context, page = _open(browser, f"{server['url']}/?case={chosen}", width=400)
    page.get_by_text("Case: Narrow screen case").first.wait_for(timeout=60_000)
    assert page.get_by_text("Case: Narrow screen case").first.is_visible()  # in the page, sidebar collapsed
    page.screenshot(path=str(ARTIFACTS / "narrow-400px.png"), full_page=True)
    page.reload(wait_until="networkidle")
    page.get_by_text("Case: Narrow screen case").first.wait_for(timeout=60_000)
    tab = context.new_page()
    tab.goto(server["url"], wait_until="networkidle")  # no query: the settings file remembers
    tab.get_by_text("Case: Narrow screen case").first.wait_for(timeout=60_000)
    assert f"case={chosen}" in tab.url
    context.close()


@contextlib.contextmanager
def _basemap_map(browser, tmp_path, monkeypatch, source, zoom: int = 3):  # noqa: F811
    """A server with ``source`` as $GEOLOC_BASEMAP, a Paris photo verified, its map at ``zoom``;
    yields (page, map frame, url, {served tile URL: content type})."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("GEOLOC_BASEMAP", str(source))
    process, url, log = _start_server(data, "")
    try:
        photo = tmp_path / "paris.jpg"
        photo.write_bytes(image_bytes(size=(320, 240), exif=gps_exif(48.8584, 2.2945)))
        context, page = _open(browser, url)
        served = {}
        page.on("response", lambda r: served.__setitem__(r.url, r.headers.get("content-type")) if "/basemap/" in r.url
                else None)
        page.locator("input[type=file]").first.set_input_files(str(photo))
        frame = _map_frame(page)
        frame.evaluate(f"() => window.map.setView([48.8584, 2.2945], {zoom})")
        page.wait_for_timeout(2500)
        yield page, frame, url, served
        context.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_configured_raster_pmtiles_file_is_served_locally(browser, tmp_path, monkeypatch):  # noqa: F811
    """(Raster MBTiles take the same serving path; their extraction is tested in test_basemap.py.)"""
    from tests.test_basemap import make_pmtiles

    source = make_pmtiles(tmp_path / "org.pmtiles", max_zoom=3)
    with _basemap_map(browser, tmp_path, monkeypatch, source) as (page, frame, url, served):
        tiles = frame.evaluate("() => [...document.querySelectorAll('img.leaflet-tile')]"
                               ".filter(t => t.complete && t.naturalWidth === 256).map(t => t.src)")
        assert tiles and all(t.startswith(url + "/app/static/basemap/") for t in tiles), tiles
        assert served and set(served.values()) == {"image/png"}
        assert page.offsite == []  # nothing fetched from anywhere else
        page.screenshot(path=str(ARTIFACTS / "local-basemap-pmtiles.png"), full_page=True)


def test_configured_vector_tile_file_is_served_and_drawn(browser, tmp_path, monkeypatch):  # noqa: F811
    """MBTiles of gzip-compressed vector tiles: served decompressed as application/vnd.mapbox-vector-tile
    from 127.0.0.1 and drawn by the vendored protomaps-leaflet (water fill, road, place labels)."""
    from tests.test_basemap import make_mbtiles

    source = make_mbtiles(tmp_path / "org-vector.mbtiles", max_zoom=3, fmt="pbf")
    with _basemap_map(browser, tmp_path, monkeypatch, source) as (page, frame, url, served):
        assert served and all(u.startswith(url + "/app/static/basemap/") and u.endswith(".mvt") for u in served)
        assert set(served.values()) == {"application/vnd.mapbox-vector-tile"}, served
        frame.wait_for_function("() => window.geolocVectorBasemap && document.querySelectorAll("
                                "'.leaflet-tile-pane canvas.leaflet-tile-loaded').length > 0", timeout=30_000)
        colours = frame.evaluate("""() => {
            const seen = {water: 0, background: 0};
            for (const canvas of document.querySelectorAll('.leaflet-tile-pane canvas')) {
                const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                for (let i = 0; i < pixels.length; i += 4 * 7) {
                    const [r, g, b] = [pixels[i], pixels[i + 1], pixels[i + 2]];
                    if (Math.abs(r - 170) < 6 && Math.abs(g - 211) < 6 && Math.abs(b - 223) < 6) seen.water++;
                    if (Math.abs(r - 244) < 4 && Math.abs(g - 241) < 4 && Math.abs(b - 234) < 4) seen.background++;
                }
            }
            return seen;
        }""")
        assert colours["water"] > 1000 and colours["background"] > 1000, colours  # the tiles were drawn
        assert page.offsite == []
        page.screenshot(path=str(ARTIFACTS / "local-basemap-vector.png"), full_page=True)


def test_protomaps_schema_vector_basemap_gets_the_light_style_offline(browser, tmp_path):  # noqa: F811
    """A basemap in the Protomaps schema (earth, water, roads, places) is drawn with that project's
    "light" flavour, from 127.0.0.1 only, with no script error (a plain page, no Streamlit)."""
    import functools
    import http.server
    import threading

    import mapbox_vector_tile

    from geoloc_core.case.maps.basemap import add_basemap, extract_basemap
    from geoloc_core.case.findings import Finding
    from geoloc_core.case.maps.finding_maps import finding_map
    from geoloc_core.case.maps.layers import use_local_assets, vendor_leaflet_assets
    from geoloc_core.case.maps.vector_basemap import vendor_vector_assets
    from tests.test_basemap import make_pmtiles

    root = tmp_path / "site"
    tile = mapbox_vector_tile.encode([
        {"name": "earth", "features": [{"geometry": "POLYGON ((0 0, 4096 0, 4096 4096, 0 4096, 0 0))",
                                        "properties": {"kind": "earth"}}]},
        {"name": "water", "features": [{"geometry": "POLYGON ((0 0, 1500 0, 1500 4096, 0 4096, 0 0))",
                                        "properties": {"kind": "water"}}]},
        {"name": "roads", "features": [{"geometry": "LINESTRING (0 0, 4096 4096)",
                                        "properties": {"kind": "major_road", "name": "Main St"}}]},
        {"name": "places", "features": [{"geometry": "POINT (3000 2048)",
                                         "properties": {"kind": "locality", "name": "Kestrel", "min_zoom": 0}}]}])
    basemap = extract_basemap(make_pmtiles(tmp_path / "pm.pmtiles", max_zoom=3, vector=True, tile=tile,
                                           layers=["earth", "water", "roads", "places"]), root / "static")
    vendor_leaflet_assets(root / "static" / "vendor")
    vendor_vector_assets(root / "static" / "vendor")
    fmap = add_basemap(finding_map(Finding(file="a.jpg", exif_lat=48.85, exif_lon=2.29)), basemap, "/static/",
                       "/static/vendor/")
    use_local_assets(fmap, "/static/vendor/")
    (root / "map.html").write_text(fmap.get_root().render(), encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    context = browser.new_context(viewport={"width": 900, "height": 600})
    try:
        page = context.new_page()
        errors, offsite = [], []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:")) else offsite.append(r.url))
        page.goto(url + "/map.html", wait_until="networkidle")
        page.evaluate("() => { const m = Object.values(window).find(v => v instanceof L.Map); m.setView([48.85, 2.29], 3); }")
        page.wait_for_function("() => document.querySelectorAll('.leaflet-tile-pane canvas.leaflet-tile-loaded').length",
                               timeout=30_000)
        page.wait_for_timeout(1500)
        earth = page.evaluate("""() => {
            let n = 0;
            for (const canvas of document.querySelectorAll('.leaflet-tile-pane canvas')) {
                const p = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                for (let i = 0; i < p.length; i += 4 * 5)
                    if (Math.abs(p[i] - 226) < 4 && Math.abs(p[i + 1] - 223) < 4 && Math.abs(p[i + 2] - 218) < 4) n++;
            }
            return n;
        }""")
        assert errors == [] and offsite == []
        assert earth > 1000  # the "light" flavour's earth colour #e2dfda
        page.screenshot(path=str(ARTIFACTS / "local-basemap-protomaps.png"))
    finally:
        context.close()
        server.shutdown()
