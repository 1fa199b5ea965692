"""Case log: what is kept between sessions. The SQLite case log and evidence store (``caselog``), what a
deletion removes and the record it leaves (``deletion``), the thread that commits a batch's findings
beside the analysis (``writer``), one file's repeated analyses
(``history``), which of a case's files the Case log page shows (``case_view``) and where the analyst
left off (``workspace``).

May import: ``case`` itself (the ``Finding`` record) and every lower group; never ``case.maps``,
``case.exports`` or ``case.reports``.
"""
