"""A configured local basemap (MBTiles or PMTiles, raster or vector) served by geoloc itself (issue 13)."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import sqlite3
import time
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


# --- Hostile basemap files (issue #31, item 6): every byte written, every inflation and every second has a budget ---

MiB = 2 ** 20


def disk_bytes(folder: Path) -> int:
    """Bytes the files under ``folder`` occupy on disk, each inode once (hard links are not counted twice)."""
    inodes, total = set(), 0
    for root, _, names in os.walk(folder):
        for name in names:
            stat = os.lstat(os.path.join(root, name))
            if stat.st_ino not in inodes:
                inodes.add(stat.st_ino)
                total += stat.st_blocks * 512
    return total


def raw_pmtiles(path: Path, entries: list[tuple[int, int, int, int]], tile_data: bytes, vector: bool = True,
                metadata: bytes | None = None, leaves: bytes = b"") -> Path:
    """A PMTiles v3 file assembled by hand, so its directory can say what no writer would: ``entries`` are
    (tile_id, offset, length, run_length) into ``tile_data``; run length 0 points into ``leaves``."""
    from pmtiles.tile import Compression, Entry, TileType, serialize_directory, serialize_header

    root = serialize_directory([Entry(*entry) for entry in entries])
    metadata = gzip.compress(json.dumps({"name": "hostile"}).encode()) if metadata is None else metadata
    header = {"root_offset": 127, "root_length": len(root), "metadata_offset": 127 + len(root),
              "metadata_length": len(metadata), "clustered": True, "internal_compression": Compression.GZIP,
              "tile_compression": Compression.GZIP if vector else Compression.NONE,
              "tile_type": TileType.MVT if vector else TileType.PNG, "min_zoom": 0, "max_zoom": 0}
    header["leaf_directory_offset"] = header["metadata_offset"] + len(metadata)
    header["leaf_directory_length"] = len(leaves)
    header["tile_data_offset"] = header["leaf_directory_offset"] + len(leaves)
    header["tile_data_length"] = len(tile_data)
    path.write_bytes(serialize_header(header) + root + metadata + leaves + tile_data)
    return path


def sqlite_file(path: Path, *statements: str) -> Path:
    connection = sqlite3.connect(path)
    for statement in statements:
        connection.execute(statement)
    connection.commit()
    connection.close()
    return path


def counted_writes(monkeypatch) -> list[int]:
    """The sizes of the tile files extraction writes (hard links write nothing)."""
    from geoloc_core.case.maps import basemap as module

    sizes: list[int] = []
    write_new = getattr(module, "_write_new", None)

    def counting(target, data):
        sizes.append(len(data))
        return write_new(target, data)

    monkeypatch.setattr(module, "_write_new", counting, raising=False)
    return sizes


def test_a_run_length_bomb_is_inflated_once_and_linked(tmp_path):
    """The reproduced 16.6 KB file: one gzip tile inflating to 16 MiB, addressed by a run of 64 tiles, wrote
    1 GiB. Here a run of 16 (the current code writes 256 MiB): the tile is inflated and written once, within
    the per-tile budget, and the other 15 addresses are hard links to it."""
    from pmtiles.tile import zxy_to_tileid

    bomb = gzip.compress(bytes(16 * MiB))
    source = raw_pmtiles(tmp_path / "rle.pmtiles", [(zxy_to_tileid(2, 0, 0), 0, len(bomb), 16)], bomb)
    assert source.stat().st_size < 40_000
    basemap = extract_basemap(source, tmp_path / "static")
    assert (basemap.tiles, basemap.min_zoom, basemap.max_zoom) == (16, 2, 2)
    assert disk_bytes(tmp_path / "static") < 17 * MiB
    assert (basemap.folder / "2" / "3" / "3.mvt").stat().st_nlink == 16


@pytest.mark.parametrize("kind", ["inflating", "overlapping"])
def test_tiles_beyond_the_byte_budget_are_refused_and_removed(tmp_path, monkeypatch, kind):
    """Distinct tiles that each fit the per-tile budget but together write far more than the file holds:
    8 gzip bombs of 16 MiB each (130 KB on disk), or 256 raster entries reading overlapping 1 MiB windows
    of one 1 MiB region. The current code writes 128 / 256 MiB; now extraction stops at the byte budget
    (8 bytes per byte of the file, plus 64 MiB), says so in one sentence and leaves nothing behind."""
    from geoloc_core.case.maps import basemap as module
    from pmtiles.tile import zxy_to_tileid

    if kind == "inflating":
        bombs = [gzip.compress(bytes([i + 1]) + bytes(16 * MiB - 1)) for i in range(8)]
        offsets = [sum(len(b) for b in bombs[:i]) for i in range(8)]
        source = raw_pmtiles(tmp_path / "bombs.pmtiles", [(zxy_to_tileid(2, 0, 0) + i, offsets[i], len(bombs[i]), 1)
                                                          for i in range(8)], b"".join(bombs))
    else:
        region = os.urandom(MiB + 256)
        source = raw_pmtiles(tmp_path / "overlap.pmtiles", [(zxy_to_tileid(4, 0, 0) + i, i, MiB, 1)
                                                            for i in range(256)], region, vector=False)
    sizes = counted_writes(monkeypatch)
    with pytest.raises(BasemapError, match="would write more than") as refused:
        extract_basemap(source, tmp_path / "static")
    allowed = module.BYTES_PER_FILE_BYTE * source.stat().st_size + module.BYTES_SLACK
    assert 0 < sum(sizes) <= allowed
    assert disk_bytes(tmp_path / "static") < 64 * 1024  # the partial extraction is removed
    assert "\n" not in str(refused.value) and source.name in str(refused.value)


@pytest.mark.parametrize("part", ["metadata", "directory"])
def test_pmtiles_metadata_and_directories_inflate_within_a_budget(tmp_path, part):
    """protomaps' reader gunzips the metadata and every directory with ``gzip.decompress``, unbounded:
    64 KB on disk became 64 MiB in memory. Both are now inflated with a size limit."""
    bomb = gzip.compress(bytes(64 * MiB))
    tile = gzip.compress(vector_tile())
    if part == "metadata":
        source = raw_pmtiles(tmp_path / "m.pmtiles", [(0, 0, len(tile), 1)], tile, metadata=bomb)
    else:
        source = raw_pmtiles(tmp_path / "d.pmtiles", [(0, 0, len(bomb), 0)], tile, leaves=bomb)
    with pytest.raises(BasemapError, match=f"its {part} is larger than"):
        extract_basemap(source, tmp_path / "static")


def test_a_leaf_directory_is_read_once(tmp_path):
    """A root of 1,000 entries all pointing at one leaf (the current code walks it 1,000 times, writing its
    tiles again each time): refused at the second visit."""
    from pmtiles.tile import Entry, serialize_directory

    tile = gzip.compress(vector_tile())
    leaf = serialize_directory([Entry(0, 0, len(tile), 1)])
    source = raw_pmtiles(tmp_path / "loop.pmtiles", [(i, 0, len(leaf), 0) for i in range(1000)], tile, leaves=leaf)
    with pytest.raises(BasemapError, match="repeat"):
        extract_basemap(source, tmp_path / "static")


def test_a_lying_run_length_is_refused_without_walking_it(tmp_path):
    """A run of 2**40 tiles past zoom 24: the current code skips them one by one, for ever."""
    from pmtiles.tile import zxy_to_tileid

    tile = gzip.compress(vector_tile())
    source = raw_pmtiles(tmp_path / "run.pmtiles", [(zxy_to_tileid(25, 0, 0), 0, len(tile), 2 ** 40)], tile)
    with pytest.raises(BasemapError, match="more than 2,000,000 tiles"):
        extract_basemap(source, tmp_path / "static")


ZEROBLOB_ROWS = ("WITH RECURSIVE r(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM r WHERE n < 3) "
                 "SELECT 2 AS zoom_level, n AS tile_column, 0 AS tile_row, zeroblob(50000000) AS tile_data FROM r")
HOSTILE_MBTILES = {
    # the reproduced 8 KB file: `tiles` a view computing 50 MB rows (4 here: 200 MB with the current code)
    "tiles view": ["CREATE TABLE metadata (name TEXT, value TEXT)", "INSERT INTO metadata VALUES ('format', 'png')",
                   f"CREATE VIEW tiles AS {ZEROBLOB_ROWS}"],
    # an endless recursive `metadata` view: fetchall() ran to MemoryError, uncaught, on every map
    "metadata view": ["CREATE VIEW metadata AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
                      "SELECT 'key' || n AS name, printf('%.500c', 'v') AS value FROM r",
                      "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)"],
    # a real table whose tile_data is computed when read (3 rows: 150 MB with the current code)
    "generated column": ["CREATE TABLE metadata (name TEXT, value TEXT)",
                         "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
                         "tile_data BLOB GENERATED ALWAYS AS (zeroblob(50000000)) VIRTUAL)",
                         "INSERT INTO tiles (zoom_level, tile_column, tile_row) "
                         "VALUES (2, 0, 0), (2, 1, 0), (2, 2, 0)"],
    "trigger": ["CREATE TABLE metadata (name TEXT, value TEXT)",
                "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)",
                "INSERT INTO tiles VALUES (0, 0, 0, x'89504e47')",
                "CREATE TRIGGER grow AFTER INSERT ON metadata BEGIN INSERT INTO metadata SELECT * FROM metadata; END"],
}
REFUSALS = {"tiles view": "its tiles are a view", "metadata view": "its metadata is a view",
            "generated column": "computed when read", "trigger": "holds SQL triggers"}


@pytest.mark.parametrize("kind", list(HOSTILE_MBTILES))
def test_mbtiles_that_would_run_sql_are_refused_before_reading(tmp_path, kind):
    """Only plain tables are read, by geoloc's own queries: a view, a generated column or a trigger is
    SQL that came with the file, and is refused by looking at the schema, never run."""
    source = sqlite_file(tmp_path / "hostile.mbtiles", *HOSTILE_MBTILES[kind])
    assert source.stat().st_size < 16_384
    started = time.monotonic()
    with pytest.raises(BasemapError, match=REFUSALS[kind]):
        extract_basemap(source, tmp_path / "static")
    assert time.monotonic() - started < 30
    assert disk_bytes(tmp_path / "static") < 64 * 1024


def test_a_refusal_is_one_sentence_kept_for_that_file(tmp_path, monkeypatch):
    """Refused once, a basemap file is not read again on the next map or the next start of the app: the
    sentence is kept beside where its tiles would have gone (a changed file is a new digest: tried again)."""
    from geoloc_core.case.maps import basemap as module

    source = sqlite_file(tmp_path / "hostile.mbtiles", *HOSTILE_MBTILES["metadata view"])
    with pytest.raises(BasemapError) as first:
        extract_basemap(source, tmp_path / "static")

    def reopened(*args, **kwargs):
        raise AssertionError("the refused file was read again")

    monkeypatch.setattr(module.sqlite3, "connect", reopened)
    with pytest.raises(BasemapError) as again:
        extract_basemap(source, tmp_path / "static")
    assert str(again.value) == str(first.value) and "\n" not in str(first.value)


def test_an_unexpected_failure_is_one_cached_sentence_not_a_stack_trace(tmp_path, monkeypatch):
    from geoloc_core.case.maps import basemap as module

    def exhausted(*args, **kwargs):
        raise MemoryError()

    source = make_mbtiles(tmp_path / "m.mbtiles", max_zoom=0)
    monkeypatch.setattr(module, "_mbtiles", exhausted)
    with pytest.raises(BasemapError, match="m.mbtiles could not be prepared as a basemap \\(out of memory\\)"):
        extract_basemap(source, tmp_path / "static")
    monkeypatch.undo()
    with pytest.raises(BasemapError, match="out of memory"):  # kept: not retried on every map
        extract_basemap(source, tmp_path / "static")


@pytest.mark.parametrize("kind", ["mbtiles", "pmtiles"])
def test_extraction_has_a_time_budget(tmp_path, monkeypatch, kind):
    from geoloc_core.case.maps import basemap as module

    monkeypatch.setattr(module, "MAX_SECONDS", 0, raising=False)
    source = (make_mbtiles(tmp_path / "t.mbtiles", max_zoom=1) if kind == "mbtiles"
              else make_pmtiles(tmp_path / "t.pmtiles", max_zoom=1))
    with pytest.raises(BasemapError, match="took longer than"):
        extract_basemap(source, tmp_path / "static")
    assert disk_bytes(tmp_path / "static") < 64 * 1024


def test_deduplicated_mbtiles_are_read_from_their_tables_not_their_view(tmp_path):
    """MBTiles written by node-mbtiles / MapTiler keep each distinct image once (``images``) and address it
    from ``map``; their ``tiles`` is a view. geoloc reads the two tables with its own join (the view's SQL
    is never run), and repeated images become hard links."""
    blue, green = png_tile((0, 0, 200)), png_tile((0, 200, 0))
    source = sqlite_file(
        tmp_path / "dedup.mbtiles",
        "CREATE TABLE metadata (name TEXT, value TEXT)", "INSERT INTO metadata VALUES ('format', 'png')",
        "CREATE TABLE map (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_id TEXT)",
        "CREATE TABLE images (tile_data BLOB, tile_id TEXT)",
        f"INSERT INTO images VALUES (x'{blue.hex()}', 'blue'), (x'{green.hex()}', 'green')",
        "INSERT INTO map VALUES (0, 0, 0, 'green'), (1, 0, 0, 'blue'), (1, 0, 1, 'blue'), (1, 1, 0, 'blue'), "
        "(1, 1, 1, 'green')",
        "CREATE VIEW tiles AS SELECT map.zoom_level AS zoom_level, map.tile_column AS tile_column, map.tile_row AS "
        "tile_row, images.tile_data AS tile_data FROM map JOIN images ON images.tile_id = map.tile_id")
    basemap = extract_basemap(source, tmp_path / "static")
    assert (basemap.tiles, basemap.min_zoom, basemap.max_zoom) == (5, 0, 1)
    assert (basemap.folder / "1" / "0" / "1.png").read_bytes() == blue  # TMS row 0 -> XYZ y 1
    assert (basemap.folder / "1" / "0" / "1.png").stat().st_nlink == 3


def test_later_start_ups_read_the_manifest_not_the_file(tmp_path, monkeypatch):
    from geoloc_core.case.maps import basemap as module

    source = make_pmtiles(tmp_path / "city.pmtiles", max_zoom=1, vector=True)
    first = extract_basemap(source, tmp_path / "static")

    def walked(*args, **kwargs):
        raise AssertionError("an extracted basemap was walked again")

    monkeypatch.setattr(module, "_pmtiles", walked)
    assert extract_basemap(source, tmp_path / "static") == first


def test_a_full_disk_is_refused_but_not_kept(tmp_path, monkeypatch):
    """Extraction never leaves less than the reserve free; that refusal is this machine's, not the file's,
    so it is not kept: with space freed, the same file is extracted."""
    from geoloc_core.case.maps import basemap as module

    source = make_pmtiles(tmp_path / "city.pmtiles", max_zoom=1)
    monkeypatch.setattr(module, "FREE_SPACE_RESERVE", 2 ** 62, raising=False)
    with pytest.raises(BasemapError, match="does not fit on this disk"):
        extract_basemap(source, tmp_path / "static")
    assert disk_bytes(tmp_path / "static") == 0
    monkeypatch.undo()
    assert extract_basemap(source, tmp_path / "static").tiles == 5
