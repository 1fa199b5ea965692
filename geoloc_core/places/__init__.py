"""Places: geodesy (distances, unit vectors, longitudes) and geocoding (a point to
country, region, continent and nearest place; offline by default, Nominatim opt-in).

May import: ``evidence`` (nothing today); never ``model``, ``learning`` or ``case``.
"""
