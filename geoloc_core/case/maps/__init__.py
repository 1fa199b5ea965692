"""Maps: everything drawn on a Folium map, offline by default. The maps an analyst sees
(``finding_maps``: one finding, or a batch), the layers they are made of (``layers``: base map,
points, regions, safe labels, local Leaflet assets), candidate regions and heat (``candidate_map``),
city-zoom context (``map_context``), the shadow band (``shadow_map``) and the organisation's own
basemaps (``basemap``, ``vector_basemap``).

May import: ``case`` itself (findings, candidates, constraints) and every lower group; never
``case.log``, ``case.exports`` or ``case.reports``.
"""
