"""Show analyst-controlled strings (file names, EXIF/XMP text, notes, case and place names) as
literal text in Streamlit, whatever they contain.

Why this module exists: most Streamlit text elements render GitHub-flavoured Markdown *plus*
Streamlit's own extensions (``:red[...]`` directives, ``:emoji:`` and ``:material/...:`` shortcodes,
KaTeX between ``$``), and ``st.table`` renders every cell that way. A crafted EXIF ``Make`` of
``![p](http://host/x)`` made the browser fetch that URL; links, bold and colour changed how evidence
reads. Two tools, used at the point of output (the strings stay raw in records):

* ``text_table`` / ``text_block``: HTML built here with ``html.escape`` and shown with ``st.html``
  (no Markdown pass at all). Prefer these for anything that comes from a file.
* ``markdown_literal``: for the few places that only take Markdown (titles, banners, captions,
  widget labels). Every ASCII punctuation character is backslash-escaped (CommonMark allows that
  for all of them, which also defeats autolinks, bare-URL linkification, directives and maths), line
  breaks become spaces, and a WORD JOINER (U+2060, invisible) is put after the first colon of
  anything shaped like a shortcode (``:smile:``, ``:material/warning:``, ``:100:``; not ``12:30:``),
  because Streamlit replaces those in the text *after* backslash escapes are resolved. GFM's
  bare-URL and e-mail linkification works the same way (a transform of the text, not syntax), so
  the same invisible joiner goes after the colon of ``scheme://``, between ``www`` and its dot,
  and after ``@``: "http://host/x" stays text, never a link the browser could fetch.

Both show control and format characters as escapes (``photo\\u202egpj.exe``, not a name that a
right-to-left override reorders into "photoexe.jpg"), by the reports' own function
(``geoloc_core.evidence.visible_text.visible``).
"""
from __future__ import annotations

import html
import re
import string
from typing import Iterable, Sequence

import streamlit as st

from geoloc_core.evidence.visible_text import visible

WORD_JOINER = "\u2060"
# every ASCII punctuation character, except a colon followed by a space (never syntax; keeps
# "cannot verify: no model" readable in the Markdown source)
_PUNCTUATION = re.compile("(:(?! )|[" + re.escape(string.punctuation.replace(":", "")) + "])")
_SHORTCODE_COLON = re.compile(r":(?=(?!\d{1,2}:)[\w+/\-]+:)")
_LINKIFIED = re.compile(r"(:(?=//)|(?<![\w.])www(?=\.)|@)", re.IGNORECASE)
_KEPT_IN_HTML = "\n\r\t"
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")

_CELL = ("border:1px solid rgba(49,51,63,0.15);padding:0.25rem 0.5rem;text-align:left;vertical-align:top;"
         "white-space:pre-wrap;overflow-wrap:anywhere")
_TABLE = '<table class="geoloc-text-table" style="border-collapse:collapse;width:100%;font-size:0.9rem">'


def markdown_literal(text: object) -> str:
    """``str(text)`` escaped so that Streamlit Markdown shows it character for character (line
    breaks become spaces; other control and format characters, bidi overrides included, show as
    escapes such as ``\\u202e``; shortcode-shaped colons carry an invisible U+2060)."""
    text = _SHORTCODE_COLON.sub(":" + WORD_JOINER, visible(_LINE_BREAKS.sub(" ", str(text))))
    text = _LINKIFIED.sub(lambda match: match.group(0) + WORD_JOINER, text)
    return _PUNCTUATION.sub(r"\\\1", text)


def plain_text(text: object) -> str:
    """For ``st.text`` (no Markdown, no HTML): control and bidirectional-format characters shown as escapes, so
    a right-to-left override in a file or case name cannot reorder what is read (line breaks kept)."""
    return visible(text, keep="\n")


def html_text(text: object) -> str:
    """``str(text)`` escaped for HTML element content and quoted attribute values; control and format
    characters (bidi overrides, zero-width characters) shown as escapes such as ``\\u202e``, except line
    breaks and tabs, which the app's text elements keep (``white-space:pre-wrap``)."""
    return html.escape(visible(text, keep=_KEPT_IN_HTML), quote=True)


def _head(text: object) -> str:
    """A label cell, at least as wide as its longest word (up to 16 characters): cells wrap anywhere, so that a
    hash or a hostile value never widens the page, and a table's automatic layout then gave a label column
    the width of one letter beside a long value ("Claim/ed lat", "Count/ry", #32)."""
    longest = max((len(word) for word in str(text).split()), default=0)
    width = f"min-width:{min(longest, 16) * 1.2 + 1:.1f}ch;" if longest else ""
    return f'<th style="{_CELL};font-weight:600;{width}">{html_text(text)}</th>'


def text_table_html(rows: Sequence[tuple[object, object]], header: Sequence[str] | None = None) -> str:
    """A two-or-more-column HTML table whose every cell is escaped text."""
    cell = f'<td style="{_CELL}">'
    parts = [_TABLE]
    if header:
        parts.append("<tr>" + "".join(_head(h) for h in header) + "</tr>")
    for row in rows:
        first, *rest = row
        parts.append(f"<tr>{_head(first)}" + "".join(f"{cell}{html_text(v)}</td>" for v in rest) + "</tr>")
    parts.append("</table>")
    return "".join(parts)


def text_table(rows: Iterable[tuple[object, object]], empty: str = "nothing recorded") -> None:
    """Field/value rows as a static table of literal text (rows with an empty value are left out)."""
    kept = [(k, v) for k, v in rows if v not in ("", None)]
    if not kept:
        st.caption(markdown_literal(empty))
    else:
        st.html(text_table_html(kept))


def text_block(text: object, bold: bool = False) -> None:
    """One paragraph of literal text (wraps, keeps line breaks)."""
    tag = "strong" if bold else "span"
    st.html(f'<div style="white-space:pre-wrap;overflow-wrap:anywhere"><{tag}>{html_text(text)}</{tag}></div>')
