"""Exports: findings as files other tools read. CSV, JSON and GeoJSON (``export``) and KML for
Google Earth (``kml``), each escaped by its format's own rules.

May import: ``case`` itself (the ``Finding`` record) and every lower group; never ``case.log``,
``case.maps`` or ``case.reports``.
"""
