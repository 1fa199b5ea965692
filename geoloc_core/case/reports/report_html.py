"""The case report as one self-contained HTML file.

Why Jinja2 with autoescape: escaping then happens at the point of output for every value,
by default (MarkupSafe escapes ``& < > " '``), so a hostile file name or EXIF string is
shown as text and never becomes markup; attributes are always quoted. The page holds no
script at all, its images are inline ``data:`` URIs, and a Content-Security-Policy forbids
scripts and every network load, so it opens offline, reveals nothing when opened, and
prints cleanly (print styles below).
"""
from __future__ import annotations

import base64

from jinja2 import Environment, StrictUndefined

from .report_content import Report

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="geoloc {{ r.geoloc_version }}">
<title>{{ r.title }}</title>
<style>
  body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1d1d1d; margin: 24px auto;
         max-width: 1000px; padding: 0 16px; font-size: 14px; line-height: 1.4; }
  h1 { font-size: 24px; margin-bottom: 4px; overflow-wrap: anywhere; } h2 { font-size: 19px; margin-top: 28px; }
  h3 { font-size: 15px; margin: 14px 0 4px; }
  table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; }
  th, td { border: 1px solid #d4d4d4; padding: 3px 6px; text-align: left; vertical-align: top;
           overflow-wrap: anywhere; white-space: pre-wrap; }
  th { background: #f2f2f2; font-weight: 600; }
  td.label { width: 30%; color: #444; }
  .mono { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 12px; }
  .witness { border-left: 4px solid #c77c00; background: #fff7e6; padding: 8px 12px; }
  .verdict { font-size: 16px; font-weight: 600; }
  .pictures { display: flex; gap: 12px; align-items: flex-start; flex-wrap: wrap; }
  .pictures figure { margin: 0; }
  .pictures img { border: 1px solid #ccc; max-width: 100%; height: auto; }
  .pictures img.thumb { max-width: 240px; max-height: 240px; }
  .pictures figure.mapfig { width: 620px; } .pictures img.map { width: 100%; }
  .pictures figure.view { width: 320px; } .pictures figure.view img { width: 100%; }  /* pixel forensics (#37) */
  .caption { color: #555; font-size: 12px; }
  section.file { border-top: 2px solid #333; margin-top: 28px; }
  @media (max-width: 700px) {  /* a phone: columns share the width, long names and hashes wrap */
    table { table-layout: fixed; } .pictures figure.mapfig { width: 100%; }
  }
  @media print {
    body { margin: 0; max-width: none; font-size: 11px; }
    section.file { break-before: page; border-top: none; }
    table, .pictures, h3 { break-inside: avoid; }
    h2, h3 { break-after: avoid; }
  }
</style>
</head>
<body>
<h1>{{ r.title }}</h1>
<table>
{% for label, value in r.header_rows %}<tr><td class="label">{{ label }}</td><td>{{ value }}</td></tr>
{% endfor %}</table>
<p class="witness"><strong>How to read this report.</strong> {{ r.witness_statement }}</p>

<h2>Files</h2>
<table>
<tr>{% for cell in r.summary[0] %}<th>{{ cell }}</th>{% endfor %}</tr>
{% for row in r.summary[1:] %}<tr><td>{{ row[0] }}</td><td>{{ row[1] }}</td><td class="mono">{{ row[2] }}</td><td>{{ row[3] }}</td></tr>
{% endfor %}</table>

<h2>Models</h2>
{% for section in r.models %}{{ render_section(section) }}{% endfor %}
<h2>Verdict rules</h2>
{{ render_section(r.thresholds) }}

{% for f in r.files %}
<section class="file" id="file-{{ f.number }}">
<h2>File {{ f.number }} of {{ r.files|length }}: {{ f.name }}</h2>
<p class="verdict">{{ f.headline }}</p>
<p>Verdict: {{ f.verdict or "none" }}{% if f.verdict_reason %} ({{ f.verdict_reason }}){% endif %}</p>
<div class="pictures">
{% if f.thumbnail_jpeg %}<figure><img class="thumb" alt="thumbnail of file {{ f.number }}" src="data:image/jpeg;base64,{{ b64(f.thumbnail_jpeg) }}"><figcaption class="caption">{{ f.thumbnail_caption }}</figcaption></figure>
{% else %}<p class="caption">No thumbnail: {{ f.thumbnail_note }}</p>{% endif %}
{% if f.map_png %}<figure class="mapfig"><img alt="map of file {{ f.number }}" class="map" src="data:image/png;base64,{{ b64(f.map_png) }}" width="720" height="360"><figcaption class="caption">Red: EXIF GPS; blue: prediction with its 50 % (solid) and 90 % (dashed) regions; hollow: other candidates; purple: the place written in the file; black diamond: the analyst's own point; dashed line: the distance.</figcaption></figure>
{% else %}<p class="caption">No map: the file has no usable EXIF GPS, no located written place and no prediction.</p>{% endif %}
</div>
{% for section in f.sections %}{{ render_section(section) }}{% endfor %}
</section>
{% endfor %}
<p class="caption">Made by geoloc {{ r.geoloc_version }} on {{ r.generated_utc }} (UTC). This file contains no script and loads nothing from the network.</p>
</body>
</html>
"""

SECTION = """<h3>{{ s.title }}</h3>
{% if s.rows %}<table>
{% for label, value in s.rows %}<tr><td class="label">{{ label }}</td><td{% if label == "SHA-256" %} class="mono"{% endif %}>{{ value }}</td></tr>
{% endfor %}</table>{% endif %}
{% if s.table %}<table>
<tr>{% for cell in s.table[0] %}<th>{{ cell }}</th>{% endfor %}</tr>
{% for row in s.table[1:] %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</table>{% endif %}
{% if s.figures %}<div class="pictures">
{% for caption, jpeg in s.figures %}<figure class="view"><img alt="{{ caption }}" src="data:image/jpeg;base64,{{ b64(jpeg) }}"><figcaption class="caption">{{ caption }}</figcaption></figure>
{% endfor %}</div>{% endif %}
"""

_environment = Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)
_section = _environment.from_string(SECTION, globals={"b64": lambda data: base64.b64encode(data).decode("ascii")})


def _render_section(section):
    from markupsafe import Markup

    return Markup(_section.render(s=section))  # already escaped by autoescape


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


_page = _environment.from_string(TEMPLATE, globals={"render_section": _render_section, "b64": _b64, "csp": CSP})


def render_html(report: Report) -> str:
    """The report as one HTML document (UTF-8 text)."""
    return _page.render(r=report)
