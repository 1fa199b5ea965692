"""A basemap the organisation already has (MBTiles or PMTiles, raster or vector tiles), served by
geoloc itself so air-gapped workstations get streets and labels.

Why extraction into the app's static folder: Streamlit serves ``static/`` over the same origin as
the app (loopback only, no second port to open in a firewall, nothing fetched from elsewhere), but
it cannot run code per request, so tiles cannot be served lazily out of the file without a second
server. So the tiles are written once, content-addressed by the file's path, size and mtime, as
``{z}/{x}/{y}.<ext>``; MBTiles stores rows bottom-up (TMS), Leaflet asks top-down (XYZ), so the row
is flipped. A PMTiles file is extracted too rather than served whole for the browser's range
requests: Streamlit's static route refuses files over 200 MB (a city's basemap often is), and one
path for both formats keeps one thing to test. Tiles a file stores once and addresses many times
(PMTiles run lengths and shared offsets, identical MBTiles blobs: the sea, a forest) are written once
and hard-linked. A finished extraction leaves a manifest (``.complete``), so later start-ups read
that instead of the file.

Vector tiles (Mapbox Vector Tile, "pbf"/"mvt") are stored decompressed as ``.mvt`` and served as
``application/vnd.mapbox-vector-tile`` (:data:`TILE_MEDIA_TYPES`, registered by the app); gzip is
an encoding of the stored bytes, not of the tile, and a static file server cannot declare it. They
are drawn in the browser by protomaps-leaflet (vendored from the npm registry, see
:mod:`geoloc_core.case.maps.vector_basemap`).

A basemap file is hostile input (issue #31): a 16.6 KB PMTiles whose one gzip tile inflated to
16 MiB, addressed 64 times, wrote 1 GiB; an 8 KB MBTiles whose ``tiles`` was a view over
``zeroblob(50 MB)`` wrote 2 GB; a recursive ``metadata`` view ran to MemoryError on every map.
So everything a file can make geoloc do has a budget, per basemap:

- **Per tile** (:data:`MAX_TILE_BYTES`, 16 MiB, as stored and after decompression): a 512 px RGBA
  tile is 1 MiB raw; the densest real vector tiles (planet z14-15) are a few MB inflated.
- **Bytes written** (:data:`BYTES_PER_FILE_BYTE` times the file's size plus :data:`BYTES_SLACK`: 8x
  plus 64 MiB): a raster basemap writes at most its own size (each distinct tile once, repeats
  linked); gzip-compressed vector tiles inflate 2-4x. A country's raster tiles to zoom 14, several
  GB on disk, fit; a 16 KB bomb gets 64 MiB. And never below :data:`FREE_SPACE_RESERVE` (2 GiB)
  free on the disk (counted in 4 KiB blocks): that refusal is not kept, freeing space retries.
- **Tiles** (:data:`MAX_TILES`, 2,000,000 addressed, each a file or a link): a large country to
  zoom 14 is 0.3-1 million; a lying run length is refused from its number, never walked.
- **Time** (:data:`MAX_SECONDS`, 60 minutes): measured here (benchmarks/bench_basemap.py, a slow
  shared disk) at 550-7,000 tiles/s, so 2 million tiles take 5-60 minutes; SQLite queries are
  interrupted at the deadline too (a progress handler), not only between tiles.
- **Memory**: rows are streamed, never ``fetchall``; SQLite refuses any value over the tile budget
  (``SQLITE_LIMIT_LENGTH``); metadata is read up to :data:`MAX_METADATA_BYTES` (8 MiB, a large
  tippecanoe tilestats document is under 1 MB); a PMTiles directory is inflated up to
  :data:`MAX_DIRECTORY_BYTES` (4 MiB: about 600,000 entries; a planet's leaves hold ~100,000),
  all of them up to :data:`MAX_DIRECTORY_TOTAL` (64 MiB; 2 million tiles need under 20 MB), nested
  at most :data:`MAX_DIRECTORY_DEPTH` deep, at most :data:`MAX_LEAVES` leaves, each read once, and
  parsed into 8-byte arrays, not objects; the table of repeated tiles remembers at most
  :data:`DEDUP_ENTRIES` of them.

MBTiles are opened read-only with ``PRAGMA query_only`` and ``trusted_schema=OFF``, and only plain
tables are read, by geoloc's own queries: a ``tiles``/``metadata`` that is a view, a virtual table
or has a column computed when read, and any trigger, is refused from ``sqlite_master`` without being
run. (A ``tiles`` view beside ``map`` and ``images`` tables, the deduplicated layout node-mbtiles and
MapTiler write, is read by joining those tables; the view's own SQL is not run.) PMTiles v3 headers
and tile ids are decoded with protomaps' ``pmtiles`` package, but its directory walk and metadata
reader are not used: they ``gzip.decompress`` without a limit and recurse without bounds.

A refusal is one sentence (:class:`BasemapError`), for any failure, never a stack trace; it is kept
in the basemap's folder (``.refused``), so a refused file is not read again on the next map nor the
next start (a changed file has a new digest and is tried again). A refused extraction removes
what it wrote.
"""
from __future__ import annotations

import errno
import hashlib
import json
import mmap
import os
import shutil
import sqlite3
import time
import zlib
from array import array
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

BASEMAP_ENV = "GEOLOC_BASEMAP"
RASTER_FORMATS = {"png": "png", "jpg": "jpg", "jpeg": "jpg", "webp": "webp"}
VECTOR_FORMATS = {"pbf", "mvt"}
# extension -> media type, for the static file server (mimetypes lacks .mvt on many systems)
TILE_MEDIA_TYPES = {".mvt": "application/vnd.mapbox-vector-tile", ".webp": "image/webp"}

# Budgets per basemap; the module docstring says why these numbers.
MAX_TILE_BYTES = 16 * 2 ** 20  # one tile, as stored and decompressed
MAX_TILES = 2_000_000  # tiles addressed (files and hard links)
BYTES_PER_FILE_BYTE = 8  # tile bytes written per byte of the basemap file ...
BYTES_SLACK = 64 * 2 ** 20  # ... plus this
FREE_SPACE_RESERVE = 2 * 2 ** 30  # extraction never leaves less free on the static folder's disk
MAX_SECONDS = 60 * 60
MAX_METADATA_BYTES = 8 * 2 ** 20  # PMTiles metadata JSON inflated; one MBTiles metadata value
MAX_METADATA_ROWS = 1_000
MAX_SCHEMA_ROWS = 10_000  # sqlite_master rows looked at
MAX_DIRECTORY_BYTES = 4 * 2 ** 20  # one PMTiles directory inflated
MAX_DIRECTORY_TOTAL = 64 * 2 ** 20  # all PMTiles directories of one file, inflated
MAX_DIRECTORY_DEPTH = 3  # leaf levels below the PMTiles root (protomaps' reader reads 3)
MAX_LEAVES = 100_000  # PMTiles leaf directories (go-pmtiles writes one per 4,096+ entries)
DEDUP_ENTRIES = 200_000  # repeated tiles remembered for hard links
MAX_TEXT_CHARS = 4_000  # a basemap's name or attribution
BLOCK = 4096  # disk space is counted in file-system blocks

MANIFEST = ".complete"
REFUSED = ".refused"


class BasemapError(ValueError):
    """The configured basemap cannot be used; the message says why, for people, in one sentence.
    ``lasting`` is False where the reason is this machine's, not the file's (disk full): not kept."""

    def __init__(self, message: str, lasting: bool = True):
        super().__init__(message)
        self.lasting = lasting


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


def _mb(size: int) -> str:
    return f"{size / 2 ** 20:,.0f} MB"


def _inflate(data: bytes, limit: int, name: str, what: str) -> bytes:
    """gzip-compressed ``data`` -> its bytes, refused past ``limit`` (never inflated further)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        plain = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise BasemapError(f"{name} holds a damaged gzip-compressed {what}") from None
    if len(plain) > limit:
        raise BasemapError(f"{name} holds a {what} larger than {_mb(limit)} when decompressed" if what == "tile"
                           else f"{name} cannot be used: its {what} is larger than {_mb(limit)} when decompressed")
    if not inflater.eof:
        raise BasemapError(f"{name} holds a damaged gzip-compressed {what} (cut short)")
    return plain


def _gunzip(data: bytes, name: str) -> bytes:
    """A vector tile's bytes as stored (gzip or plain) -> plain protobuf, size-capped."""
    return _inflate(data, MAX_TILE_BYTES, name, "tile") if data.startswith(b"\x1f\x8b") else data


def _layer_names(metadata_json: object) -> tuple[str, ...]:
    """``vector_layers[].id`` from the TileJSON-style metadata both formats carry (untrusted text)."""
    try:
        layers = json.loads(metadata_json) if isinstance(metadata_json, (str, bytes)) else metadata_json
        layers = layers.get("vector_layers", []) if isinstance(layers, dict) else []
        return tuple(str(layer["id"])[:MAX_TEXT_CHARS] for layer in layers[:200]
                     if isinstance(layer, dict) and "id" in layer)
    except (ValueError, TypeError, RecursionError):
        return ()


class _Budget:
    """What one basemap may still cost: bytes written, disk space, tiles addressed and time."""

    def __init__(self, path: Path, folder: Path):
        self.name = path.name
        self.bytes_left = BYTES_PER_FILE_BYTE * path.stat().st_size + BYTES_SLACK
        self.bytes_allowed = self.bytes_left
        existing = folder
        while not existing.exists():
            existing = existing.parent
        self.disk_left = shutil.disk_usage(existing).free - FREE_SPACE_RESERVE
        self.tiles = 0
        self.deadline = time.monotonic() + MAX_SECONDS

    def expired(self) -> bool:
        return time.monotonic() > self.deadline

    def out_of_time(self) -> BasemapError:
        return BasemapError(f"{self.name} took longer than {MAX_SECONDS / 60:,.0f} minutes to prepare; geoloc serves "
                            "smaller basemaps (cut it to the area of interest, e.g. with `pmtiles extract`)")

    def tick(self) -> None:
        if self.expired():
            raise self.out_of_time()

    def address(self, tiles: int) -> None:
        """Count ``tiles`` more addressed tiles (before any is read): a lying run length stops here."""
        self.tiles += tiles
        if self.tiles > MAX_TILES:
            raise BasemapError(f"{self.name} addresses more than {MAX_TILES:,} tiles; geoloc serves smaller basemaps "
                               "(cut it to the area of interest, e.g. with `pmtiles extract`)")

    def charge(self, size: int) -> None:
        """Count one new tile file of ``size`` bytes, before it is written."""
        self.bytes_left -= size
        if self.bytes_left < 0:
            raise BasemapError(f"{self.name} would write more than {_mb(self.bytes_allowed)} of tiles "
                               f"({BYTES_PER_FILE_BYTE} times its own size plus {_mb(BYTES_SLACK)}); a real basemap "
                               "unpacks to a few times its size, so geoloc does not use this one")
        self.disk_left -= -(-max(size, 1) // BLOCK) * BLOCK
        if self.disk_left < 0:
            raise BasemapError(f"{self.name} does not fit on this disk: extracting it would leave less than "
                               f"{FREE_SPACE_RESERVE / 2 ** 30:,.0f} GB free (free space, or cut the basemap to the "
                               "area of interest)", lasting=False)


def _write_new(target: str, data: bytes) -> bool:
    """A new file; False where ``target`` exists already (the file addressed one tile twice: the first
    stays). An existing file is never written through: it may be a hard link shared with other tiles."""
    try:
        with open(target, "xb") as stream:
            stream.write(data)
        return True
    except FileExistsError:
        return False


def _link(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except FileExistsError:
        pass  # the same tile addressed twice: the first stays


def _write_tiles(tiles: Iterator[tuple[int, int, int, object, bytes]], folder: Path, ext: str, name: str,
                 vector: bool, budget: _Budget) -> tuple[int, list[int]]:
    """Write XYZ tiles ``(z, x, y, key, stored bytes)`` under ``folder``; returns (count, zooms). Tiles with
    the same ``key`` hold the same bytes: written once, then hard-linked."""
    count, zooms, made = 0, set(), set()
    written: dict[object, str] = {}  # key -> the file holding its bytes
    repeated: set[object] = set()  # keys met more than once: kept when ``written`` is pruned
    for z, x, y, key, data in tiles:
        budget.tick()
        if not (0 <= z <= 24 and 0 <= x < 2 ** z and 0 <= y < 2 ** z):
            continue
        count += 1
        zooms.add(z)
        directory = os.path.join(folder, str(z), str(x))
        if (z, x) not in made:
            os.makedirs(directory, exist_ok=True)
            made.add((z, x))
            if len(made) > DEDUP_ENTRIES:
                made = {(z, x)}
        target = os.path.join(directory, f"{y}.{ext}")
        source = written.get(key)
        if source is not None:
            repeated.add(key)
            try:
                _link(source, target)
                continue
            except OSError as exc:  # too many links to one file (ext4: 65,000), or no links here
                if exc.errno not in (errno.EMLINK, errno.EPERM, errno.ENOTSUP, errno.EXDEV):
                    raise
        plain = _gunzip(bytes(data), name) if vector else bytes(data)
        budget.charge(len(plain))
        if not _write_new(target, plain):
            continue
        if len(written) >= DEDUP_ENTRIES:
            written = {k: v for k, v in written.items() if k in repeated}
            repeated = set(written)
            if len(written) >= DEDUP_ENTRIES:
                written, repeated = {}, set()
        written[key] = target
    if not count:
        raise BasemapError(f"{name} holds no tiles")
    return count, sorted(zooms)


def _folder(path: Path, static_root: str | Path) -> tuple[Path, str]:
    stat = path.stat()
    digest = hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return Path(static_root) / "basemap" / digest, digest


def _text(value: object, fallback: str) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return (str(value) if value not in (None, "") else fallback)[:MAX_TEXT_CHARS]


def _basemap(folder: Path, digest: str, ext: str, metadata: dict, fallback_name: str, count: int, zooms: list[int],
             vector: bool, layers: tuple[str, ...]) -> Basemap:
    return Basemap(folder, f"basemap/{digest}/{{z}}/{{x}}/{{y}}.{ext}", _text(metadata.get("name"), fallback_name),
                   _text(metadata.get("attribution"), fallback_name), zooms[0], zooms[-1], count,
                   "vector" if vector else "raster", layers if vector else ())


# --- MBTiles -----------------------------------------------------------------------------------------

TILES_COLUMNS = {"zoom_level", "tile_column", "tile_row", "tile_data"}
TRANSIENT = {sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR,
             sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH}


def _plain_columns(connection: sqlite3.Connection, table: str, name: str, needed: set[str]) -> None:
    """``table`` must be a table whose ``needed`` columns are stored, not computed when read."""
    columns = {str(row[1]).lower(): row[6] for row in connection.execute(f"PRAGMA table_xinfo({table})")}
    missing = needed - set(columns)
    if missing:
        raise BasemapError(f"{name} is not an MBTiles file: its {table} table lacks {', '.join(sorted(missing))}")
    if any(hidden for hidden in columns.values()):
        raise BasemapError(f"{name} cannot be used: its {table} table has columns computed when read "
                           "(geoloc reads only plain tables from a basemap file)")


def _mbtiles_schema(connection: sqlite3.Connection, name: str) -> str:
    """Which tables to read: "tiles", or "map/images" (the deduplicated layout). Refuses SQL from the file."""
    kinds: dict[str, tuple[str, str]] = {}
    for number, (kind, object_name, sql) in enumerate(connection.execute("SELECT type, name, sql FROM sqlite_master")):
        if number >= MAX_SCHEMA_ROWS:
            raise BasemapError(f"{name} is not a plain MBTiles file (more than {MAX_SCHEMA_ROWS:,} tables, views "
                               "and indexes)")
        if kind == "trigger":
            raise BasemapError(f"{name} holds SQL triggers; geoloc reads only plain tables from a basemap file")
        kinds.setdefault(str(object_name).lower(), (str(kind), str(sql or "")))

    def plain_table(table: str) -> bool:
        kind, sql = kinds.get(table, ("", ""))
        if kind == "table" and sql.lstrip().upper().startswith("CREATE VIRTUAL"):
            raise BasemapError(f"{name} cannot be used: its {table} is a virtual table (geoloc reads only plain "
                               "tables from a basemap file)")
        return kind == "table"

    for table in ("metadata", "tiles"):
        kind = kinds.get(table, ("", ""))[0]
        if kind == "view" and not (table == "tiles" and plain_table("map") and plain_table("images")):
            raise BasemapError(f"{name} cannot be used: its {table} {'are' if table == 'tiles' else 'is'} a view, SQL "
                               "that geoloc does not run (it reads only plain tables from a basemap file)")
    if not plain_table("metadata"):
        raise BasemapError(f"{name} is not an MBTiles file (it has no metadata table)")
    _plain_columns(connection, "metadata", name, {"name", "value"})
    if plain_table("tiles"):
        _plain_columns(connection, "tiles", name, TILES_COLUMNS)
        return "tiles"
    if kinds.get("tiles", ("", ""))[0] == "view":
        _plain_columns(connection, "map", name, {"zoom_level", "tile_column", "tile_row", "tile_id"})
        _plain_columns(connection, "images", name, {"tile_id", "tile_data"})
        return "map/images"
    raise BasemapError(f"{name} is not an MBTiles file (it has no tiles table)")


def _mbtiles_metadata(connection: sqlite3.Connection, name: str) -> dict[str, object]:
    metadata: dict[str, object] = {}
    rows = connection.execute("SELECT name, CASE WHEN length(value) <= ? THEN value END, length(value) > ? "
                              "FROM metadata LIMIT ?", (MAX_METADATA_BYTES, MAX_METADATA_BYTES, MAX_METADATA_ROWS))
    for key, value, oversized in rows:
        if oversized:
            raise BasemapError(f"{name} cannot be used: its metadata holds a value larger than "
                               f"{_mb(MAX_METADATA_BYTES)}")
        if isinstance(key, str):
            metadata.setdefault(key, value)
    return metadata


def _mbtiles(path: Path, folder: Path, digest: str, budget: _Budget) -> Basemap:
    name = path.name
    connection = None
    try:
        connection = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
        connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_TILE_BYTES + 2 ** 20)
        connection.set_progress_handler(lambda: 1 if budget.expired() else 0, 10_000)
        for pragma in ("query_only = ON", "trusted_schema = OFF", "cell_size_check = ON", "mmap_size = 0"):
            connection.execute(f"PRAGMA {pragma}")
        layout = _mbtiles_schema(connection, name)
        metadata = _mbtiles_metadata(connection, name)
        fmt = str(metadata.get("format") or "png").lower()
        vector = fmt in VECTOR_FORMATS
        ext = "mvt" if vector else RASTER_FORMATS.get(fmt)
        if ext is None:
            raise BasemapError(f"{name} holds tiles of format {fmt[:40]!r}; geoloc serves raster (png, jpg, webp) and "
                               "vector (pbf) tiles")
        query = ("SELECT zoom_level, tile_column, tile_row, CASE WHEN length(tile_data) <= :max THEN tile_data END, "
                 "length(tile_data) > :max FROM tiles" if layout == "tiles" else
                 "SELECT map.zoom_level, map.tile_column, map.tile_row, CASE WHEN length(images.tile_data) <= :max "
                 "THEN images.tile_data END, length(images.tile_data) > :max FROM map JOIN images "
                 "ON images.tile_id = map.tile_id")

        def rows():
            for z, x, row, data, oversized in connection.execute(query, {"max": MAX_TILE_BYTES}):  # streamed
                budget.address(1)
                if oversized:
                    raise BasemapError(f"{name} holds a tile larger than {_mb(MAX_TILE_BYTES)}")
                if type(z) is not int or type(x) is not int or type(row) is not int or not 0 <= z <= 24:
                    continue
                data = data if isinstance(data, bytes) else b"" if data is None else str(data).encode()
                key = hashlib.blake2b(data, digest_size=16).digest()  # identical blobs: one file, hard links
                yield z, x, (2 ** z - 1) - row, key, data  # TMS row -> XYZ y

        count, zooms = _write_tiles(rows(), folder, ext, name, vector, budget)
    except sqlite3.Error as exc:
        if budget.expired():
            raise budget.out_of_time() from None
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF  # this machine's reason, not the file's: not kept
        raise BasemapError(f"{name} is not a readable MBTiles file ({exc})", lasting=code not in TRANSIENT) from None
    finally:
        if connection is not None:
            connection.close()
    return _basemap(folder, digest, ext, metadata, path.stem, count, zooms, vector,
                    _layer_names(metadata.get("json")) if vector else ())


# --- PMTiles -----------------------------------------------------------------------------------------

def _varints(data: bytes, name: str) -> array:
    """The unsigned LEB128 varints of a PMTiles directory, as 64-bit numbers (8 bytes each in memory)."""
    numbers, value, shift = array("Q"), 0, 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
            if shift > 63:
                raise BasemapError(f"{name} is not a readable PMTiles v3 file (damaged directory)")
        else:
            if value >> 64:
                raise BasemapError(f"{name} is not a readable PMTiles v3 file (damaged directory)")
            numbers.append(value)
            value = shift = 0
    return numbers


def _directory(plain: bytes, name: str) -> Iterator[tuple[int, int, int, int]]:
    """A PMTiles v3 directory (inflated) -> (tile_id, run_length, length, offset) per entry, as the spec lays
    them out: entry counts, then tile-id deltas, run lengths, lengths and offsets (0: right after the last)."""
    numbers = _varints(plain, name)
    count = numbers[0] if numbers else -1
    if not 0 <= count <= (len(numbers) - 1) // 4:
        raise BasemapError(f"{name} is not a readable PMTiles v3 file (damaged directory)")
    tile_id = offset = length = 0
    for i in range(1, count + 1):
        tile_id += numbers[i]
        coded = numbers[i + 3 * count]
        offset = offset + length if i > 1 and coded == 0 else coded - 1
        length = numbers[i + 2 * count]
        yield tile_id, numbers[i + count], length, offset


def _pmtiles_tiles(data: mmap.mmap, header: dict, name: str, budget: _Budget) -> Iterator[tuple]:
    """Every addressed tile ``(z, x, y, (offset, length), bytes)``, walking the directories within the budgets."""
    from pmtiles.tile import Compression, tileid_to_zxy

    internal = header["internal_compression"]

    def span(offset: int, length: int, what: str) -> bytes:
        if offset < 0 or offset + length > len(data):
            raise BasemapError(f"{name} is not a readable PMTiles v3 file (a {what} lies outside the file)")
        return data[offset:offset + length]

    inflated = 0

    def directory(offset: int, length: int) -> Iterator[tuple[int, int, int, int]]:
        nonlocal inflated
        if internal == Compression.NONE:
            if length > MAX_DIRECTORY_BYTES:
                raise BasemapError(f"{name} cannot be used: its directory is larger than {_mb(MAX_DIRECTORY_BYTES)}")
            plain = span(offset, length, "directory")
        else:
            plain = _inflate(span(offset, length, "directory"), MAX_DIRECTORY_BYTES, name, "directory")
        inflated += len(plain)
        if inflated > MAX_DIRECTORY_TOTAL:
            raise BasemapError(f"{name} cannot be used: its directories are larger than {_mb(MAX_DIRECTORY_TOTAL)} "
                               "in all")
        return _directory(plain, name)

    leaves_read: set[tuple[int, int]] = set()
    stack = [(directory(header["root_offset"], header["root_length"]), 0)]
    while stack:
        entries, depth = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        budget.tick()
        tile_id, run, length, offset = entry
        if run == 0:  # a leaf directory
            leaf = (header["leaf_directory_offset"] + offset, length)
            if depth >= MAX_DIRECTORY_DEPTH or leaf in leaves_read or len(leaves_read) >= MAX_LEAVES:
                raise BasemapError(f"{name} is not a readable PMTiles v3 file (its directories nest too deep, "
                                   f"repeat, or are more than {MAX_LEAVES:,})")
            leaves_read.add(leaf)
            stack.append((directory(*leaf), depth + 1))
            continue
        budget.address(run)
        if length > MAX_TILE_BYTES:
            raise BasemapError(f"{name} holds a tile larger than {_mb(MAX_TILE_BYTES)}")
        start = header["tile_data_offset"] + offset
        tile = span(start, length, "tile")
        for i in range(run):
            try:
                z, x, y = tileid_to_zxy(tile_id + i)
            except OverflowError:
                break
            yield z, x, y, (start, length), tile


def _pmtiles(path: Path, folder: Path, digest: str, budget: _Budget) -> Basemap:
    from pmtiles.tile import Compression, TileType, deserialize_header

    name = path.name
    extensions = {TileType.PNG: "png", TileType.JPEG: "jpg", TileType.WEBP: "webp", TileType.MVT: "mvt"}
    try:
        with path.open("rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
            header = deserialize_header(data[:127])
            ext = extensions.get(header["tile_type"])
            if ext is None:
                raise BasemapError(f"{name} holds {header['tile_type'].name} tiles; geoloc serves PNG, JPEG, WebP and "
                                   "MVT (vector) tiles")
            for part in ("tile", "internal"):
                if header[f"{part}_compression"] not in (Compression.NONE, Compression.GZIP, Compression.UNKNOWN):
                    raise BasemapError(f"{name} stores its {'tiles' if part == 'tile' else 'directories'} "
                                       f"{header[f'{part}_compression'].name}-compressed; geoloc reads gzip or "
                                       "uncompressed ones (re-encode with `pmtiles convert`)")
            if header["addressed_tiles_count"] > MAX_TILES:
                budget.address(header["addressed_tiles_count"])
            length = header["metadata_length"]
            if length > MAX_METADATA_BYTES:
                raise BasemapError(f"{name} cannot be used: its metadata is larger than {_mb(MAX_METADATA_BYTES)}")
            raw = data[header["metadata_offset"]:header["metadata_offset"] + length]
            if header["internal_compression"] != Compression.NONE:
                raw = _inflate(raw, MAX_METADATA_BYTES, name, "metadata")
            try:
                metadata = json.loads(raw) if raw else {}
            except (ValueError, RecursionError):
                metadata = {}  # names and layers fall back to the file's; the tiles may still be good
            vector = ext == "mvt"
            count, zooms = _write_tiles(_pmtiles_tiles(data, header, name, budget), folder, ext, name, vector, budget)
    except (BasemapError, OSError, MemoryError):
        raise
    except Exception:  # noqa: BLE001  (any damage in a file we did not write)
        raise BasemapError(f"{name} is not a readable PMTiles v3 file (damaged header or directory)") from None
    metadata = metadata if isinstance(metadata, dict) else {}
    return _basemap(folder, digest, ext, metadata, path.stem, count, zooms, vector,
                    _layer_names(metadata) if vector else ())


# --- One basemap, once ---------------------------------------------------------------------------------

def _kept(folder: Path, digest: str) -> Basemap | None:
    """The manifest of a finished extraction, or the refusal kept for this file (raised); None: neither."""
    refused = folder / REFUSED
    if refused.is_file():
        with refused.open(encoding="utf-8", errors="replace") as stream:
            raise BasemapError(stream.read(MAX_TEXT_CHARS).strip() or "this basemap was refused before")
    try:
        with (folder / MANIFEST).open(encoding="utf-8") as stream:
            kept = json.loads(stream.read(MAX_METADATA_BYTES))
        ext = kept.pop("ext")
        if not (ext in {*RASTER_FORMATS.values(), "mvt"} and all(isinstance(kept[k], int) for k in (
                "min_zoom", "max_zoom", "tiles")) and all(isinstance(kept[k], str) for k in ("name", "attribution"))):
            return None
        return Basemap(folder, f"basemap/{digest}/{{z}}/{{x}}/{{y}}.{ext}", kept["name"], kept["attribution"],
                       kept["min_zoom"], kept["max_zoom"], kept["tiles"], "vector" if ext == "mvt" else "raster",
                       tuple(str(layer) for layer in kept.get("vector_layers", ())))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _keep(folder: Path, basemap: Basemap) -> None:
    fields = asdict(basemap)
    fields.pop("folder")
    fields.pop("url_suffix")
    fields.pop("kind")
    fields["ext"] = basemap.url_suffix.rsplit(".", 1)[-1]
    (folder / MANIFEST).write_text(json.dumps(fields), encoding="utf-8")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, RecursionError):
        return "nested too deep"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return type(exc).__name__


def extract_basemap(path: str | Path, static_root: str | Path) -> Basemap:
    """Write the tiles of ``path`` (MBTiles or PMTiles) under ``static_root/basemap/<digest>/`` (once).
    Raises :class:`BasemapError` (one sentence) for any reason the file cannot be used, and keeps that
    sentence, so the same file is refused at once the next time."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise BasemapError(f"basemap file not found: {path}", lasting=False)
    folder, digest = _folder(path, static_root)
    kept = _kept(folder, digest)
    if kept is not None:
        return kept
    shutil.rmtree(folder, ignore_errors=True)  # a partial extraction (the app stopped): its links are not trusted
    try:
        budget = _Budget(path, folder)
        head = _magic(path)
        if head.startswith(b"PMTiles"):
            if head[7:8] != b"\x03":
                raise BasemapError(f"{path.name} is a PMTiles version {head[7]} file; geoloc reads version 3 "
                                   "(upgrade it with `pmtiles convert`)")
            basemap = _pmtiles(path, folder, digest, budget)
        elif head.startswith(b"SQLite format 3"):
            basemap = _mbtiles(path, folder, digest, budget)
        else:
            raise BasemapError(f"{path.name} is neither an MBTiles file (an SQLite database) nor a PMTiles file")
        _keep(folder, basemap)
        return basemap
    except BasemapError as exc:
        refusal = exc
    except OSError as exc:  # reading the file, writing the tiles: this machine's reason (disk full, permissions)
        refusal = BasemapError(f"{path.name} could not be prepared as a basemap ({_reason(exc)})", lasting=False)
    except Exception as exc:  # noqa: BLE001  (MemoryError, RecursionError, anything a hostile file provokes)
        refusal = BasemapError(f"{path.name} could not be prepared as a basemap ({_reason(exc)})")
    shutil.rmtree(folder, ignore_errors=True)
    if refusal.lasting:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / REFUSED).write_text(" ".join(str(refusal).split()), encoding="utf-8")
        except OSError:
            pass
    raise refusal from None


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
