"""Reverse geocoding: point -> country, ISO code, continent, admin-1 region, nearest place.

Offline by default, nothing leaves the machine. Three data sets, each for what it
does best (measured in benchmarks/README.md, conventions in README.md):

* country: OpenStreetMap boundaries as timezonefinder ships them (time-zone polygons,
  one ISO country per zone, precise to metres and including the 12-nautical-mile
  territorial sea; ``osm_borders.py``). Geneva, Aachen, Ciudad Juárez, Baarle's
  enclaves and every microstate come out right, which Natural Earth 1:110m (the
  previous source) got wrong by kilometres;
* land or sea, Kosovo, and the fallback where no zone is a country (Bouvet, Heard):
  Natural Earth 1:10m admin-0, German point of view (``natural_earth.py``);
* nearest place and admin-1 region: GeoNames cities1000 with Natural Earth 1:10m
  admin-1 areas named by their GeoNames places (``regions.py``).

A point inside a country's territorial sea names that country with the note
"at sea, within N km of the coast of X"; beyond it the point is "open water" with
the nearest land. Results that rest on a political convention (Crimea, Kosovo,
Western Sahara, Palestine, Taiwan, Northern Cyprus, Golan) carry a note saying so.

Online (opt-in only): geopy's Nominatim, rate-limited to 1 request/s as its usage
policy demands, cached, and falling back to offline with a note on any failure.
"""
from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"
COUNTRY_INFO_JSON = ASSETS_DIR / "country_info.json"
URAL_LONGITUDE = 60.0  # Russia east of ~60°E is reported as Asia, west as Europe
CONTINENTS = ("Africa", "Antarctica", "Asia", "Europe", "North America", "Oceania", "South America")
NOMINATIM_USER_AGENT = "geoloc/0.1 (OSINT image geolocation; offline by default)"
SHORE_KM = 2.0  # 1:10m coastlines cannot tell harbour water, quays and islets apart closer than this
COUNTRY_SOURCE = "OpenStreetMap boundaries (timezonefinder-data time-zone polygons)"
# Where a result depends on a political convention, the Place says which one (README: "Conventions").
ZONE_NOTES = {
    "Europe/Simferopol": "Crimea: shown as Ukraine, its internationally recognised territory (UN GA resolution "
                         "68/262); under Russian control since 2014",
    "Africa/El_Aaiun": "Western Sahara: shown as its own territory (EH, a UN non-self-governing territory); most "
                       "of it is administered by Morocco",
    "Asia/Gaza": "Palestine (Gaza Strip): shown as PS, as in ISO 3166-1 and OpenStreetMap",
    "Asia/Hebron": "Palestine (West Bank): shown as PS, as in ISO 3166-1 and OpenStreetMap; East Jerusalem is "
                   "drawn in Israel by these data",
    "Asia/Taipei": "Taiwan: shown as its own country (TW, as in ISO 3166-1); claimed by the People's Republic of China",
    "Asia/Famagusta": "Northern Cyprus: shown as Cyprus (de jure); the Turkish Republic of Northern Cyprus is "
                      "recognised only by Turkey",
}
KOSOVO_NOTE = ("Kosovo: shown as a country (XK, Natural Earth's German view; recognised by about half of the UN "
               "members, not by Serbia); its boundary is Natural Earth 1:10m, not OpenStreetMap")
GOLAN_NOTE = ("Golan Heights: shown as Israel, as OpenStreetMap draws the line of control; most states regard it "
              "as Syrian territory under Israeli occupation")


@dataclass
class Place:
    """Where a point is, in words an analyst can cite."""

    country: str | None
    country_code: str | None  # ISO 3166-1 alpha-2 (XK for Kosovo)
    continent: str | None
    nearest_place: str | None  # "Name, Admin1, CC"
    nearest_place_km: float | None
    at_sea: bool = False  # True both in a territorial sea (country set) and in open water (country None)
    note: str = ""
    source: str = "offline"
    region: str | None = None  # admin-1: state, province, Land, oblast
    region_source: str = ""

    @property
    def label(self) -> str:
        if self.at_sea:
            return self.note
        parts = [p for p in (self.region, self.country, self.continent) if p]
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


def country_name(code: str) -> str:
    return load_country_info().get(code, {}).get("name", code)


class OfflineGeocoder:
    """OSM borders + Natural Earth 1:10m + GeoNames. Thread-safe.

    Load about 0.45 CPU-seconds (1.2-1.4 before scipy.spatial was replaced, see ``nearest.py``), then
    30,000-50,000 points per CPU-second (benchmarks/README.md); the coast index is built on first use."""

    def __init__(self):
        from .natural_earth import NaturalEarthCountries
        from .osm_borders import OsmBorders
        from .regions import PlaceIndex

        self.borders = OsmBorders()
        self.land = NaturalEarthCountries()
        self.places = PlaceIndex()
        names = self.borders.zone_names
        self._belgrade = names.index("Europe/Belgrade")
        self._zone_notes = {names.index(zone): note for zone, note in ZONE_NOTES.items() if zone in names}

    def reverse(self, lat: float, lon: float) -> Place:
        return self.reverse_many([lat], [lon])[0]

    def countries(self, lats, lons) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ISO code or "", Natural Earth land code, zone id) per point: the country decision alone."""
        lats = np.asarray(lats, dtype=np.float64)
        lons = np.asarray(lons, dtype=np.float64)
        codes, zones = self.borders.codes_at(lats, lons)
        land = self.land.codes_at(lats, lons)
        codes = codes.copy()
        codes[(zones == self._belgrade) & (land == "XK")] = "XK"
        fallback = (codes == "") & (land != "") & (land != "-")  # no zone is a country here (Bouvet, Heard)
        codes[fallback] = land[fallback]
        codes[fallback & (codes == "NO") & (lats < -50.0)] = "BV"  # Natural Earth files Bouvet under Norway
        return codes, land, zones

    def reverse_many(self, lats: Sequence[float], lons: Sequence[float]) -> list[Place]:
        from .regions import REGION_SOURCE

        lats = np.asarray(lats, dtype=np.float64)
        lons = np.asarray(lons, dtype=np.float64)
        if lats.size == 0:
            return []
        invalid = ~(np.isfinite(lats) & np.isfinite(lons) & (np.abs(lats) <= 90) & (np.abs(lons) <= 180))
        if invalid.any():  # callers validate; still, never a crash or a made-up place
            lats, lons = np.where(invalid, 0.0, lats), np.where(invalid, 0.0, lons)
        codes, land, zones = self.countries(lats, lons)
        at_sea = land == ""
        coast_km = np.full(lats.size, np.nan)
        belt = np.nonzero(at_sea & (codes != ""))[0]
        if belt.size:
            coast_km[belt] = self.land.coast_km(lats[belt], lons[belt])[0]
        on_shore = at_sea & (coast_km < SHORE_KM)
        at_sea = at_sea & ~on_shore
        near = self.places.nearby(lats, lons, np.where(at_sea & (codes == ""), "", codes))
        names = {code: country_name(code) for code in set(codes.tolist()) if code}
        continents = {code: continent_for(code, 0.0) for code in names}
        results = []
        for i in range(lats.size):
            name, km = near.name[i], float(near.km[i])
            code = codes[i]
            if invalid[i]:
                results.append(Place(None, None, None, None, None, note="invalid coordinate: not geocoded"))
                continue
            if not code:
                results.append(Place(None, None, None, name, km, at_sea=True,
                                     note=f"open water; nearest land: {name}, {km:,.0f} km"))
                continue
            country = names[code]
            notes = []
            if at_sea[i]:
                notes.append(f"at sea, within {math.ceil(coast_km[i]):,d} km of the coast of {country}")
            elif on_shore[i]:
                notes.append(f"on the shore or in harbour water of {country} (within {SHORE_KM:g} km of the "
                             "1:10m coastline, which cannot tell them apart)")
            if code == "XK":
                notes.append(KOSOVO_NOTE)
            elif zones[i] in self._zone_notes:
                notes.append(self._zone_notes[zones[i]])
            elif code == "IL" and land[i] == "-" and lons[i] > 35.55:
                notes.append(GOLAN_NOTE)
            region = near.region[i]
            continent = continent_for(code, float(lons[i])) if code == "RU" else continents[code]
            results.append(Place(country, code, continent, name, km, at_sea=bool(at_sea[i]),
                                 note="; ".join(notes), region=region,
                                 region_source=REGION_SOURCE if region else ""))
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
            region=address.get("state") or offline.region,
            region_source="Nominatim (OpenStreetMap)" if address.get("state") else offline.region_source,
        )
        with self._lock:
            self._cache[key] = place
        return place

    def reverse_many(self, lats: Sequence[float], lons: Sequence[float]) -> list[Place]:
        return [self.reverse(float(a), float(b)) for a, b in zip(lats, lons)]
