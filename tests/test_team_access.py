"""Team server (#36): analyst A cannot read, search, export or reach by id another analyst's case or its kept
originals; an admin manages membership; a member sees the case once added. Also: 10 threads writing one case
log at once lose nothing (WAL, busy timeout, one transaction per finding)."""
from __future__ import annotations

import contextlib
import sqlite3
import threading

import pytest

from geoloc_core.case.findings import Finding
from geoloc_core.case.log.access import AccessDenied, CaseNameTaken, Member, ScopedCaseLog
from geoloc_core.case.log.caselog import SCHEMA_VERSION, CaseLog

A = Member("a@example.org", "Alice Analyst")
B = Member("b@example.org", "Bob Analyst")
ADMIN = Member("boss@example.org", "Boss", admin=True)
ORIGINAL = b"\xff\xd8 the bytes of A's original"


@pytest.fixture
def team(tmp_path):
    log = CaseLog(tmp_path / "caselog.sqlite3")
    alice, bob = ScopedCaseLog(log, A), ScopedCaseLog(log, B)
    case = alice.ensure_case("Harbour fire")
    sha = "a" * 64
    finding_id = alice.add(case, Finding(file="harbour_secret.jpg", sha256=sha, verdict="consistent",
                                         software="GIMP 2.10"))
    alice.evidence.put(sha, ORIGINAL)
    alice.record_export(case, "csv", "harbour.csv", "b" * 64, 10, A.signature, [finding_id])
    alice.set_assessment([finding_id], "confirmed", "fire", "A's note", A.signature)
    return log, alice, bob, case, finding_id, sha


def test_a_case_is_its_owners_alone(team):
    log, alice, bob, case, finding_id, sha = team
    assert log.case_owner(case) == "a@example.org" and log.schema_version == SCHEMA_VERSION == 8
    assert [c[0] for c in alice.cases()] == [case]
    assert alice.findings(case)[0].finding.file == "harbour_secret.jpg"
    assert alice.evidence.get(sha) == ORIGINAL
    # B: not in the case list, not by id (a URL's ?case=), not by search, not in "seen before", no exports
    assert bob.cases() == []
    assert bob.findings(case) == [] and bob.findings(case, "harbour") == [] and bob.findings(None, "harbour") == []
    assert bob.findings(None) == [] and bob.known_hashes(case) == set() and bob.latest_finding(case, sha) is None
    assert bob.exports(case) == [] and bob.exports() == [] and bob.assessments() == [] and bob.assessments(case) == []
    assert bob.case_analyst(case) == "" and bob.case_deletion_plan(case) is None
    assert bob.earlier_findings(case, "", "") == {}
    # nor A's kept original, though its SHA-256 is no secret (reports and CSVs show it)
    assert bob.evidence.get(sha) is None and bob.evidence.size(sha) is None and bob.evidence.usage() == (0, 0)


def test_b_cannot_write_into_or_delete_as_case(team):
    log, alice, bob, case, finding_id, sha = team
    for attempt in (lambda: bob.add(case, Finding(file="planted.jpg")),
                    lambda: bob.set_note(finding_id, "overwritten"),
                    lambda: bob.set_source_url(finding_id, "http://x"),
                    lambda: bob.set_assessment([finding_id], "refuted", "", "", B.signature),
                    lambda: bob.set_verdicts([finding_id], "refuted", B.signature),
                    lambda: bob.set_reviewed([finding_id], True, B.signature),
                    lambda: bob.delete([finding_id], B.signature),
                    lambda: bob.delete_case(case, B.signature),
                    lambda: bob.record_export(case, "csv", "x.csv", "c" * 64, 1, B.signature, [finding_id]),
                    lambda: bob.record_export(None, "csv", "x.csv", "c" * 64, 1, B.signature, [finding_id]),
                    lambda: bob.add_case_member(case, "b@example.org"),
                    lambda: bob.set_case_analyst(case, "Bob")):
        with pytest.raises(AccessDenied):
            attempt()
    stored = log.findings(case)
    assert len(stored) == 1 and stored[0].note == "A's note" and stored[0].finding.analyst_verdict == "confirmed"
    assert [r.analyst for r in log.assessments(case)] == [A.signature]  # and no row of B's


def test_case_names_do_not_cross(team):
    """B asking for A's case by its name gets no way in (ensure_case used to return any case of that name)."""
    log, alice, bob, case, finding_id, sha = team
    with pytest.raises(CaseNameTaken):
        bob.ensure_case("Harbour fire")
    own = bob.ensure_case(bob.default_case_name)
    assert own != case and [c[0] for c in bob.cases()] == [own] and log.case_owner(own) == "b@example.org"


def test_membership_by_the_owner_or_an_admin(team):
    log, alice, bob, case, finding_id, sha = team
    boss = ScopedCaseLog(log, ADMIN)
    assert {c[0] for c in boss.cases()} == {case}  # an admin sees every case
    boss.add_case_member(case, "B@Example.org")
    assert log.case_members(case) == ["b@example.org"]
    assert [s.id for s in bob.findings(None, "harbour")] == [finding_id] and bob.evidence.get(sha) == ORIGINAL
    with pytest.raises(AccessDenied):  # a member works in the case but does not manage it
        bob.remove_case_member(case, "b@example.org")
    alice.remove_case_member(case, "b@example.org")  # the owner does
    assert bob.cases() == [] and bob.evidence.get(sha) is None


def test_a_case_made_without_a_login_is_the_admins(tmp_path):
    log = CaseLog(tmp_path / "caselog.sqlite3")
    old = log.ensure_case("Made on a laptop")
    assert ScopedCaseLog(log, A).cases() == [] and [c[0] for c in ScopedCaseLog(log, ADMIN).cases()] == [old]


def test_deleted_cases_rows_only_to_who_deleted_or_an_admin(team):
    log, alice, bob, case, finding_id, sha = team
    alice.delete_case(case, A.signature)
    assert [r.case_name for r in alice.deletions()] == ["Harbour fire"]
    assert bob.deletions() == []
    assert [r.case_name for r in ScopedCaseLog(log, ADMIN).deletions()] == ["Harbour fire"]


def test_schema_7_log_gains_owners_and_members(tmp_path):
    path = tmp_path / "caselog.sqlite3"
    log = CaseLog(path)
    case = log.ensure_case("old")
    # back to schema 7, as the previous geoloc left it (closing(): sqlite3's own "with" commits but never closes)
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("DROP TABLE case_members")
        connection.execute("ALTER TABLE cases DROP COLUMN owner")
        connection.execute("PRAGMA user_version = 7")
    again = CaseLog(path)
    assert again.schema_version == 8 and again.case_owner(case) == "" and again.case_members(case) == []


def test_ten_threads_writing_at_once_lose_nothing(tmp_path):
    """Ten sessions' writers, each with its own CaseLog object on one file (as ten server processes would be):
    every finding and every export row is there afterwards."""
    path = tmp_path / "caselog.sqlite3"
    case = CaseLog(path).ensure_case("shared")
    start, errors = threading.Barrier(10, timeout=300), []  # bounded: a writer that fails never hangs the rest

    def write(worker: int) -> None:
        try:
            log = CaseLog(path)
            start.wait()
            for i in range(40):
                finding_id = log.add(case, Finding(file=f"w{worker}-{i}.jpg", sha256=f"{worker:032x}{i:032x}"))
                log.record_export(case, "csv", f"w{worker}-{i}.csv", "0" * 64, 1, f"analyst {worker}", [finding_id])
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log = CaseLog(path)
    assert errors == []
    assert sorted(s.finding.file for s in log.findings(case)) == sorted(f"w{w}-{i}.jpg" for w in range(10)
                                                                       for i in range(40))
    assert len(log.exports(case)) == 400 and log.integrity_check() == "ok"


def test_sessions_opening_the_log_while_others_close_it_never_fail(tmp_path):
    """SQLite deletes the -wal and -shm files when the last connection closes; opening a CaseLog checked that
    they existed, then created and stat'ed them: a session's close in between raised FileNotFoundError in
    another session's open (seen in CI as the ten-writers test failing, and hanging at its barrier here)."""
    failures = []
    for round_ in range(30):
        path = tmp_path / f"round{round_}" / "caselog.sqlite3"
        CaseLog(path).ensure_case("shared")
        start = threading.Barrier(8, timeout=300)

        def open_log() -> None:
            try:
                start.wait()
                CaseLog(path)
            except Exception as exc:  # noqa: BLE001 (reported below)
                failures.append(f"{type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=open_log) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []


def test_tightening_a_vanished_or_open_file_neither_fails_nor_creates_it(tmp_path):
    from geoloc_core.evidence.private_files import tighten_if_present

    gone = tmp_path / "caselog.sqlite3-shm"
    tighten_if_present(gone)
    assert not gone.exists()
    loose = tmp_path / "caselog.sqlite3-wal"
    loose.write_bytes(b"x")
    loose.chmod(0o644)
    tighten_if_present(loose)
    assert loose.stat().st_mode & 0o777 == 0o600


def test_a_members_findings_are_signed_with_the_login(team):
    log, alice, bob, case, finding_id, sha = team
    assert log.findings(case)[0].finding.analysed_by == "Alice Analyst <a@example.org>"
    assert log.exports(case)[0].analyst == log.assessments(case)[0].analyst == "Alice Analyst <a@example.org>"


def test_each_analyst_has_their_own_saved_workspace(tmp_path):
    from geoloc_core.case.log.workspace import Workspace, load_workspace, save_workspace, workspace_path

    save_workspace(workspace_path(tmp_path, "a@example.org"), Workspace(3, "model-a"))
    save_workspace(workspace_path(tmp_path, "B@example.org"), Workspace(7, "model-b"))
    assert load_workspace(workspace_path(tmp_path, "A@Example.org")) == Workspace(3, "model-a")
    assert load_workspace(workspace_path(tmp_path, "b@example.org")) == Workspace(7, "model-b")
    assert workspace_path(tmp_path) == tmp_path / "settings.json"  # single-user mode: as before
    assert "example" not in workspace_path(tmp_path, "a@example.org").name  # no e-mail in a file name


def test_every_case_log_call_of_the_pages_has_a_rule(tmp_path):
    """Every attribute the app's pages and ui/ read from a case log (a name ``log``, ``self.log`` or
    ``resources.current_case_log()``) exists on ``ScopedCaseLog``: it has no fall-through to the unscoped log, so
    a page using a new ``CaseLog`` method without a rule in ``access`` would fail only on a team server."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    used: dict[str, str] = {}
    for path in [root / "app.py", *(root / "ui").glob("*.py"), *(root / "app_pages").glob("*.py"),
                 root / "geoloc_core" / "case" / "log" / "writer.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Attribute):
                continue
            owner = node.value
            is_log = (isinstance(owner, ast.Name) and owner.id == "log") or \
                (isinstance(owner, ast.Attribute) and owner.attr == "log") or \
                (isinstance(owner, ast.Call) and isinstance(owner.func, ast.Attribute)
                 and owner.func.attr == "current_case_log")
            if is_log:
                used.setdefault(node.attr, path.name)
    assert {"cases", "findings", "add", "ensure_case", "exports"} <= set(used)  # the scan sees the calls
    scoped = ScopedCaseLog(CaseLog(tmp_path / "caselog.sqlite3"), A)
    missing = {name: where for name, where in used.items() if not hasattr(scoped, name)}
    assert missing == {}
