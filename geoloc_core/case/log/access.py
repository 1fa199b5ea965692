"""Who may see which case on a team server (#36): the one place the rule lives.

Why one module that every query goes through, and not a ``WHERE owner = ?`` added to each query: the case
log has some thirty reads and writes, and the pages reach cases by id from the sidebar, the page's address
(``?case=3``), a selection, a finding id or a file's SHA-256 ("seen before", kept originals). A rule spread
over those places is one forgotten place from a leak. ``ScopedCaseLog`` is the case log as one member sees
it: it offers exactly the ``CaseLog`` methods the app uses, each checks or filters by ``CaseAccess``, and it
does not fall through to the unscoped log (no ``__getattr__``), so a method added to ``CaseLog`` and used by a
page without a rule here fails loudly instead of reading every case.

The rule: an admin sees every case; anyone else sees the cases they own or are a member of. A case made
without a login (single-user mode, before the team server) has no owner: only an admin sees it, and may
give it to someone. The owner or an admin manages a case's members and may delete it.
"""
from __future__ import annotations

from dataclasses import dataclass

from .caselog import CaseLog, EvidenceStore, StoredFinding


class AccessDenied(PermissionError):
    """A case, finding or original outside what this member may see (said without naming what is there)."""


class CaseNameTaken(ValueError):
    """Case names are unique in the log; a name already used by a case this member cannot see."""


@dataclass(frozen=True)
class Member:
    """The person signed in: the login's e-mail (the key, lower case), the name shown, and the admin role."""

    email: str
    name: str = ""
    admin: bool = False

    @property
    def signature(self) -> str:
        """How findings, assessments, exports and reports name this analyst: ``Name <email>``."""
        return f"{self.name} <{self.email}>" if self.name and self.name != self.email else self.email


class CaseAccess:
    """The rule, over one case log: which case ids ``member`` may read, and who may manage a case."""

    def __init__(self, log: CaseLog, member: Member):
        self.log, self.member = log, member

    def case_ids(self) -> set[int]:
        if self.member.admin:
            return {case_id for case_id, _, _ in self.log.cases()}
        return self.log.cases_of(self.member.email)

    def can_read(self, case_id: int | None) -> bool:
        return case_id is not None and (case_id in self.case_ids())

    def require(self, case_id: int | None) -> int:
        if not self.can_read(case_id):
            raise AccessDenied("no such case among yours")
        return case_id

    def require_findings(self, finding_ids: list[int]) -> list[int]:
        """``finding_ids`` when every one exists in a case this member may read; else ``AccessDenied``."""
        cases = self.log.cases_of_findings(finding_ids)
        allowed = self.case_ids()
        if any(cases.get(i) not in allowed for i in finding_ids):
            raise AccessDenied("no such finding among your cases")
        return finding_ids

    def can_manage(self, case_id: int) -> bool:
        """The owner or an admin: membership and deleting the case."""
        return self.member.admin or (bool(self.member.email) and self.log.case_owner(case_id) == self.member.email)


class ScopedEvidenceStore:
    """The evidence store as one member sees it: an original is there only when one of the member's cases holds
    a finding of its bytes (the files are named by SHA-256, which another case's report or CSV may show)."""

    def __init__(self, store: EvidenceStore, access: CaseAccess):
        self._store, self._access = store, access

    @property
    def folder(self):
        return self._store.folder

    def _visible(self, sha256: str) -> bool:
        return bool(self._access.log.cases_holding(sha256) & self._access.case_ids())

    def put(self, sha256: str, data: bytes):
        return self._store.put(sha256, data)  # the caller holds the bytes: keeping them reveals nothing

    def get(self, sha256: str) -> bytes | None:
        return self._store.get(sha256) if self._visible(sha256) else None

    def size(self, sha256: str) -> int | None:
        return self._store.size(sha256) if self._visible(sha256) else None

    def usage(self) -> tuple[int, int]:
        """(originals kept for this member's cases, their bytes)."""
        hashes = {s.finding.sha256 for s in ScopedCaseLog(self._access.log, self._access.member).findings(None)
                  if s.finding.sha256}
        sizes = [size for sha in hashes if (size := self._store.size(sha)) is not None]
        return len(sizes), sum(sizes)


class ScopedCaseLog:
    """A ``CaseLog`` as ``member`` sees it (see the module's docstring). Reads of cases the member may not see
    answer as if the case did not exist (nothing, None, ""); writes to them raise ``AccessDenied``."""

    def __init__(self, log: CaseLog, member: Member):
        self._log, self.member = log, member
        self.access = CaseAccess(log, member)

    # ----- the log itself -------------------------------------------------------------------
    @property
    def path(self):
        return self._log.path

    @property
    def schema_version(self) -> int:
        return self._log.schema_version

    @property
    def evidence(self) -> ScopedEvidenceStore:
        return ScopedEvidenceStore(self._log.evidence, self.access)

    @property
    def default_case_name(self) -> str:
        """The first case of someone who has none: their own, not the shared "Default case"."""
        return f"Cases of {self.member.email}"

    def integrity_check(self) -> str:
        return self._log.integrity_check()

    # ----- cases ----------------------------------------------------------------------------
    def cases(self) -> list[tuple[int, str, int]]:
        allowed = self.access.case_ids()
        return [row for row in self._log.cases() if row[0] in allowed]

    def ensure_case(self, name: str) -> int:
        """The member's case called ``name``, made (owned by the member) when no case has that name."""
        existing = self._log.case_named(name)
        if existing is not None:
            if self.access.can_read(existing):
                return existing
            raise CaseNameTaken("another case already has that name; choose another")
        return self._log.ensure_case(name, owner=self.member.email)

    def case_analyst(self, case_id: int) -> str:
        return self._log.case_analyst(case_id) if self.access.can_read(case_id) else ""

    def set_case_analyst(self, case_id: int, analyst: str) -> None:
        self._log.set_case_analyst(self.access.require(case_id), analyst)

    def case_owner(self, case_id: int) -> str:
        return self._log.case_owner(case_id) if self.access.can_read(case_id) else ""

    def case_members(self, case_id: int) -> list[str]:
        return self._log.case_members(case_id) if self.access.can_read(case_id) else []

    def add_case_member(self, case_id: int, email: str) -> None:
        self._require_manager(case_id)
        self._log.add_case_member(case_id, email, self.member.signature)

    def remove_case_member(self, case_id: int, email: str) -> None:
        self._require_manager(case_id)
        self._log.remove_case_member(case_id, email)

    def set_case_owner(self, case_id: int, owner: str) -> None:
        self._require_manager(case_id)
        self._log.set_case_owner(case_id, owner)

    def _require_manager(self, case_id: int) -> None:
        if not (self.access.can_read(case_id) and self.access.can_manage(case_id)):
            raise AccessDenied("only the case's owner or an admin manages it")

    def case_deletion_plan(self, case_id: int):
        return self._log.case_deletion_plan(case_id) if self.access.can_read(case_id) else None

    def delete_case(self, case_id: int, analyst: str = "", expected=None):
        self._require_manager(case_id)
        return self._log.delete_case(case_id, analyst, expected)

    # ----- findings -------------------------------------------------------------------------
    def add(self, case_id: int, finding, keep_serials: bool = False) -> int:
        """Save a finding into one of the member's cases, signed with the member's name (``analysed_by``)."""
        self.access.require(case_id)
        finding.analysed_by = self.member.signature
        return self._log.add(case_id, finding, keep_serials)

    def known_hashes(self, case_id: int) -> set[str]:
        return self._log.known_hashes(case_id) if self.access.can_read(case_id) else set()

    def findings(self, case_id: int | None, search: str = "") -> list[StoredFinding]:
        """One case's findings (nothing for a case not the member's), or those of every case the member sees:
        what "seen before" and the duplicates compare with."""
        if case_id is not None:
            return self._log.findings(case_id, search) if self.access.can_read(case_id) else []
        allowed = self.access.case_ids()
        return [s for s in self._log.findings(None, search) if s.case_id in allowed]

    def earlier_findings(self, case_id: int, model: str, settings: str):
        return self._log.earlier_findings(case_id, model, settings) if self.access.can_read(case_id) else {}

    def latest_finding(self, case_id: int, sha256: str):
        return self._log.latest_finding(case_id, sha256) if self.access.can_read(case_id) else None

    def set_assessment(self, finding_ids: list[int], verdict: str, tags: str, note: str, analyst: str = "") -> None:
        self._log.set_assessment(self.access.require_findings(finding_ids), verdict, tags, note, analyst)

    def set_verdicts(self, finding_ids: list[int], verdict: str, analyst: str = "") -> int:
        return self._log.set_verdicts(self.access.require_findings(finding_ids), verdict, analyst)

    def set_reviewed(self, finding_ids: list[int], reviewed: bool, analyst: str = "") -> int:
        return self._log.set_reviewed(self.access.require_findings(finding_ids), reviewed, analyst)

    def set_analyst_point(self, finding_ids: list[int], finding) -> None:
        self._log.set_analyst_point(self.access.require_findings(finding_ids), finding)

    def set_note(self, finding_id: int, note: str) -> None:
        self._log.set_note(self.access.require_findings([finding_id])[0], note)

    def set_source_url(self, finding_id: int, url: str) -> None:
        self._log.set_source_url(self.access.require_findings([finding_id])[0], url)

    def delete(self, finding_ids: list[int], analyst: str = ""):
        return self._log.delete(self.access.require_findings(finding_ids), analyst)

    # ----- audit trails ---------------------------------------------------------------------
    def assessments(self, case_id: int | None = None):
        allowed = self.access.case_ids()
        if case_id is not None and case_id not in allowed:
            return []
        return [r for r in self._log.assessments(case_id) if r.case_id in allowed]

    def exports(self, case_id: int | None = None):
        allowed = self.access.case_ids()
        if case_id is not None and case_id not in allowed:
            return []
        return [r for r in self._log.exports(case_id) if r.case_id in allowed]

    def record_export(self, case_id: int | None, kind: str, file_name: str, sha256: str, size_bytes: int,
                      analyst: str, finding_ids: list[int] | None = None) -> int:
        if case_id is not None:
            self.access.require(case_id)
        self.access.require_findings(list(finding_ids or []))
        return self._log.record_export(case_id, kind, file_name, sha256, size_bytes, analyst, finding_ids)

    def deletions(self, case_id: int | None = None):
        """A case's deletion rows; the rows of deleted cases (their case is gone, and with it its owner) only to
        an admin or to whoever deleted it."""
        allowed = self.access.case_ids()
        if case_id is not None and case_id not in allowed:
            return []
        return [r for r in self._log.deletions(case_id)
                if r.case_id in allowed or (r.case_id is None and (self.member.admin
                                                                   or r.analyst == self.member.signature))]
