"""Remake the README's pictures in headless Chromium: `python -m tools.readme_screenshots`.

docs/screenshot.png (Verify, a Brooklyn phone photo at night, no model), docs/case-log.png (the Case
log narrowed by a search and a filter, with its counts) and docs/local-basemap.png (a small vector
MBTiles file generated here, served by the app and drawn offline). Uses the tests' image and tile
generators and server start-up, so the pictures show what the tests check.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import piexif

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def night_photo() -> bytes:
    from tests.imagegen import gps_exif, image_bytes

    return image_bytes(size=(800, 600), exif=gps_exif(40.6782, -73.9442, altitude=12.0, **{
        "0th": {piexif.ImageIFD.Make: b"Apple", piexif.ImageIFD.Model: b"iPhone 15", piexif.ImageIFD.Software: b"17.5.1"},
        "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2024:06:21 23:30:00", piexif.ExifIFD.OffsetTimeOriginal: b"-04:00"}}))


def _open(browser, url: str, height: int = 1800):
    page = browser.new_context(viewport={"width": 1400, "height": height}).new_page()
    page.goto(url, wait_until="networkidle")
    page.locator("input[type=file]").first.wait_for(state="attached", timeout=180_000)
    return page


def _upload(page, path: Path, wait_for: str) -> None:
    page.locator("input[type=file]").first.set_input_files(str(path))
    page.get_by_text(wait_for).first.wait_for(timeout=180_000)
    page.wait_for_timeout(3000)


def main(only: str = "") -> None:
    from playwright.sync_api import sync_playwright

    from tests.imagegen import gps_exif, image_bytes
    from tests.test_basemap import make_mbtiles
    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _map_frame, _start_server

    work = Path(tempfile.mkdtemp(prefix="geoloc-shots-"))
    photos = {"IMG_4127.jpg": night_photo(),
              "IMG_4130.jpg": image_bytes(size=(640, 480), color=(200, 30, 30), exif=gps_exif(48.8584, 2.2945, **{
                  "0th": {piexif.ImageIFD.Software: b"Adobe Photoshop 25.0"}})),
              "DSC_0001.jpg": image_bytes(size=(640, 480), color=(30, 200, 30), exif=gps_exif(51.5007, -0.1246))}
    for name, data in photos.items():
        (work / name).write_bytes(data)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        (work / "data").mkdir()
        process, url, log = _start_server(work / "data", "")
        try:
            page = _open(browser, url, height=2500)  # the app scrolls inside itself: the viewport is the picture
            for name in ("DSC_0001.jpg", "IMG_4130.jpg", "IMG_4127.jpg"):
                _upload(page, work / name, "Copy coordinates")
            _map_frame(page)
            page.wait_for_timeout(2000)
            page.screenshot(path=str(DOCS / "screenshot.png"), full_page=True)
            page.get_by_role("link", name="Case log").click()
            page.get_by_label("Search file names, verdicts, notes and metadata").fill("IMG_41")
            page.keyboard.press("Enter")
            page.get_by_text("match the search and filters").first.wait_for(timeout=60_000)
            page.wait_for_timeout(2000)
            page.screenshot(path=str(DOCS / "case-log.png"), clip={"x": 0, "y": 0, "width": 1400, "height": 900})
        finally:
            process.terminate()
            process.wait(timeout=30)
            log.close()
        (work / "data2").mkdir()
        os.environ["GEOLOC_BASEMAP"] = str(make_mbtiles(work / "org-vector.mbtiles", max_zoom=4, fmt="pbf"))
        process, url, log = _start_server(work / "data2", "")
        try:
            page = _open(browser, url)
            _upload(page, work / "IMG_4130.jpg", "Copy coordinates")
            frame = _map_frame(page)
            frame.evaluate("() => window.map.setView([48.8584, 2.2945], 4)")
            page.wait_for_timeout(4000)
            page.locator("iframe[title*='st_folium'], iframe[src*='st_folium']").first.screenshot(
                path=str(DOCS / "local-basemap.png"))
        finally:
            process.terminate()
            process.wait(timeout=30)
            log.close()
            os.environ.pop("GEOLOC_BASEMAP", None)
        browser.close()


if __name__ == "__main__":
    main()
