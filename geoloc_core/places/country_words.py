"""Country codes written out for people: "Brooklyn, New York, US" -> "Brooklyn, New York, United
States"; "FR" -> "France (FR)".

Why: place strings are stored as GeoNames writes them ("Name, Admin1, CC") and exports keep that
fixed contract, but an analyst reading a table should not have to know that "GE" is Georgia and
"DE" Germany. Names come from the shipped ISO 3166-1 table (``assets/country_info.json``), so
nothing is looked up online; an unknown code is left as it is.
"""
from __future__ import annotations

import re

from .geocoding import load_country_info

_TRAILING_CODE = re.compile(r"^(?P<head>.*,\s*)(?P<code>[A-Z]{2})\s*$", re.DOTALL)


def country_name_for(code: str | None) -> str | None:
    """The ISO 3166-1 short name of an alpha-2 code (XK: Kosovo), or None when unknown."""
    return load_country_info().get((code or "").strip().upper(), {}).get("name") if code else None


def country_in_words(code: str | None) -> str:
    """'France (FR)'; the code alone when unknown; '' for none."""
    if not code:
        return ""
    name = country_name_for(code)
    return f"{name} ({code})" if name else code


def place_in_words(place: str | None) -> str:
    """A place string whose last comma-separated part is an alpha-2 code, with that code written out."""
    if not place:
        return ""
    match = _TRAILING_CODE.match(place)
    name = country_name_for(match.group("code")) if match else None
    return match.group("head") + name if name else place
