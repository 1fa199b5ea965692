"""The case log: every finding saved as it is made, in an embedded SQLite database.

Why SQLite in WAL mode with one transaction per finding: an analyst's findings are
evidence, and a refresh, a crash or a killed process must lose nothing that was already
shown. Schema versions are migrated in order, so an older case log opens in a newer
geoloc. Findings are stored whole (JSON of the ``Finding`` record) next to the columns we
search and sort by.

What is stored, and who can read it: the data folder is created 0700 and the database (with
its WAL and shared-memory files, which SQLite creates with the database's mode) and evidence
copies 0600, so other accounts on the machine cannot read findings, GPS points or originals.
Each finding is stored whole (every field of ``Finding``: file name, SHA-256, EXIF GPS, time,
camera make/model/lens, software, verdicts, checks, perceptual hash, the analyst's note) except
camera body/lens serial numbers, which are blanked unless the caller asks to keep them (the
app's "Include camera serial numbers in exports" switch).

What a deletion takes (#31): deleted findings take the kept originals no remaining finding uses, a
deleted case also its export records and its audit rows, and each deletion leaves an audit row (see
``deletion``). Freed database pages are overwritten (``secure_delete``), so deleted findings do not
linger in the file.
"""
from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from ...evidence.private_files import private_dir
from ...evidence.private_files import private_file as _private_file
from ...evidence.private_files import tighten_if_present
from ..findings import Finding, analyst_point_record, with_analyst_point
from .deletion import CASE, FINDINGS, CaseChanged, CaseDeletionPlan, DeletionRecord

DATA_DIR_ENV = "GEOLOC_DATA_DIR"
EVIDENCE_FOLDER = "evidence"  # the evidence store's folder, beside the case log
SCHEMA_VERSION = 8
MIGRATIONS: dict[int, list[str]] = {
    1: [
        "CREATE TABLE cases (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL)",
        "CREATE TABLE findings (id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL REFERENCES cases(id) "
        "ON DELETE CASCADE, sha256 TEXT NOT NULL, file TEXT NOT NULL, verdict TEXT, data TEXT NOT NULL, "
        "created_at TEXT NOT NULL)",
        "CREATE INDEX findings_case_sha ON findings(case_id, sha256)",
    ],
    2: ["ALTER TABLE findings ADD COLUMN note TEXT NOT NULL DEFAULT ''"],
    # reports and bundles (#16): the analyst's source URL per finding, and an audit row per export that
    # outlives a deleted case (case_id is then NULL; case_name keeps what it was called)
    3: ["ALTER TABLE findings ADD COLUMN source_url TEXT NOT NULL DEFAULT ''",
        "CREATE TABLE exports (id INTEGER PRIMARY KEY, case_id INTEGER REFERENCES cases(id) ON DELETE SET NULL, "
        "case_name TEXT NOT NULL, kind TEXT NOT NULL, file_name TEXT NOT NULL, sha256 TEXT NOT NULL, "
        "size_bytes INTEGER NOT NULL, analyst TEXT NOT NULL, finding_ids TEXT NOT NULL, created_at TEXT NOT NULL)"],
    4: ["ALTER TABLE findings ADD COLUMN analyst_verdict TEXT NOT NULL DEFAULT ''",  # the analyst's own assessment
        "ALTER TABLE findings ADD COLUMN analyst_tags TEXT NOT NULL DEFAULT ''"],
    # deletions (#31): one audit row per deletion. A case's own rows go with it (CASCADE); a whole case's
    # deletion is a row of the log (case_id NULL, deleted_case_id its old id), so every remaining case shows
    # it. Deleting a case now also deletes its export rows: the deletion row keeps how many there were.
    5: ["CREATE TABLE deletions (id INTEGER PRIMARY KEY, case_id INTEGER REFERENCES cases(id) ON DELETE CASCADE, "
        "deleted_case_id INTEGER, "
        "case_name TEXT NOT NULL, kind TEXT NOT NULL, findings INTEGER NOT NULL, originals INTEGER NOT NULL, "
        "original_bytes INTEGER NOT NULL, exports INTEGER NOT NULL, analyst TEXT NOT NULL, created_at TEXT NOT NULL)",
        "CREATE INDEX findings_sha ON findings(sha256)"],  # "does any finding still use this original?"
    # the analyst's own point (#32): JSON of the Finding's analyst_point_* fields, the analyst's like the note
    6: ["ALTER TABLE findings ADD COLUMN analyst_point TEXT NOT NULL DEFAULT ''"],
    # #32: the analyst's name kept with each case (reports said "Analyst: not given" after a reload); when a
    # finding was marked reviewed; and one audit row per finding whose assessment or review changed. The audit
    # rows name the finding by id, file and hash without a foreign key, so they outlive a deleted finding;
    # they go with their case, like the case's deletion rows.
    7: ["ALTER TABLE cases ADD COLUMN analyst TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE findings ADD COLUMN reviewed_at TEXT NOT NULL DEFAULT ''",
        "CREATE TABLE assessments (id INTEGER PRIMARY KEY, case_id INTEGER REFERENCES cases(id) ON DELETE CASCADE, "
        "finding_id INTEGER NOT NULL, file TEXT NOT NULL, sha256 TEXT NOT NULL, action TEXT NOT NULL, "
        "analyst_verdict TEXT NOT NULL, reviewed_at TEXT NOT NULL, analyst TEXT NOT NULL, created_at TEXT NOT NULL)"],
    # a team server (#36): each case's owner (the login's e-mail; "" for a case made without a login, which only
    # an admin sees in team mode) and its members. Who may read what is ``access``'s rule, not this file's.
    8: ["ALTER TABLE cases ADD COLUMN owner TEXT NOT NULL DEFAULT ''",
        "CREATE TABLE case_members (case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE, "
        "email TEXT NOT NULL, added_by TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (case_id, email))",
        "CREATE INDEX case_members_email ON case_members(email)"],
}
ANALYST_VERDICTS = ("", "confirmed", "refuted", "unresolved")  # "" = not assessed yet


def default_data_dir() -> Path:
    """``$GEOLOC_DATA_DIR``, else the per-user data folder (XDG on Linux)."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "geoloc"


@dataclass
class StoredFinding:
    id: int
    case_id: int
    note: str
    created_at: str
    finding: Finding
    source_url: str = ""
    reviewed_at: str = ""  # when the analyst marked it reviewed (UTC); "" = not yet


@dataclass(frozen=True)
class AssessmentRecord:
    """One finding's assessment or review as changed, in the audit trail: what it became, by whom and when."""

    id: int
    case_id: int
    finding_id: int
    file: str
    sha256: str
    action: str  # "assessment" (verdict, tags, note), "verdict" (verdict only), "reviewed", "not reviewed"
    analyst_verdict: str
    reviewed_at: str
    analyst: str
    created_at: str


@dataclass
class ExportRecord:
    """One export in the audit trail: what was exported, its SHA-256, by whom and when (UTC)."""

    id: int
    case_id: int | None
    case_name: str
    kind: str  # "bundle", "report-html", "report-pdf", "csv", "json", "geojson"
    file_name: str
    sha256: str
    size_bytes: int
    analyst: str
    finding_ids: list[int]
    created_at: str


def _finding_from_json(text: str) -> Finding:
    data = json.loads(text)
    known = {f.name for f in fields(Finding)}
    return Finding(**{k: v for k, v in data.items() if k in known})  # tolerate fields added/removed later


class CaseLog:
    """Thread-safe access to one case-log database file."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_data_dir() / "caselog.sqlite3"
        private_dir(self.path.parent)
        _private_file(self.path)
        for suffix in ("-wal", "-shm"):  # SQLite creates these with the database's mode, but be sure; they may
            tighten_if_present(f"{self.path}{suffix}")  # vanish meanwhile (another connection's close): no error
        self._lock = threading.Lock()
        with self._connect() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            self._migrate(connection)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA secure_delete=ON")  # most builds default to it; say so for those that do not
        connection.execute("PRAGMA synchronous=NORMAL")
        try:
            yield connection
        finally:
            connection.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise

    def _migrate(self, connection: sqlite3.Connection) -> None:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"{self.path} was written by a newer geoloc (schema {version} > {SCHEMA_VERSION})")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            connection.execute("BEGIN IMMEDIATE")
            for statement in MIGRATIONS[target]:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version={target}")
            connection.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        with self._connect() as connection:
            return connection.execute("PRAGMA user_version").fetchone()[0]

    # ----- cases ---------------------------------------------------------------------------
    def ensure_case(self, name: str, owner: str = "") -> int:
        """The case called ``name``, made when missing (owned by ``owner``, a login's e-mail, when made). A new
        case never takes a deleted case's id (SQLite would reuse the highest one): a bookmark, another tab or a
        running batch that still names the deleted case must not land in the new one."""
        name = name.strip() or "Untitled case"
        with self._transaction() as connection:
            row = connection.execute("SELECT id FROM cases WHERE name = ?", (name,)).fetchone()
            if row:
                return row[0]
            return connection.execute(
                "INSERT INTO cases (id, name, created_at, owner) VALUES ((SELECT MAX(top) + 1 FROM ("
                "SELECT COALESCE(MAX(id), 0) AS top FROM cases UNION ALL "
                "SELECT COALESCE(MAX(deleted_case_id), 0) FROM deletions)), ?, ?, ?)",
                (name, _now(), owner.strip().lower())).lastrowid

    def case_named(self, name: str) -> int | None:
        """The id of the case called ``name`` (as ``ensure_case`` names it), or None."""
        with self._connect() as connection:
            row = connection.execute("SELECT id FROM cases WHERE name = ?", (name.strip() or "Untitled case",)).fetchone()
        return row[0] if row else None

    # ----- owners and members (#36; the rules are in ``access``) -----------------------------
    def case_owner(self, case_id: int) -> str:
        with self._connect() as connection:
            row = connection.execute("SELECT owner FROM cases WHERE id = ?", (case_id,)).fetchone()
        return row[0] if row else ""

    def set_case_owner(self, case_id: int, owner: str) -> None:
        with self._transaction() as connection:
            connection.execute("UPDATE cases SET owner = ? WHERE id = ?", (owner.strip().lower(), case_id))

    def case_members(self, case_id: int) -> list[str]:
        """The case's members' e-mails (the owner is not among them unless added), sorted."""
        with self._connect() as connection:
            return [r[0] for r in connection.execute("SELECT email FROM case_members WHERE case_id = ? ORDER BY email",
                                                     (case_id,))]

    def add_case_member(self, case_id: int, email: str, added_by: str) -> None:
        with self._transaction() as connection:
            connection.execute("INSERT OR IGNORE INTO case_members (case_id, email, added_by, created_at) "
                               "VALUES (?, ?, ?, ?)", (case_id, email.strip().lower(), added_by.strip(), _now()))

    def remove_case_member(self, case_id: int, email: str) -> None:
        with self._transaction() as connection:
            connection.execute("DELETE FROM case_members WHERE case_id = ? AND email = ?",
                               (case_id, email.strip().lower()))

    def cases_of(self, email: str) -> set[int]:
        """The ids of the cases ``email`` owns or is a member of."""
        email = email.strip().lower()
        with self._connect() as connection:
            return {r[0] for r in connection.execute(
                "SELECT id FROM cases WHERE owner = ? AND owner != '' UNION "
                "SELECT case_id FROM case_members WHERE email = ?", (email, email))}

    def cases_of_findings(self, finding_ids: list[int]) -> dict[int, int]:
        """finding id -> its case's id, for the ids that exist."""
        with self._connect() as connection:
            return {i: row[0] for i in dict.fromkeys(finding_ids)
                    if (row := connection.execute("SELECT case_id FROM findings WHERE id = ?", (i,)).fetchone())}

    def cases_holding(self, sha256: str) -> set[int]:
        """The ids of the cases with a finding of these bytes (whose kept original they may see)."""
        with self._connect() as connection:
            return {r[0] for r in connection.execute("SELECT DISTINCT case_id FROM findings WHERE sha256 = ?",
                                                     (sha256,))}

    def cases(self) -> list[tuple[int, str, int]]:
        """(id, name, number of findings), newest first."""
        with self._connect() as connection:
            return connection.execute(
                "SELECT c.id, c.name, COUNT(f.id) FROM cases c LEFT JOIN findings f ON f.case_id = c.id "
                "GROUP BY c.id ORDER BY c.id DESC").fetchall()

    def case_analyst(self, case_id: int) -> str:
        """The analyst's name kept with the case ("" when none was given, or no such case)."""
        with self._connect() as connection:
            row = connection.execute("SELECT analyst FROM cases WHERE id = ?", (case_id,)).fetchone()
        return row[0] if row else ""

    def set_case_analyst(self, case_id: int, analyst: str) -> None:
        """Keep the analyst's name with the case, for reports, bundles and the audit trails of later sessions."""
        with self._transaction() as connection:
            connection.execute("UPDATE cases SET analyst = ? WHERE id = ?", (analyst.strip()[:200], case_id))

    def case_deletion_plan(self, case_id: int) -> CaseDeletionPlan | None:
        """What ``delete_case`` would remove now (None: no such case), for the analyst to confirm."""
        with self._connect() as connection:
            return self._case_plan(connection, case_id)

    def delete_case(self, case_id: int, analyst: str = "",
                    expected: CaseDeletionPlan | None = None) -> DeletionRecord | None:
        """Delete a case with its findings, its export records, its own audit rows and the kept originals
        no other case uses, in one transaction; the log's audit trail gets a row naming the case, what
        went, the analyst and the time. None when there is no such case. With ``expected`` (the plan the
        analyst confirmed), raises ``CaseChanged`` and deletes nothing when the case no longer matches it."""
        with self._transaction() as connection:
            plan = self._case_plan(connection, case_id)
            if plan is None:
                return None
            if expected is not None and plan != expected:
                raise CaseChanged(f"case {case_id} changed since its deletion was confirmed")
            hashes = self._case_hashes(connection, case_id)
            connection.execute("DELETE FROM exports WHERE case_id = ?", (case_id,))
            connection.execute("DELETE FROM findings WHERE case_id = ?", (case_id,))
            connection.execute("DELETE FROM cases WHERE id = ?", (case_id,))  # its deletion rows go by CASCADE
            removed, size, left = self._remove_unused_originals(connection, hashes)
            return self._record_deletion(connection, None, plan.case_name, CASE, plan.findings, removed, size,
                                         plan.exports, analyst, left, deleted_case_id=case_id)

    # ----- findings ------------------------------------------------------------------------
    def add(self, case_id: int, finding: Finding, keep_serials: bool = False) -> int:
        """Save one finding in its own transaction (durable once this returns). Camera serial
        numbers identify a person's device: they are blanked unless ``keep_serials``."""
        record = finding.to_dict()
        if not keep_serials:
            record["camera_serial"] = ""
        with self._transaction() as connection:
            return connection.execute(
                "INSERT INTO findings (case_id, sha256, file, verdict, data, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (case_id, finding.sha256, finding.file, finding.verdict, json.dumps(record), _now()),
            ).lastrowid

    def known_hashes(self, case_id: int) -> set[str]:
        with self._connect() as connection:
            return {r[0] for r in connection.execute("SELECT sha256 FROM findings WHERE case_id = ? AND sha256 != ''",
                                                     (case_id,))}

    def findings(self, case_id: int | None, search: str = "") -> list[StoredFinding]:
        """Findings of one case (``None``: of every case), oldest first."""
        query = ("SELECT id, case_id, note, created_at, data, source_url, analyst_verdict, analyst_tags, analyst_point, "
                 "reviewed_at "
                 "FROM findings WHERE (? IS NULL OR case_id = ?)")
        params: list = [case_id, case_id]
        if search.strip():
            # the analyst's text is matched literally: "IMG_41" must not match "IMGx41" (LIKE's _ and %)
            query += (" AND (" + " OR ".join(f"{column} LIKE ? ESCAPE '\\'" for column in (
                "file", "note", "verdict", "data", "analyst_verdict", "analyst_tags", "analyst_point")) + ")")
            literal = search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            like = f"%{literal}%"
            params += [like] * 7
        with self._connect() as connection:
            rows = connection.execute(query + " ORDER BY id", params).fetchall()
        stored = [StoredFinding(r[0], r[1], r[2], r[3], _finding_from_json(r[4]), r[5], r[9]) for r in rows]
        for item, row in zip(stored, rows):
            item.finding.note, item.finding.source_url = item.note, item.source_url
            item.finding.analyst_verdict, item.finding.analyst_tags = row[6], row[7]
            with_analyst_point(item.finding, row[8])
        return stored

    def earlier_findings(self, case_id: int, model: str, settings: str) -> dict[str, Finding]:
        """SHA-256 -> the latest finding made in this case with the same model and analysis settings:
        what "Skip files already in this case" may reuse (another model or thresholds: analyse again)."""
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT sha256, data FROM findings WHERE case_id = ? AND sha256 != '' "
                "AND COALESCE(json_extract(data, '$.model'), '') = ? "
                "AND COALESCE(json_extract(data, '$.analysis_settings'), '') = ? ORDER BY id",
                (case_id, model, settings)).fetchall()
        return {sha: _finding_from_json(data) for sha, data in rows}

    def set_assessment(self, finding_ids: list[int], verdict: str, tags: str, note: str, analyst: str = "") -> None:
        """The analyst's own verdict, tags and note, kept apart from the tool's verdict; one audit row per finding."""
        _check_verdict(verdict)
        with self._transaction() as connection:
            connection.executemany("UPDATE findings SET analyst_verdict = ?, analyst_tags = ?, note = ? WHERE id = ?",
                                   [(verdict, tags.strip(), note, i) for i in finding_ids])
            self._audit_assessments(connection, finding_ids, "assessment", analyst)

    def set_verdicts(self, finding_ids: list[int], verdict: str, analyst: str = "") -> int:
        """Several findings' own verdict at once (the Case log's selection); their tags and notes stay. One
        audit row per finding; returns how many findings there were."""
        _check_verdict(verdict)
        with self._transaction() as connection:
            connection.executemany("UPDATE findings SET analyst_verdict = ? WHERE id = ?",
                                   [(verdict, i) for i in finding_ids])
            return self._audit_assessments(connection, finding_ids, "verdict", analyst)

    def set_reviewed(self, finding_ids: list[int], reviewed: bool, analyst: str = "") -> int:
        """Mark findings reviewed now (or not reviewed); one audit row per finding. A finding already reviewed
        keeps its first review time."""
        with self._transaction() as connection:
            if reviewed:
                connection.executemany("UPDATE findings SET reviewed_at = ? WHERE id = ? AND reviewed_at = ''",
                                       [(_now(), i) for i in finding_ids])
            else:
                connection.executemany("UPDATE findings SET reviewed_at = '' WHERE id = ?", [(i,) for i in finding_ids])
            return self._audit_assessments(connection, finding_ids, "reviewed" if reviewed else "not reviewed",
                                           analyst)

    def _audit_assessments(self, connection: sqlite3.Connection, finding_ids: list[int], action: str,
                           analyst: str) -> int:
        """One audit row per finding (as it is after the change), in the changing transaction."""
        rows = [connection.execute("SELECT id, case_id, file, sha256, analyst_verdict, reviewed_at FROM findings "
                                   "WHERE id = ?", (i,)).fetchone() for i in dict.fromkeys(finding_ids)]
        created = _now()
        connection.executemany(
            "INSERT INTO assessments (case_id, finding_id, file, sha256, action, analyst_verdict, reviewed_at, "
            "analyst, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(r[1], r[0], r[2], r[3], action, r[4], r[5], analyst.strip(), created) for r in rows if r])
        return sum(1 for r in rows if r)

    def assessments(self, case_id: int | None = None) -> list[AssessmentRecord]:
        """The assessment audit trail, oldest first: one case's rows, or all."""
        rows = self._trail("SELECT id, case_id, finding_id, file, sha256, action, analyst_verdict, reviewed_at, "
                           "analyst, created_at FROM assessments", "case_id = ?", case_id)
        return [AssessmentRecord(*row) for row in rows]

    def set_analyst_point(self, finding_ids: list[int], finding: Finding) -> None:
        """The analyst's own point as ``finding`` carries it (``case.analyst_point.place_point``; none after
        ``clear_point``), kept apart from the tool's record like the note."""
        record = analyst_point_record(finding)
        with self._transaction() as connection:
            connection.executemany("UPDATE findings SET analyst_point = ? WHERE id = ?",
                                   [(record, i) for i in finding_ids])

    def set_note(self, finding_id: int, note: str) -> None:
        with self._transaction() as connection:
            connection.execute("UPDATE findings SET note = ? WHERE id = ?", (note, finding_id))

    def delete(self, finding_ids: list[int], analyst: str = "") -> list[DeletionRecord]:
        """Delete findings and the kept originals that no remaining finding, in any case, uses (one
        transaction); each case touched gets an audit row (returned) saying how many went, who and when."""
        with self._transaction() as connection:
            by_case: dict[int, dict[int, str]] = {}  # case -> finding id -> SHA-256
            for finding_id in dict.fromkeys(finding_ids):
                row = connection.execute("SELECT case_id, sha256 FROM findings WHERE id = ?", (finding_id,)).fetchone()
                if row:
                    by_case.setdefault(row[0], {})[finding_id] = row[1]
            records = []
            for case_id, ids in by_case.items():
                connection.executemany("DELETE FROM findings WHERE id = ?", [(i,) for i in ids])
                hashes = sorted({sha for sha in ids.values() if sha})
                removed, size, left = self._remove_unused_originals(connection, hashes)
                name = connection.execute("SELECT name FROM cases WHERE id = ?", (case_id,)).fetchone()[0]
                records.append(self._record_deletion(connection, case_id, name, FINDINGS, len(ids), removed, size,
                                                     0, analyst, left))
            return records

    # ----- deletion: originals and the audit trail ------------------------------------------
    @property
    def evidence(self) -> EvidenceStore:
        """The evidence store beside this case log, where the app keeps originals (``evidence/``)."""
        return EvidenceStore(self.path.parent / EVIDENCE_FOLDER)

    def _case_plan(self, connection: sqlite3.Connection, case_id: int) -> CaseDeletionPlan | None:
        row = connection.execute("SELECT name FROM cases WHERE id = ?", (case_id,)).fetchone()
        if row is None:
            return None
        findings = connection.execute("SELECT COUNT(*) FROM findings WHERE case_id = ?", (case_id,)).fetchone()[0]
        exports = connection.execute("SELECT COUNT(*) FROM exports WHERE case_id = ?", (case_id,)).fetchone()[0]
        only_here = [r[0] for r in connection.execute(
            "SELECT DISTINCT sha256 FROM findings f WHERE case_id = ? AND sha256 != '' AND NOT EXISTS "
            "(SELECT 1 FROM findings g WHERE g.sha256 = f.sha256 AND g.case_id != f.case_id) ORDER BY sha256",
            (case_id,))]
        store = self.evidence
        sizes = {sha: store.size(sha) for sha in only_here}
        kept = tuple(sha for sha in only_here if sizes[sha] is not None)
        return CaseDeletionPlan(case_id, row[0], findings, kept, sum(sizes[sha] for sha in kept), exports)

    @staticmethod
    def _case_hashes(connection: sqlite3.Connection, case_id: int) -> list[str]:
        return [r[0] for r in connection.execute(
            "SELECT DISTINCT sha256 FROM findings WHERE case_id = ? AND sha256 != '' ORDER BY sha256", (case_id,))]

    def _remove_unused_originals(self, connection: sqlite3.Connection,
                                 hashes: list[str]) -> tuple[int, int, list[str]]:
        """Remove the kept originals of ``hashes`` that no finding uses any more: (how many, bytes, paths
        that could not be removed). Inside the deleting transaction, which holds the database's write
        lock, so a session saving a finding of the same file waits and then keeps its original again
        (the Verify page stores the original after the finding)."""
        store, removed, size, left = self.evidence, 0, 0, []
        for sha in hashes:
            if connection.execute("SELECT 1 FROM findings WHERE sha256 = ? LIMIT 1", (sha,)).fetchone():
                continue
            try:
                freed = store.delete(sha)
            except OSError as exc:  # the rows still go: the analyst is told which file to remove by hand
                left.append(f"{exc.filename or sha} ({exc.strerror or exc})")
                continue
            if freed is not None:
                removed, size = removed + 1, size + freed
        return removed, size, left

    def _record_deletion(self, connection: sqlite3.Connection, case_id: int | None, case_name: str, kind: str,
                         findings: int, originals: int, original_bytes: int, exports: int, analyst: str,
                         left_behind: list[str], deleted_case_id: int | None = None) -> DeletionRecord:
        created = _now()
        row_id = connection.execute(
            "INSERT INTO deletions (case_id, deleted_case_id, case_name, kind, findings, originals, original_bytes, "
            "exports, analyst, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (case_id, deleted_case_id, case_name, kind, findings, originals, original_bytes, exports, analyst.strip(),
             created)).lastrowid
        return DeletionRecord(row_id, case_id, case_name, kind, findings, originals, original_bytes, exports,
                              analyst.strip(), created, tuple(left_behind))

    def deletions(self, case_id: int | None = None) -> list[DeletionRecord]:
        """The deletion audit trail, oldest first: a case's own rows and the log's (deleted cases), or all."""
        rows = self._trail("SELECT id, case_id, case_name, kind, findings, originals, original_bytes, exports, "
                           "analyst, created_at FROM deletions", "case_id = ? OR case_id IS NULL", case_id)
        return [DeletionRecord(*row) for row in rows]

    # ----- source URLs and the export audit trail (reports and bundles) ----------------------
    def set_source_url(self, finding_id: int, url: str) -> None:
        """Where the analyst found the file (their word, stored as text; never fetched)."""
        with self._transaction() as connection:
            connection.execute("UPDATE findings SET source_url = ? WHERE id = ?", (url.strip(), finding_id))

    def latest_finding(self, case_id: int, sha256: str) -> StoredFinding | None:
        """The newest finding of these bytes in the case (the one the Verify page just saved)."""
        with self._connect() as connection:
            row = connection.execute("SELECT id, case_id, note, created_at, data, source_url, analyst_point FROM "
                                     "findings WHERE case_id = ? AND sha256 = ? ORDER BY id DESC LIMIT 1",
                                     (case_id, sha256)).fetchone()
        if row is None:
            return None
        stored = StoredFinding(row[0], row[1], row[2], row[3], with_analyst_point(_finding_from_json(row[4]), row[6]),
                               row[5])
        stored.finding.note, stored.finding.source_url = stored.note, stored.source_url
        return stored

    def record_export(self, case_id: int | None, kind: str, file_name: str, sha256: str, size_bytes: int,
                      analyst: str, finding_ids: list[int] | None = None) -> int:
        """Add one export to the audit trail (its own transaction: durable once this returns)."""
        with self._transaction() as connection:
            name = connection.execute("SELECT name FROM cases WHERE id = ?", (case_id,)).fetchone() if case_id else None
            return connection.execute(
                "INSERT INTO exports (case_id, case_name, kind, file_name, sha256, size_bytes, analyst, finding_ids, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (case_id if name else None, name[0] if name else "", kind, file_name, sha256, size_bytes,
                 analyst.strip(), json.dumps(finding_ids or []), _now())).lastrowid

    def exports(self, case_id: int | None = None) -> list[ExportRecord]:
        """The audit trail, oldest first: one case's exports, or all of them."""
        rows = self._trail("SELECT id, case_id, case_name, kind, file_name, sha256, size_bytes, analyst, finding_ids, "
                           "created_at FROM exports", "case_id = ?", case_id)
        return [ExportRecord(*r[:8], json.loads(r[8]), r[9]) for r in rows]

    def _trail(self, select: str, of_case: str, case_id: int | None) -> list[tuple]:
        """An audit trail's rows, oldest first: those ``of_case`` (a WHERE clause on ``case_id``) or all."""
        where, params = (f" WHERE {of_case}", (case_id,)) if case_id is not None else ("", ())
        with self._connect() as connection:
            return connection.execute(select + where + " ORDER BY id", params).fetchall()

    def integrity_check(self) -> str:
        with self._connect() as connection:
            return connection.execute("PRAGMA integrity_check").fetchone()[0]


class EvidenceStore:
    """Optional copies of original files, content-addressed by SHA-256 (``ab/abcdef...``),
    so the bytes behind a finding can be produced later and re-hashed.

    ``put`` is atomic and idempotent across threads and processes: each writer fills its own
    uniquely named temporary file (0600) and renames it into place, so two sessions storing the
    same original at once both succeed and a reader never sees a partial file."""

    def __init__(self, folder: str | Path | None = None):
        self.folder = Path(folder) if folder else default_data_dir() / "evidence"

    def put(self, sha256: str, data: bytes) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256[:80]!r}")
        target = self.folder / sha256[:2] / sha256
        if target.exists():
            return target
        private_dir(target.parent)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{sha256[:8]}-", suffix=".tmp")
        try:  # mkstemp creates the file 0600
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            try:
                os.unlink(temporary)
            except FileNotFoundError:
                pass
            raise
        return target

    def _path(self, sha256: str) -> Path | None:
        """Where the original of ``sha256`` is kept; None for anything that is not a SHA-256 hex digest."""
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            return None
        return self.folder / sha256[:2] / sha256

    def get(self, sha256: str) -> bytes | None:
        """The kept original, or None when it was not kept."""
        target = self._path(sha256)
        return target.read_bytes() if target is not None and target.is_file() else None

    def size(self, sha256: str) -> int | None:
        """The kept original's size in bytes, or None when it was not kept."""
        target = self._path(sha256)
        return target.stat().st_size if target is not None and target.is_file() else None

    def usage(self) -> tuple[int, int]:
        """(how many originals are kept, their bytes on disk): what "Keep a copy of each original file" costs."""
        count = size = 0
        if self.folder.is_dir():
            for shard in self.folder.iterdir():
                if shard.is_dir() and len(shard.name) == 2:
                    for kept in shard.iterdir():
                        if kept.is_file() and self._path(kept.name) == kept:
                            count, size = count + 1, size + kept.stat().st_size
        return count, size

    def delete(self, sha256: str) -> int | None:
        """Remove the kept original: its size in bytes, or None when it was not kept. Raises ``OSError``
        when it is there but cannot be removed. Callers decide that no finding still uses it
        (``CaseLog.delete``); the store itself does not know the findings."""
        target = self._path(sha256)
        if target is None or not target.is_file():
            return None
        size = target.stat().st_size
        try:
            target.unlink()
        except FileNotFoundError:  # removed meanwhile by another session
            return None
        return size


def _check_verdict(verdict: str) -> None:
    if verdict not in ANALYST_VERDICTS:
        raise ValueError(f"assessment must be one of {', '.join(v for v in ANALYST_VERDICTS if v)}")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
