"""Reports: what another analyst audits. The report's content, decided once (``report_content``), its
HTML and PDF renderings (``report_html``, ``report_pdf``), the still map each file gets
(``report_map``), the evidence bundle (``bundle``) and reports made from a scan or the case log
(``reporting``).

May import: ``case`` itself, ``case.log`` (reports from the case log), ``case.exports`` (the bundle's
exports) and every lower group; never ``case.maps`` (the report map is drawn offline, here).
"""
