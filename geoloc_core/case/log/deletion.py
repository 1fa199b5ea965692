"""What a deletion removes, said before (``CaseDeletionPlan``) and recorded after (``DeletionRecord``).

Why: deleting findings used to drop the rows and leave the kept originals on disk, named by their
SHA-256, so a "deleted" photo could still be produced. A deletion now takes the originals no other
finding (in any case) still uses, and the analyst confirms a case deletion against a sentence that
names everything that goes. What was deleted, by whom and when stays in the case log's audit trail,
as an export does (``caselog.ExportRecord``); the records themselves hold counts and the case's
name, never a file name or a hash of what was deleted.

Plain records only: the SQL lives in ``caselog`` (which imports this module, never the reverse).
"""
from __future__ import annotations

from dataclasses import dataclass

CASE = "case"  # a whole case went (its findings, originals, export records and audit rows)
FINDINGS = "findings"  # some findings of a case went


def size_in_words(size_bytes: int) -> str:
    """Bytes as an analyst reads them: "34.1 MB" (decimal units, as file managers show)."""
    size = float(size_bytes)
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size_bytes:,} bytes" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def _count(number: int, one: str, many: str) -> str:
    return f"{number:,} {one if number == 1 else many}"


@dataclass(frozen=True)
class CaseDeletionPlan:
    """What deleting one case would remove now: shown to the analyst, then compared with what is
    there when they confirm (another tab may have added findings meanwhile)."""

    case_id: int
    case_name: str
    findings: int
    originals: tuple[str, ...]  # SHA-256 of each kept original that no other case uses
    original_bytes: int
    exports: int  # export records (reports, bundles, tables) of the case

    def sentence(self) -> str:
        """"Delete case 'X': 12 findings, 9 kept originals (34.1 MB), 3 export records. This cannot be
        undone." Plain text: the case name is the analyst's, so show it only through an escaping path."""
        return (f"Delete case '{self.case_name}': {_count(self.findings, 'finding', 'findings')}, "
                f"{_count(len(self.originals), 'kept original', 'kept originals')} "
                f"({size_in_words(self.original_bytes)}), "
                f"{_count(self.exports, 'export record', 'export records')}. This cannot be undone.")


@dataclass(frozen=True)
class DeletionRecord:
    """One deletion in the audit trail. ``kind`` is ``CASE`` (``case_id`` is then None: the row belongs
    to the whole log, so every remaining case shows it) or ``FINDINGS`` (the row belongs to its case
    and goes when that case goes)."""

    id: int
    case_id: int | None
    case_name: str
    kind: str
    findings: int
    originals: int  # kept originals removed from the evidence store
    original_bytes: int
    exports: int  # export records removed (whole-case deletions only)
    analyst: str
    created_at: str  # UTC, ISO 8601
    left_behind: tuple[str, ...] = ()  # originals that could not be removed (paths; this deletion only, not stored)

    def sentence(self) -> str:
        """What went, in words (plain text: holds the case's name)."""
        what = (f"Deleted case '{self.case_name}': " if self.kind == CASE
                else f"Deleted from case '{self.case_name}': ")
        parts = [_count(self.findings, "finding", "findings"),
                 f"{_count(self.originals, 'kept original', 'kept originals')} ({size_in_words(self.original_bytes)})"]
        if self.kind == CASE:
            parts.append(_count(self.exports, "export record", "export records"))
        text = what + ", ".join(parts) + "."
        if self.left_behind:
            text += (f" {_count(len(self.left_behind), 'original', 'originals')} could not be removed: "
                     + ", ".join(self.left_behind) + ".")
        return text


class CaseChanged(Exception):
    """The case no longer matches the deletion the analyst confirmed (findings or exports were added or
    removed meanwhile): nothing was deleted; show the new plan and ask again."""
