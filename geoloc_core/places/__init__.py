"""Places: geodesy (distances, unit vectors, longitudes) and geocoding (a point to
country, region, continent and nearest place; offline by default, Nominatim opt-in).

The offline geocoder's parts: ``osm_borders`` (countries from OpenStreetMap's time-zone
polygons), ``natural_earth`` (1:10m land/sea and admin-1 lines), ``regions`` (GeoNames
places and admin-1 regions), ``boundaries`` (the same outlines as GeoJSON for the map).

May import: ``evidence`` (nothing today); never ``model``, ``learning`` or ``case``.
"""
