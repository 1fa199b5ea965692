"""Case: what an analyst works with, grouped by job.

Here, at the bottom: the ``Finding`` record (one per file, ``findings``), the ``Analyzer`` pipeline
that fills it (``analyzer``) with the user's analysis settings, verdicts (``verification``), the
banner, the written claim (``claims``), the analyst's own point (``analyst_point``), constraints,
candidates, near-duplicate groups and hand-off links. Above it, each in its folder:

- ``log/``: the SQLite case log and evidence store, its writer, history and workspace;
- ``maps/``: Folium maps, basemaps and their layers;
- ``exports/``: CSV, JSON, GeoJSON and KML;
- ``reports/``: HTML and PDF reports, the report map and the evidence bundle.

The subgroups import ``case`` itself and never each other, except ``reports`` (which reads the log
and packs exports); ``tests/test_layout.py`` keeps it so.

May import every other group (``evidence``, ``places``, ``model``, ``learning``).
"""
