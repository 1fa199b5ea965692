"""A configured local basemap (raster MBTiles) served by geoloc itself (issue 13)."""
from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from geoloc_core.case.basemap import BasemapError, add_basemap, extract_mbtiles
from geoloc_core.case.findings import Finding
from geoloc_core.case.maps import finding_map


def make_mbtiles(path: Path, max_zoom: int = 2, fmt: str = "png", attribution: str = "Org maps") -> Path:
    """A small MBTiles file: every tile of zooms 0..max_zoom, each a flat colour coding (z, x, tms row)."""
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    connection.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
    connection.executemany("INSERT INTO metadata VALUES (?, ?)", [("name", "Test basemap"), ("format", fmt),
                                                                  ("attribution", attribution)])
    for z in range(max_zoom + 1):
        for x in range(2 ** z):
            for row in range(2 ** z):
                buffer = io.BytesIO()
                Image.new("RGB", (256, 256), (40 * z, 20 * x, 20 * row)).save(buffer, "PNG")
                connection.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, row, buffer.getvalue()))
    connection.commit()
    connection.close()
    return path


def test_mbtiles_are_extracted_with_rows_flipped_and_escaped_attribution(tmp_path):
    source = make_mbtiles(tmp_path / "city.mbtiles", attribution="<img src=x onerror=alert(1)> Org")
    basemap = extract_mbtiles(source, tmp_path / "static")
    assert basemap.tiles == 1 + 4 + 16 and (basemap.min_zoom, basemap.max_zoom) == (0, 2)
    # TMS row 0 at zoom 1 is the southern tile: XYZ y = 1
    tile = Image.open(basemap.folder / "1" / "0" / "1.png").convert("RGB")
    assert tile.getpixel((5, 5)) == (40, 0, 0)
    html = add_basemap(finding_map(Finding(file="a.jpg", exif_lat=48.85, exif_lon=2.29)), basemap,
                       "/app/static/").get_root().render()
    assert "/app/static/" + basemap.url_suffix in html
    assert "<img src=x" not in html  # the attribution is HTML-escaped (then JSON-encoded)


def test_vector_pmtiles_and_junk_are_refused_with_a_reason(tmp_path):
    with pytest.raises(BasemapError, match="vector"):
        extract_mbtiles(make_mbtiles(tmp_path / "v.mbtiles", max_zoom=0, fmt="pbf"), tmp_path / "static")
    (tmp_path / "p.pmtiles").write_bytes(b"PMTiles\x03" + bytes(100))
    with pytest.raises(BasemapError, match="PMTiles"):
        extract_mbtiles(tmp_path / "p.pmtiles", tmp_path / "static")
    (tmp_path / "x.mbtiles").write_bytes(b"not a database")
    with pytest.raises(BasemapError, match="not an MBTiles file"):
        extract_mbtiles(tmp_path / "x.mbtiles", tmp_path / "static")
    with pytest.raises(BasemapError, match="not found"):
        extract_mbtiles(tmp_path / "missing.mbtiles", tmp_path / "static")
