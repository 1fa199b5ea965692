"""Country borders precise to metres, from the OpenStreetMap-derived time-zone polygons.

Why time zones: ``timezonefinder`` (already a dependency) ships the polygons of
timezone-boundary-builder, built from OpenStreetMap's administrative boundaries with
no simplification, plus each country's territorial waters (12 nautical miles). Every
zone in tzdata's ``zone.tab`` belongs to exactly one ISO 3166-1 country (even small
states have their own: ``Europe/Vatican``, ``Europe/San_Marino``, ``Europe/Busingen``
for the German exclave), so "zone -> country" turns them into country outlines that
are right where Natural Earth is off: on the 211 land-border points of the border test
set, 1:110m names 74 wrong countries (Geneva, Aachen, Ciudad Juárez) and 1:10m still
24 (Narva, Gorizia, Irun, Baarle-Hertog); these polygons none. Zones of the open sea
(``Etc/GMT+5``) map to no country.

Known limits, handled by the caller (``geocoding.OfflineGeocoder``): Kosovo has no
zone of its own (it lies in ``Europe/Belgrade``); Bouvet Island and Heard Island
have none either. The zone -> country table is generated from tzdata's ``zone.tab``
into ``assets/zone_countries.json`` by ``tools/build_boundary_assets.py``.

The lookup is vectorised (timezonefinder's ``timezone_ids_at``, about 150,000
points/s) and memory-maps the 32 MB of polygons instead of loading them.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"
ZONE_COUNTRIES_JSON = ASSETS_DIR / "zone_countries.json"
_SCALE = 1e-7  # timezonefinder stores degrees * 10**7 as int32


@lru_cache(maxsize=1)
def zone_countries() -> dict[str, str]:
    """tz zone name -> ISO 3166-1 alpha-2, from tzdata's zone.tab (see module docstring)."""
    return json.loads(ZONE_COUNTRIES_JSON.read_text(encoding="utf-8"))["zones"]


def data_versions() -> str:
    """Which boundary release answered, for notes and the README ("timezonefinder-data 3.2026.3.post1, 2026c")."""
    import timezonefinder_data

    release = (Path(timezonefinder_data.DATA_DIR) / "data_version.txt").read_text(encoding="utf-8").strip()
    return f"timezonefinder-data {timezonefinder_data.__version__} (timezone-boundary-builder {release})"


class OsmBorders:
    """Point -> ISO country code (or "" outside every country) from the time-zone polygons."""

    def __init__(self):
        from ..evidence.time_zones import shared_timezone_finder

        self._finder, self._lock = shared_timezone_finder()  # memory-mapped, not thread-safe: every use locks
        self._valid_polygons: dict[int, object] = {}  # boundary id -> valid shapely polygon (at most 64)
        table = zone_countries()
        names = self._finder.timezone_names
        self.zone_names = list(names)
        self._code_of_zone = np.array([table.get(name, "") for name in names] + [""], dtype=object)

    def zones_at(self, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
        """Zone id per point (-1 where no zone answers, e.g. an invalid coordinate)."""
        with self._lock:
            return self._finder.timezone_ids_at(lngs=np.ascontiguousarray(lons, dtype=np.float64),
                                                lats=np.ascontiguousarray(lats, dtype=np.float64),
                                                on_invalid="skip").astype(np.int64)

    def codes_at(self, lats: np.ndarray, lons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ISO codes, zone ids): "" where the point is in no country's zone (open sea)."""
        zones = self.zones_at(lats, lons)
        return self._code_of_zone[zones], zones  # zone -1 picks the trailing ""

    def _polygon(self, boundary_id: int):
        """The zone polygon with its holes, built from timezonefinder's integer coordinates in one numpy step.
        ``get_polygon(coords_as_pairs=True)`` converts every vertex in a Python loop (its numba kernels are
        not installed): about 1.5 s per large zone, so a Batch map of 36 points in France and Germany took
        65-107 s to build on this machine; the same rings as numpy arrays take milliseconds."""
        import shapely
        from timezonefinder.configs import INT2COORD_FACTOR

        def ring(coords):
            return np.column_stack((coords[0], coords[1])).astype(np.float64) * INT2COORD_FACTOR

        holes = [ring(self._finder.holes.coords_of(h)) for h in self._finder._hole_ids_of(boundary_id)]
        return shapely.Polygon(ring(self._finder.coords_of(boundary_id)), holes)

    def polygons_in_box(self, west: float, south: float, east: float, north: float):
        """Country polygons clipped to a lon/lat box: list of (ISO code, shapely geometry).

        This is what the offline map draws near a finding, so the analyst sees the very
        boundary the decision used."""
        # pragma: no mutate block (map drawing, not the country decision; `make mutation` leaves it to the map tests)
        import shapely

        box = shapely.box(west, south, east, north)
        bounds = self._finder.boundaries
        x0, x1, y0, y1 = (int(v / _SCALE) for v in (west, east, south, north))
        hits = np.nonzero((bounds.xmax >= x0) & (bounds.xmin <= x1) & (bounds.ymax >= y0) & (bounds.ymin <= y1))[0]
        pieces: dict[str, list] = {}
        with self._lock:
            for boundary_id in hits.tolist():
                code = self._code_of_zone[self._finder.zone_id_of(boundary_id)]
                if not code:
                    continue
                polygon = self._valid_polygons.get(boundary_id)
                if polygon is None:  # kept: a case's points fall in few zones, and validity checks cost
                    polygon = self._polygon(boundary_id)
                    if not polygon.is_valid:
                        polygon = shapely.make_valid(polygon)
                    if len(self._valid_polygons) >= 64:
                        self._valid_polygons.pop(next(iter(self._valid_polygons)))
                    self._valid_polygons[boundary_id] = polygon
                clipped = shapely.intersection(polygon, box)
                if not clipped.is_empty:
                    pieces.setdefault(code, []).append(clipped)
        return [(code, shapely.union_all(parts)) for code, parts in sorted(pieces.items())]
