"""A configured local basemap (MBTiles or PMTiles, raster or vector) served by geoloc itself (issue 13)."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from geoloc_core.case.maps.basemap import BasemapError, add_basemap, extract_basemap, extract_mbtiles
from geoloc_core.case.maps.vector_basemap import SCRIPT, VENDOR_DIR
from geoloc_core.case.findings import Finding
from geoloc_core.case.maps.finding_maps import finding_map


HOSTILE = "<img src=x onerror=alert(1)>`${alert(2)}`</script>"
VECTOR_LAYERS = ["water", "roads", "place", HOSTILE]


def png_tile(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), colour).save(buffer, "PNG")
    return buffer.getvalue()


def vector_tile(label: str = "Kestrel Harbour") -> bytes:
    """One Mapbox Vector Tile (plain protobuf): water on the western half, a road across, a named place
    in the middle, and a layer whose name is a hostile string (drawn like any other)."""
    import mapbox_vector_tile

    return mapbox_vector_tile.encode([
        {"name": "water", "features": [{"geometry": "POLYGON ((0 0, 2048 0, 2048 4096, 0 4096, 0 0))",
                                        "properties": {"name": "Bay"}}]},
        {"name": "roads", "features": [{"geometry": "LINESTRING (0 0, 4096 4096)", "properties": {"name": "Main St"}}]},
        {"name": "place", "features": [{"geometry": "POINT (3000 2048)", "properties": {"name": label}}]},
        {"name": HOSTILE, "features": [{"geometry": "POINT (3000 3000)", "properties": {"name": HOSTILE}}]},
    ])


def make_mbtiles(path: Path, max_zoom: int = 2, fmt: str = "png", attribution: str = "Org maps") -> Path:
    """A small MBTiles file: every tile of zooms 0..max_zoom; raster tiles are a flat colour coding
    (z, x, tms row), vector ones ("pbf") the gzip-compressed :func:`vector_tile`."""
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    connection.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
    connection.executemany("INSERT INTO metadata VALUES (?, ?)", [
        ("name", "Test basemap"), ("format", fmt), ("attribution", attribution),
        ("json", json.dumps({"vector_layers": [{"id": name, "fields": {}} for name in VECTOR_LAYERS]}))])
    vector = gzip.compress(vector_tile()) if fmt == "pbf" else None
    for z in range(max_zoom + 1):
        for x in range(2 ** z):
            for row in range(2 ** z):
                data = vector or png_tile((40 * z, 20 * x, 20 * row))
                connection.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, row, data))
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
    named = make_mbtiles(tmp_path / "named.mbtiles", max_zoom=0)
    with sqlite3.connect(named) as connection:
        connection.execute("UPDATE metadata SET value = ? WHERE name = 'name'", (HOSTILE,))
    fmap = finding_map(Finding(file="a.jpg", exif_lat=48.85, exif_lon=2.29), online_tiles=True)  # a layer control
    page = add_basemap(fmap, extract_basemap(named, tmp_path / "static"), "/app/static/").get_root().render()
    assert "<img src=x" not in page and "\\u0026lt;img src=x" in page  # Leaflet's layer control shows names as HTML


def make_pmtiles(path: Path, max_zoom: int = 2, vector: bool = False, attribution: str = "Org maps",
                 tile: bytes | None = None, layers: list[str] = VECTOR_LAYERS) -> Path:
    """A small PMTiles v3 file written with protomaps' writer: raster tiles colour-code (z, x, XYZ y);
    vector tiles are ``tile`` (default :func:`vector_tile`), gzip-compressed as PMTiles tools write them."""
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import write

    tiles = {}
    for z in range(max_zoom + 1):
        for x in range(2 ** z):
            for y in range(2 ** z):
                tiles[zxy_to_tileid(z, x, y)] = gzip.compress(tile or vector_tile()) if vector else \
                    png_tile((40 * z, 20 * x, 20 * y))
    with write(str(path)) as writer:
        for tile_id in sorted(tiles):
            writer.write_tile(tile_id, tiles[tile_id])
        writer.finalize({"tile_type": TileType.MVT if vector else TileType.PNG,
                         "tile_compression": Compression.GZIP if vector else Compression.NONE,
                         "min_lon_e7": -1800000000, "min_lat_e7": -850000000, "max_lon_e7": 1800000000,
                         "max_lat_e7": 850000000, "center_zoom": 0, "center_lon_e7": 0, "center_lat_e7": 0},
                        {"name": "Org PMTiles", "attribution": attribution,
                         "vector_layers": [{"id": name} for name in layers]})
    return path


def test_pmtiles_raster_tiles_are_extracted_in_xyz_order(tmp_path):
    basemap = extract_basemap(make_pmtiles(tmp_path / "city.pmtiles"), tmp_path / "static")
    assert (basemap.kind, basemap.tiles, basemap.min_zoom, basemap.max_zoom) == ("raster", 21, 0, 2)
    assert basemap.url_suffix.endswith("/{z}/{x}/{y}.png") and basemap.name == "Org PMTiles"
    # PMTiles addresses tiles as XYZ already: no row flip (z 2, x 1, y 3 coded as (80, 20, 60))
    assert Image.open(basemap.folder / "2" / "1" / "3.png").convert("RGB").getpixel((5, 5)) == (80, 20, 60)


@pytest.mark.parametrize("kind", ["mbtiles", "pmtiles"])
def test_vector_tiles_are_stored_decompressed_and_drawn_by_the_vendored_renderer(tmp_path, kind):
    import mapbox_vector_tile

    source = (make_mbtiles(tmp_path / "v.mbtiles", max_zoom=1, fmt="pbf", attribution=HOSTILE) if kind == "mbtiles"
              else make_pmtiles(tmp_path / "v.pmtiles", max_zoom=1, vector=True, attribution=HOSTILE))
    basemap = extract_basemap(source, tmp_path / "static")
    assert (basemap.kind, basemap.tiles, basemap.vector_layers) == ("vector", 5, tuple(VECTOR_LAYERS))
    assert basemap.url_suffix.endswith("/{z}/{x}/{y}.mvt")
    stored = (basemap.folder / "1" / "0" / "1.mvt").read_bytes()
    assert stored == vector_tile()  # gunzipped: served as plain application/vnd.mapbox-vector-tile
    assert mapbox_vector_tile.decode(stored)["place"]["features"][0]["properties"]["name"] == "Kestrel Harbour"
    page = add_basemap(finding_map(Finding(file="a.jpg", exif_lat=48.85, exif_lon=2.29)), basemap,
                       "/app/static/", "/app/static/vendor/").get_root().render()
    assert f'src="/app/static/vendor/{SCRIPT}"' in page and "protomapsL.leafletLayer" not in page.split("<body")[0]
    assert "P.leafletLayer(options)" in page
    # file-derived layer names and attribution enter the script only as inert \uXXXX literals
    assert "<img src=x" not in page and "${alert" not in page and "</script>`" not in page
    assert "\\u0026lt\\u003bimg src\\u003dx onerror" in page  # the attribution: HTML-escaped, then literal


def test_vendored_renderer_is_the_npm_release_byte_for_byte():
    data = (VENDOR_DIR / SCRIPT).read_bytes()
    assert hashlib.sha256(data).hexdigest() == "26af014f7b1af308ec120b791cff76657bb9c3383633b52033e6edf9e5e4cdb5"
    assert data.startswith(b'"use strict";var protomapsL=')


def test_unreadable_basemaps_are_refused_with_a_reason(tmp_path):
    from pmtiles.tile import Compression

    (tmp_path / "p2.pmtiles").write_bytes(b"PMTiles\x02" + bytes(200))
    with pytest.raises(BasemapError, match="version 2 file"):
        extract_basemap(tmp_path / "p2.pmtiles", tmp_path / "static")
    (tmp_path / "p.pmtiles").write_bytes(b"PMTiles\x03" + bytes(20))  # header cut short
    with pytest.raises(BasemapError, match="not a readable PMTiles v3 file"):
        extract_basemap(tmp_path / "p.pmtiles", tmp_path / "static")
    brotli = bytearray(make_pmtiles(tmp_path / "b.pmtiles", max_zoom=0).read_bytes())
    brotli[98] = Compression.BROTLI.value
    (tmp_path / "b.pmtiles").write_bytes(bytes(brotli))
    with pytest.raises(BasemapError, match="BROTLI-compressed"):
        extract_basemap(tmp_path / "b.pmtiles", tmp_path / "static")
    bomb = make_mbtiles(tmp_path / "bomb.mbtiles", max_zoom=0, fmt="pbf")
    with sqlite3.connect(bomb) as connection:
        connection.execute("UPDATE tiles SET tile_data = ?", (gzip.compress(bytes(40 * 2**20)),))
    with pytest.raises(BasemapError, match="larger than 16 MB"):
        extract_basemap(bomb, tmp_path / "static2")
    with pytest.raises(BasemapError, match="format 'geojson'"):
        extract_mbtiles(make_mbtiles(tmp_path / "g.mbtiles", max_zoom=0, fmt="geojson"), tmp_path / "static")
    (tmp_path / "x.mbtiles").write_bytes(b"not a database")
    with pytest.raises(BasemapError, match="neither an MBTiles file"):
        extract_basemap(tmp_path / "x.mbtiles", tmp_path / "static")
    with pytest.raises(BasemapError, match="not found"):
        extract_basemap(tmp_path / "missing.mbtiles", tmp_path / "static")
