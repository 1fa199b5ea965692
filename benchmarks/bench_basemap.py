"""Local basemap extraction: python -m benchmarks.bench_basemap [--max-zoom 7] [--no-hostile]

Generates an MBTiles and a PMTiles file holding the same distinct tiles (every tile of zooms
0..max-zoom; raster-sized payloads, and gzip-compressed vector payloads), then times what the app
does once per basemap file: extract every tile into static/ (``extract_basemap``), and the start-up
after that (tiles already written: only the manifest is read). PMTiles headers are decoded with
protomaps' ``pmtiles`` package, its directories by geoloc's bounded walk; MBTiles with sqlite3.

Then the hostile files of issue #31 at their reproduced sizes: bytes they make geoloc write and how
long until the basemap is served or refused (before the budgets: 1 GiB in 18 s, 2 GB in 25 s, and
MemoryError).
"""
from __future__ import annotations

import argparse
import gzip
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from benchmarks.machine import print_table
from geoloc_core.case.maps.basemap import extract_basemap


def _payloads(max_zoom: int, vector: bool):
    for z in range(max_zoom + 1):
        for x in range(2 ** z):
            for y in range(2 ** z):
                data = os.urandom(64) + f"{z}/{x}/{y}".encode() * 40
                yield z, x, y, (gzip.compress(data) if vector else data)


def make_files(folder: Path, max_zoom: int, vector: bool) -> tuple[Path, Path]:
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import write

    tiles = list(_payloads(max_zoom, vector))
    mbtiles = folder / f"b{'v' if vector else 'r'}.mbtiles"
    connection = sqlite3.connect(mbtiles)
    connection.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    connection.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
    connection.executemany("INSERT INTO metadata VALUES (?, ?)", [("name", "bench"), ("format", "pbf" if vector else
                                                                                      "png")])
    connection.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)", ((z, x, 2 ** z - 1 - y, d) for z, x, y, d in tiles))
    connection.commit()
    connection.close()
    pmtiles = folder / f"b{'v' if vector else 'r'}.pmtiles"
    with write(str(pmtiles)) as writer:
        for tile_id, data in sorted((zxy_to_tileid(z, x, y), d) for z, x, y, d in tiles):
            writer.write_tile(tile_id, data)
        writer.finalize({"tile_type": TileType.MVT if vector else TileType.PNG,
                         "tile_compression": Compression.GZIP if vector else Compression.NONE,
                         "min_lon_e7": -1800000000, "min_lat_e7": -850000000, "max_lon_e7": 1800000000,
                         "max_lat_e7": 850000000, "center_zoom": 0, "center_lon_e7": 0, "center_lat_e7": 0},
                        {"name": "bench"})
    return mbtiles, pmtiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-zoom", type=int, default=7)
    parser.add_argument("--no-hostile", action="store_true", help="skip the hostile files")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for vector in (False, True):
            for path in make_files(folder, args.max_zoom, vector):
                static = folder / "static"
                started = time.perf_counter()
                basemap = extract_basemap(path, static)
                first = time.perf_counter() - started
                started = time.perf_counter()
                extract_basemap(path, static)
                again = time.perf_counter() - started
                kind = f"{path.suffix[1:]} {'vector (gzip)' if vector else 'raster'}"
                rows.append((f"{kind}: {basemap.tiles:,} tiles, first extraction", f"{first:.2f} s "
                             f"({basemap.tiles / first:,.0f} tiles/s)"))
                rows.append((f"{kind}: later start-ups (already extracted)", f"{again:.2f} s"))
                shutil.rmtree(static)
    print_table(f"Local basemap extraction (zooms 0..{args.max_zoom})", rows)
    if not args.no_hostile:
        print_table("Hostile basemap files (issue #31)", hostile_rows())


def hostile_rows() -> list[tuple[str, str]]:
    from pmtiles.tile import zxy_to_tileid

    from geoloc_core.case.maps.basemap import BasemapError
    from tests.test_basemap import HOSTILE_MBTILES, disk_bytes, raw_pmtiles, sqlite_file

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bomb = gzip.compress(bytes(16 * 2 ** 20))
        files = {"PMTiles: one 16 MiB gzip tile, run length 64": raw_pmtiles(
                     folder / "rle.pmtiles", [(zxy_to_tileid(3, 0, 0), 0, len(bomb), 64)], bomb),
                 "MBTiles: tiles a view over zeroblob(50 MB) rows": sqlite_file(
                     folder / "view.mbtiles", *HOSTILE_MBTILES["tiles view"]),
                 "MBTiles: endless recursive metadata view": sqlite_file(
                     folder / "meta.mbtiles", *HOSTILE_MBTILES["metadata view"])}
        for label, path in files.items():
            static = folder / "static"
            started = time.perf_counter()
            try:
                outcome = f"served, {extract_basemap(path, static).tiles} tiles"
            except BasemapError:
                outcome = "refused"
            seconds = time.perf_counter() - started
            rows.append((f"{label} ({path.stat().st_size / 1024:,.1f} KB)", f"{outcome}, "
                         f"{disk_bytes(static) / 2 ** 20:,.1f} MiB written, {seconds:.2f} s"))
            shutil.rmtree(static, ignore_errors=True)
    return rows


if __name__ == "__main__":
    main()
