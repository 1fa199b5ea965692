"""Case: what an analyst works with. The ``Finding`` record (one per file), the
``Analyzer`` pipeline that fills it, verdicts, the user's analysis settings, the
SQLite case log and evidence store, exports, maps and near-duplicate groups.

May import every other group (``evidence``, ``places``, ``model``, ``learning``).
"""
