"""Repeated analyses of one file (one SHA-256) as one item with its history.

Why: re-running a case with another model or other thresholds used to leave four unrelated rows
for one photo. Grouped by content hash, the analyst sees the file once, with what changed between
analyses (model, settings, verdict, distance) — the changes are the interesting part.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .caselog import StoredFinding
from ..findings import Finding


@dataclass
class HistoryItem:
    analyses: list[StoredFinding]  # oldest first

    @property
    def latest(self) -> StoredFinding:
        return self.analyses[-1]

    @property
    def ids(self) -> list[int]:
        return [a.id for a in self.analyses]


def group_by_file(stored: Sequence[StoredFinding]) -> list[HistoryItem]:
    """One item per SHA-256 (files that could not be hashed stay single), ordered by first analysis."""
    items: dict[str, HistoryItem] = {}
    for s in stored:
        key = s.finding.sha256 or f"id:{s.id}"
        items.setdefault(key, HistoryItem([])).analyses.append(s)
    return list(items.values())


def _fmt(value: object) -> str:
    if value in (None, ""):
        return "none"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def changes(before: Finding, after: Finding) -> list[str]:
    """What differs between two analyses of the same file, in words."""
    notes = []
    for field, label in (("model", "model"), ("analysis_settings", "settings"), ("verdict", "verdict"),
                         ("distance_km", "distance (km)"), ("pred_country", "predicted country"),
                         ("geoloc_version", "geoloc version")):
        a, b = getattr(before, field, None), getattr(after, field, None)
        if isinstance(a, float) and isinstance(b, float) and abs(a - b) < 0.05:
            continue
        if a != b:
            notes.append(f"{label}: {_fmt(a)} -> {_fmt(b)}")
    if Path(before.file).name != Path(after.file).name:
        notes.append(f"file name: {Path(before.file).name} -> {Path(after.file).name}")
    return notes


def history_rows(item: HistoryItem) -> list[dict]:
    """One row per analysis for a table: when, model, verdict and what changed from the one before."""
    rows = []
    for index, s in enumerate(item.analyses):
        f = s.finding
        what = "first analysis" if index == 0 else ("; ".join(changes(item.analyses[index - 1].finding, f))
                                                    or "same result")
        rows.append({"saved (UTC)": s.created_at, "file": Path(f.file).name, "model": f.model or "no model",
                     "verdict": f.verdict, "distance (km)": f.distance_km, "what changed": what})
    return rows
