"""A finding's notes, one per line, for every place that lists them (the card, reports).

``Finding.message`` joins the notes with "; " (the export contract's single column), and a note may hold
"; " itself inside brackets: "no prediction: image too small to predict a location from (8 x 8 px; at least
32 px per side needed)". Splitting on every "; " cut that note into two bullets (#32)."""
from __future__ import annotations

_DEPTH = {"(": 1, "[": 1, ")": -1, "]": -1}


def note_lines(message: str) -> list[str]:
    """The notes in ``message``, split at "; " outside brackets only; empty notes left out."""
    lines, depth, start = [], 0, 0
    for i, char in enumerate(message):
        depth = max(0, depth + _DEPTH.get(char, 0))
        if depth == 0 and message.startswith("; ", i):
            lines.append(message[start:i])
            start = i + 2
    return [line for line in lines + [message[start:]] if line]
