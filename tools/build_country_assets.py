"""Build the offline country assets shipped in ``assets/`` (run once, by a maintainer).

Source: Natural Earth 1:110m admin-0 countries (public domain), as shipped inside
``geopandas==0.14.4`` (``geopandas/datasets/naturalearth_lowres``). That copy has
known defects that this script corrects rather than trusting them:

* Kosovo carries ``iso_a3 = -99``; N. Cyprus and Somaliland are not ISO states.
* Names are cartographic abbreviations ("Dem. Rep. Congo"); we use ISO names.
* Fr. S. Antarctic Lands is on the "Seven seas (open ocean)" continent.
* 1:110m omits small states (Singapore, Malta, Andorra, ...); those are covered
  at run time by the GeoNames nearest-place fallback, which needs the
  ISO-alpha-2 -> (name, continent) table written here as ``country_info.json``.

Usage (needs pyshp, pycountry, pycountry-convert; not runtime dependencies)::

    python tools/build_country_assets.py /path/to/naturalearth_lowres/naturalearth_lowres
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pycountry
import pycountry_convert
import shapefile

ASSETS = Path(__file__).resolve().parents[1] / "assets"

CONTINENT_NAMES = {
    "AF": "Africa", "AN": "Antarctica", "AS": "Asia", "EU": "Europe",
    "NA": "North America", "OC": "Oceania", "SA": "South America",
}
# Natural Earth name -> (ISO alpha-2, display name) where iso_a3 is missing or not a state.
NE_OVERRIDES = {
    "Kosovo": ("XK", "Kosovo"),
    "N. Cyprus": ("CY", "Northern Cyprus (de jure Cyprus)"),
    "Somaliland": ("SO", "Somaliland (de jure Somalia)"),
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


def main(shp_path: str) -> None:
    reader = shapefile.Reader(shp_path)
    features = []
    for shape_record in reader.iterShapeRecords():
        rec = shape_record.record.as_dict()
        if rec["name"] in NE_OVERRIDES:
            alpha2, name = NE_OVERRIDES[rec["name"]]
        else:
            alpha2 = pycountry.countries.get(alpha_3=rec["iso_a3"]).alpha_2
            name = country_name(alpha2)
        continent = continent_of(alpha2)
        assert continent, rec
        features.append({
            "type": "Feature",
            "properties": {"name": name, "iso_a2": alpha2, "continent": continent,
                           "ne_name": rec["name"], "ne_continent": rec["continent"]},
            "geometry": shape_record.shape.__geo_interface__,
        })
    collection = {
        "type": "FeatureCollection",
        "name": "countries_ne_110m",
        "source": "Natural Earth 1:110m admin-0 (public domain), via geopandas 0.14.4; "
                  "names/codes/continents corrected by tools/build_country_assets.py",
        "features": features,
    }
    (ASSETS / "countries.geojson").write_text(json.dumps(collection, separators=(",", ":")))
    info = {}
    for country in pycountry.countries:
        continent = continent_of(country.alpha_2)
        if continent:
            info[country.alpha_2] = {"name": country_name(country.alpha_2), "continent": continent}
    info["XK"] = {"name": "Kosovo", "continent": "Europe"}
    (ASSETS / "country_info.json").write_text(json.dumps(info, indent=0, sort_keys=True, ensure_ascii=False))
    print(f"{len(features)} polygons, {len(info)} countries")


if __name__ == "__main__":
    main(sys.argv[1])
