"""Build ``assets/country_info.json``: ISO 3166-1 alpha-2 -> (name, continent) (run once, by a maintainer).

Country outlines come from ``tools/build_boundary_assets.py`` (OpenStreetMap time-zone
polygons, Natural Earth 1:10m); this table names the codes they return and gives each
its continent. Kosovo (XK) is not in ISO 3166-1 and is added by hand.

Usage (needs pycountry and pycountry-convert; not runtime dependencies)::

    python tools/build_country_assets.py
"""
from __future__ import annotations

import json
from pathlib import Path

import pycountry
import pycountry_convert

ASSETS = Path(__file__).resolve().parents[1] / "assets"

CONTINENT_NAMES = {
    "AF": "Africa", "AN": "Antarctica", "AS": "Asia", "EU": "Europe",
    "NA": "North America", "OC": "Oceania", "SA": "South America",
}
CONTINENT_OVERRIDES = {"TF": "Antarctica", "AQ": "Antarctica", "XK": "Europe", "TL": "Asia", "EH": "Africa",
                       "SX": "North America", "UM": "Oceania", "VA": "Europe",
                       "PN": "Oceania"}


def continent_of(alpha2: str) -> str | None:
    if alpha2 in CONTINENT_OVERRIDES:
        return CONTINENT_OVERRIDES[alpha2]
    try:
        return CONTINENT_NAMES[pycountry_convert.country_alpha2_to_continent_code(alpha2)]
    except KeyError:
        return None


def country_name(alpha2: str) -> str:
    if alpha2 == "XK":
        return "Kosovo"
    country = pycountry.countries.get(alpha_2=alpha2)
    return getattr(country, "common_name", None) or country.name


def main() -> None:
    info = {}
    for country in pycountry.countries:
        continent = continent_of(country.alpha_2)
        if continent:
            info[country.alpha_2] = {"name": country_name(country.alpha_2), "continent": continent}
    info["XK"] = {"name": "Kosovo", "continent": "Europe"}
    (ASSETS / "country_info.json").write_text(json.dumps(info, indent=0, sort_keys=True, ensure_ascii=False))
    print(f"{len(info)} countries")


if __name__ == "__main__":
    main()
