"""A basemap the organisation already has (MBTiles or PMTiles, raster or vector tiles), served by
geoloc itself so air-gapped workstations get streets and labels.

Why extraction into the app's static folder: Streamlit serves ``static/`` over the same origin as
the app (loopback only, no second port to open in a firewall, nothing fetched from elsewhere), but
it cannot run code per request. So the tiles are written once, content-addressed by the file's
path, size and mtime, as ``{z}/{x}/{y}.<ext>``; MBTiles stores rows bottom-up (TMS), Leaflet asks
top-down (XYZ), so the row is flipped. A PMTiles file is extracted too rather than served whole
for the browser's range requests: Streamlit's static route refuses files over 200 MB (a city's
basemap often is), and one path for both formats keeps one thing to test. PMTiles (v3: header,
Hilbert-ordered directories) is read with protomaps' own ``pmtiles`` package rather than a second
hand-written reader of the spec (benchmarks/bench_basemap.py measures it).

Vector tiles (Mapbox Vector Tile, "pbf"/"mvt") are stored decompressed as ``.mvt`` and served as
``application/vnd.mapbox-vector-tile`` (:data:`TILE_MEDIA_TYPES`, registered by the app); gzip is
an encoding of the stored bytes, not of the tile, and a static file server cannot declare it. They
are drawn in the browser by protomaps-leaflet (vendored from the npm registry, see
:mod:`geoloc_core.case.maps.vector_basemap`).
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import sqlite3
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

BASEMAP_ENV = "GEOLOC_BASEMAP"
RASTER_FORMATS = {"png": "png", "jpg": "jpg", "jpeg": "jpg", "webp": "webp"}
VECTOR_FORMATS = {"pbf", "mvt"}
# extension -> media type, for the static file server (mimetypes lacks .mvt on many systems)
TILE_MEDIA_TYPES = {".mvt": "application/vnd.mapbox-vector-tile", ".webp": "image/webp"}
MAX_TILE_BYTES = 16 * 1024 * 1024  # one decompressed vector tile; real ones are under 1 MB
MAX_TILES = 2_000_000  # a lying PMTiles run length must not write forever


class BasemapError(ValueError):
    """The configured basemap cannot be used; the message says why, for people."""


@dataclass(frozen=True)
class Basemap:
    folder: Path  # where the tiles were written
    url_suffix: str  # "basemap/<digest>/{z}/{x}/{y}.png", appended to the static URL prefix
    name: str
    attribution: str
    min_zoom: int
    max_zoom: int
    tiles: int
    kind: str = "raster"  # or "vector"
    vector_layers: tuple[str, ...] = field(default=())  # layer names of a vector basemap


def configured_basemap() -> str:
    return os.environ.get(BASEMAP_ENV, "").strip()


def _magic(path: Path) -> bytes:
    with path.open("rb") as stream:
        return stream.read(16)


def _gunzip(data: bytes, name: str) -> bytes:
    """A vector tile's bytes as stored (gzip or plain) -> plain protobuf, size-capped."""
    if not data.startswith(b"\x1f\x8b"):
        return data
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        plain = inflater.decompress(data, MAX_TILE_BYTES)
    except zlib.error:
        raise BasemapError(f"{name} holds a damaged gzip-compressed tile") from None
    if inflater.unconsumed_tail:
        raise BasemapError(f"{name} holds a tile larger than {MAX_TILE_BYTES // 2**20} MB when decompressed")
    return plain


def _layer_names(metadata_json: object) -> tuple[str, ...]:
    """``vector_layers[].id`` from the TileJSON-style metadata both formats carry (untrusted text)."""
    try:
        layers = json.loads(metadata_json) if isinstance(metadata_json, (str, bytes)) else metadata_json
        layers = layers.get("vector_layers", []) if isinstance(layers, dict) else []
        return tuple(str(layer["id"]) for layer in layers if isinstance(layer, dict) and "id" in layer)[:200]
    except (ValueError, TypeError):
        return ()


def _write_tiles(tiles: Iterator[tuple[int, int, int, bytes]], folder: Path, ext: str, name: str,
                 vector: bool) -> tuple[int, list[int]]:
    """Write XYZ tiles under ``folder`` unless a previous run completed; returns (count, zooms)."""
    done = folder / ".complete"
    count, zooms = 0, set()
    for z, x, y, data in tiles:
        if not (0 <= z <= 24 and 0 <= x < 2 ** z and 0 <= y < 2 ** z):
            continue
        count += 1
        if count > MAX_TILES:
            raise BasemapError(f"{name} addresses more than {MAX_TILES:,} tiles; geoloc serves smaller basemaps "
                               "(cut it to the area of interest, e.g. with `pmtiles extract`)")
        zooms.add(z)
        if done.exists():
            continue
        target = folder / str(z) / str(x) / f"{y}.{ext}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_gunzip(bytes(data), name) if vector else bytes(data))
    if not count:
        raise BasemapError(f"{name} holds no tiles")
    done.parent.mkdir(parents=True, exist_ok=True)
    done.touch()
    return count, sorted(zooms)


def _folder(path: Path, static_root: str | Path) -> tuple[Path, str]:
    stat = path.stat()
    digest = hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return Path(static_root) / "basemap" / digest, digest


def _mbtiles(path: Path, static_root: str | Path) -> Basemap:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        metadata = dict(connection.execute("SELECT name, value FROM metadata").fetchall())
    except sqlite3.Error as exc:
        raise BasemapError(f"{path.name} is not a readable MBTiles file ({exc})") from None
    fmt = str(metadata.get("format", "png")).lower()
    vector = fmt in VECTOR_FORMATS
    ext = "mvt" if vector else RASTER_FORMATS.get(fmt)
    if ext is None:
        connection.close()
        raise BasemapError(f"{path.name} holds tiles of format {fmt!r}; geoloc serves raster (png, jpg, webp) "
                           "and vector (pbf) tiles")
    folder, digest = _folder(path, static_root)

    def rows():
        for z, x, row, data in connection.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles"):
            z, x, row = int(z), int(x), int(row)
            yield z, x, (2 ** z - 1) - row, data  # TMS row -> XYZ y

    try:
        count, zooms = _write_tiles(rows(), folder, ext, path.name, vector)
    except sqlite3.Error as exc:
        raise BasemapError(f"{path.name} is not a readable MBTiles file ({exc})") from None
    finally:
        connection.close()
    return Basemap(folder, f"basemap/{digest}/{{z}}/{{x}}/{{y}}.{ext}", str(metadata.get("name") or path.stem),
                   str(metadata.get("attribution") or path.name), zooms[0], zooms[-1], count,
                   "vector" if vector else "raster", _layer_names(metadata.get("json")) if vector else ())


def _pmtiles(path: Path, static_root: str | Path) -> Basemap:
    from pmtiles.reader import MmapSource, Reader, all_tiles
    from pmtiles.tile import Compression, TileType

    extensions = {TileType.PNG: "png", TileType.JPEG: "jpg", TileType.WEBP: "webp", TileType.MVT: "mvt"}
    folder, digest = _folder(path, static_root)
    try:
        with path.open("rb") as stream:
            source = MmapSource(stream)
            reader = Reader(source)
            header = reader.header()
            ext = extensions.get(header["tile_type"])
            if ext is None:
                raise BasemapError(f"{path.name} holds {header['tile_type'].name} tiles; geoloc serves PNG, JPEG, "
                                   "WebP and MVT (vector) tiles")
            if header["tile_compression"] not in (Compression.NONE, Compression.GZIP, Compression.UNKNOWN):
                raise BasemapError(f"{path.name} stores its tiles {header['tile_compression'].name}-compressed; "
                                   "geoloc reads gzip or uncompressed tiles (re-encode with `pmtiles convert`)")
            metadata = reader.metadata()
            vector = ext == "mvt"
            count, zooms = _write_tiles(((z, x, y, data) for (z, x, y), data in all_tiles(source)),
                                        folder, ext, path.name, vector)
    except BasemapError:
        raise
    except Exception as exc:  # noqa: BLE001  (any damage in a file we did not write)
        reason = "its directories nest too deep" if isinstance(exc, RecursionError) else "damaged header or directory"
        raise BasemapError(f"{path.name} is not a readable PMTiles v3 file ({reason})") from None
    metadata = metadata if isinstance(metadata, dict) else {}
    return Basemap(folder, f"basemap/{digest}/{{z}}/{{x}}/{{y}}.{ext}", str(metadata.get("name") or path.stem),
                   str(metadata.get("attribution") or path.name), zooms[0], zooms[-1], count,
                   "vector" if vector else "raster", _layer_names(metadata) if vector else ())


def extract_basemap(path: str | Path, static_root: str | Path) -> Basemap:
    """Write the tiles of ``path`` (MBTiles or PMTiles) under ``static_root/basemap/<digest>/`` (once)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise BasemapError(f"basemap file not found: {path}")
    head = _magic(path)
    if head.startswith(b"PMTiles"):
        if head[7:8] != b"\x03":
            raise BasemapError(f"{path.name} is a PMTiles version {head[7]} file; geoloc reads version 3 "
                               "(upgrade it with `pmtiles convert`)")
        return _pmtiles(path, static_root)
    if head.startswith(b"SQLite format 3"):
        return _mbtiles(path, static_root)
    raise BasemapError(f"{path.name} is neither an MBTiles file (an SQLite database) nor a PMTiles file")


extract_mbtiles = extract_basemap  # the name the first (MBTiles-only) version had


def add_basemap(fmap, basemap: Basemap, url_prefix: str, vendor_url_prefix: str = ""):
    """Put the local tiles under the map, and make the offline country fill transparent so they show.
    Vector tiles are drawn by protomaps-leaflet, loaded from ``vendor_url_prefix``."""
    import html

    import folium

    for child in list(fmap._children.values()):
        if isinstance(child, folium.GeoJson) and child.layer_name.startswith("Countries"):
            child.style_function = lambda _: {"fillOpacity": 0.0, "color": "#9a9a9a", "weight": 0.6}
    if basemap.kind == "vector":
        from .vector_basemap import VectorBasemap

        VectorBasemap(url_prefix + basemap.url_suffix, basemap, vendor_url_prefix).add_to(fmap)
        return fmap
    layer = folium.TileLayer(tiles=url_prefix + basemap.url_suffix, attr=html.escape(basemap.attribution),
                             # Leaflet's layer control shows names as HTML
                             name=html.escape(f"{basemap.name} (local basemap)"), min_zoom=0, max_native_zoom=basemap.max_zoom,
                             max_zoom=19, overlay=False)
    layer.add_to(fmap)
    return fmap
