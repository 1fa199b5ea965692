"""Invisible characters made visible: one path for every place a file-derived string is shown.

Why (issue #31): a file named ``photo<U+202E>gpj.exe`` reads "photoexe.jpg" wherever the
right-to-left override is honoured; zero-width and other format characters hide differences
between two names. The reports and the app's screen both show such characters as escapes
(``\\u202e``), by this one function.
"""
from __future__ import annotations

import unicodedata

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x00": "\\0"}
_HIDDEN = ("Cc", "Cf", "Cs", "Zl", "Zp")  # controls, format (bidi, zero-width), surrogates, line/paragraph separators


def visible(value: object, keep: str = "") -> str:
    """Text with control and format characters made visible (``\\n``, ``\\u202e``); everything else unchanged.
    The characters in ``keep`` (e.g. line breaks, where the element shows them as line breaks) stay as they are."""
    text = "" if value is None else str(value)
    out = []
    for char in text:
        if char in keep:
            out.append(char)
        elif char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif unicodedata.category(char) in _HIDDEN:
            out.append(f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}")
        else:
            out.append(char)
    return "".join(out)
