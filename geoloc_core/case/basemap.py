"""A basemap the organisation already has (an MBTiles file of raster tiles), served by geoloc
itself so air-gapped workstations get streets and labels.

Why extraction into the app's static folder: Streamlit serves ``static/`` over the same origin as
the app (no second port to open in a firewall, nothing fetched from elsewhere), but it cannot run
code per request. So the tiles are written once, content-addressed by the file's size and mtime,
as ``{z}/{x}/{y}.<ext>``; MBTiles stores rows bottom-up (TMS), Leaflet asks top-down (XYZ), so the
row is flipped. Vector tiles and PMTiles need a vector renderer in the browser that geoloc does
not ship: they are refused with that reason instead of showing a blank map.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

BASEMAP_ENV = "GEOLOC_BASEMAP"
RASTER_FORMATS = {"png": "png", "jpg": "jpg", "jpeg": "jpg", "webp": "webp"}


class BasemapError(ValueError):
    """The configured basemap cannot be used; the message says why, for people."""


@dataclass(frozen=True)
class Basemap:
    folder: Path  # where the tiles were written
    url_suffix: str  # "<digest>/{z}/{x}/{y}.png", appended to the static URL prefix
    name: str
    attribution: str
    min_zoom: int
    max_zoom: int
    tiles: int


def configured_basemap() -> str:
    return os.environ.get(BASEMAP_ENV, "").strip()


def _magic(path: Path) -> bytes:
    with path.open("rb") as stream:
        return stream.read(16)


def extract_mbtiles(path: str | Path, static_root: str | Path) -> Basemap:
    """Write the raster tiles of ``path`` under ``static_root/basemap/<digest>/`` (once)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise BasemapError(f"basemap file not found: {path}")
    head = _magic(path)
    if head.startswith(b"PMTiles"):
        raise BasemapError("PMTiles basemaps need a vector/PMTiles renderer that geoloc does not ship; convert it "
                           "to raster MBTiles (e.g. with `pmtiles convert` and a raster renderer)")
    if not head.startswith(b"SQLite format 3"):
        raise BasemapError(f"{path.name} is not an MBTiles file (an SQLite database)")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        metadata = dict(connection.execute("SELECT name, value FROM metadata").fetchall())
    except sqlite3.Error as exc:
        raise BasemapError(f"{path.name} is not a readable MBTiles file ({exc})") from None
    fmt = RASTER_FORMATS.get(str(metadata.get("format", "png")).lower())
    if fmt is None:
        connection.close()
        raise BasemapError(f"{path.name} holds {metadata.get('format')} tiles (vector); geoloc shows raster tiles "
                           "(png, jpg, webp) only")
    stat = path.stat()
    digest = hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    folder = Path(static_root) / "basemap" / digest
    done = folder / ".complete"
    count = 0
    zooms = []
    try:
        for z, x, row, data in connection.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles"):
            z, x, row = int(z), int(x), int(row)
            if not (0 <= z <= 24 and 0 <= x < 2 ** z and 0 <= row < 2 ** z):
                continue
            zooms.append(z)
            count += 1
            if done.exists():
                continue
            target = folder / str(z) / str(x) / f"{(2 ** z - 1) - row}.{fmt}"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    finally:
        connection.close()
    if not count:
        raise BasemapError(f"{path.name} holds no tiles")
    done.parent.mkdir(parents=True, exist_ok=True)
    done.touch()
    return Basemap(folder, f"basemap/{digest}/{{z}}/{{x}}/{{y}}.{fmt}", str(metadata.get("name") or path.stem),
                   str(metadata.get("attribution") or path.name), min(zooms), max(zooms), count)


def add_basemap(fmap, basemap: Basemap, url_prefix: str):
    """Put the local tiles under the map, and make the offline country fill transparent so they show."""
    import html

    import folium

    for child in list(fmap._children.values()):
        if isinstance(child, folium.GeoJson) and child.layer_name.startswith("Countries"):
            child.style_function = lambda _: {"fillOpacity": 0.0, "color": "#9a9a9a", "weight": 0.6}
    layer = folium.TileLayer(tiles=url_prefix + basemap.url_suffix, attr=html.escape(basemap.attribution),
                             name=f"{basemap.name} (local basemap)", min_zoom=0, max_native_zoom=basemap.max_zoom,
                             max_zoom=19, overlay=False)
    layer.add_to(fmap)
    return fmap
