"""Which of a case's files the Case log shows, and the counts that say so ("2 of 5 files").

Why a module of its own: the counts must follow every narrowing of the list (search and filters),
and a page that counts before it filters says "5 files" above a table of two. Keeping the filter
and the words together, without Streamlit, lets a test check them without a browser.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from .history import HistoryItem

NOT_ASSESSED = "not assessed"


@dataclass(frozen=True)
class CaseFilters:
    verdicts: tuple[str, ...] = ()  # the tool's verdict of the latest analysis; empty: any
    analyst_verdicts: tuple[str, ...] = ()  # "confirmed" ... or NOT_ASSESSED; empty: any
    flagged_only: bool = False  # at least one metadata check flagged

    @property
    def active(self) -> bool:
        return bool(self.verdicts or self.analyst_verdicts or self.flagged_only)


def analyst_verdict(item: HistoryItem) -> str:
    return item.latest.finding.analyst_verdict or NOT_ASSESSED


def apply(items: Sequence[HistoryItem], filters: CaseFilters) -> list[HistoryItem]:
    """The items whose latest analysis passes every filter that is set."""
    return [item for item in items
            if (not filters.verdicts or item.latest.finding.verdict in filters.verdicts)
            and (not filters.analyst_verdicts or analyst_verdict(item) in filters.analyst_verdicts)
            and (not filters.flagged_only or (item.latest.finding.checks_flagged or 0) > 0)]


@dataclass(frozen=True)
class CaseCounts:
    shown_files: int
    total_files: int
    shown_analyses: int
    total_analyses: int
    narrowed: bool = field(default=False)  # a search or a filter is in force

    def sentence(self) -> str:
        """'2 of 5 files (3 of 9 analyses) match the search and filters.' or '5 files, 9 analyses.'"""
        files = "file" if self.total_files == 1 else "files"
        analyses = "analysis" if self.total_analyses == 1 else "analyses"
        if not self.narrowed:
            return f"{self.total_files:,} {files}, {self.total_analyses:,} {analyses}."
        return (f"{self.shown_files:,} of {self.total_files:,} {files} ({self.shown_analyses:,} of "
                f"{self.total_analyses:,} {analyses}) match the search and filters.")


def counts(shown: Sequence[HistoryItem], all_items: Sequence[HistoryItem], narrowed: bool) -> CaseCounts:
    return CaseCounts(len(shown), len(all_items), sum(len(i.analyses) for i in shown),
                      sum(len(i.analyses) for i in all_items), narrowed)
