"""Places: geodesy (distances, unit vectors, longitudes) and geocoding (a point to
country, region, continent and nearest place; offline by default, Nominatim opt-in), and
forward geocoding (a written place such as "Kyiv, Ukraine" to a point, region and country,
offline; ambiguous names give candidates).

May import: ``evidence`` (nothing today); never ``model``, ``learning`` or ``case``.
"""
