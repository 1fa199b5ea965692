"""How long a metadata string may be: one documented cap, applied where the string is read.

Why (issue #31): EXIF text had no length limit. A PNG whose ImageDescription held 60 MB became a
63 MB case-log row and CSV cell, and its Verify page had not rendered after 20 minutes. No real
caption, camera name or software tag comes near ``MAX_TEXT_CHARS`` (IPTC's Caption-Abstract
allows 2,000 bytes); a longer value is cut there, and the finding says so, with the full value's
length and SHA-256, so the cut is visible and the original can still be matched.
"""
from __future__ import annotations

import hashlib

MAX_TEXT_CHARS = 4000


def cap_text(name: str, value: str | None, warnings: list[str]) -> str | None:
    """``value`` cut at ``MAX_TEXT_CHARS``; a cut adds one line to ``warnings`` naming the field."""
    if value is None or len(value) <= MAX_TEXT_CHARS:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    warnings.append(f"{name} cut at {MAX_TEXT_CHARS:,} characters (the full value has {len(value):,} characters, "
                    f"SHA-256 {digest})")
    return value[:MAX_TEXT_CHARS]
