from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from geoloc_core.case.log.caselog import SCHEMA_VERSION, CaseLog, EvidenceStore
from geoloc_core.case.findings import Finding

ROOT = Path(__file__).resolve().parents[1]


def test_cases_findings_search_notes_delete(tmp_path):
    log = CaseLog(tmp_path / "log.sqlite3")
    case = log.ensure_case("Kharkiv strike")
    assert log.ensure_case("Kharkiv strike") == case
    ids = [log.add(case, Finding(file=f"img{i}.jpg", sha256=f"{i:064x}", verdict="consistent", software="GIMP 2.10"))
           for i in range(3)]
    assert [s.finding.file for s in log.findings(case)] == ["img0.jpg", "img1.jpg", "img2.jpg"]
    assert len(log.findings(case, "GIMP")) == 3 and len(log.findings(case, "img1")) == 1
    log.set_note(ids[1], "shadow direction checked")
    assert log.findings(case, "shadow")[0].finding.note == "shadow direction checked"
    log.delete([ids[0]])
    assert len(log.findings(case)) == 2 and log.known_hashes(case) == {f"{1:064x}", f"{2:064x}"}
    assert log.cases() == [(case, "Kharkiv strike", 2)]
    with sqlite3.connect(log.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    log.delete_case(case)
    assert log.cases() == []


def test_search_text_is_matched_literally(tmp_path):
    """LIKE's wildcards in the analyst's search are plain characters: "IMG_41" is not "IMGx41"."""
    log = CaseLog(tmp_path / "log.sqlite3")
    case = log.ensure_case("c")
    for name in ("IMG_4127.jpg", "IMGx4130.jpg", "100%.jpg", "1000.jpg", "a\\b.jpg"):
        log.add(case, Finding(file=name))
    assert [s.finding.file for s in log.findings(case, "IMG_41")] == ["IMG_4127.jpg"]
    assert [s.finding.file for s in log.findings(case, "100%")] == ["100%.jpg"]
    assert [s.finding.file for s in log.findings(case, "a\\b")] == ["a\\b.jpg"]


def test_older_schema_is_migrated(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as connection:  # a version-1 case log, as an older geoloc wrote it
        connection.executescript("""
            CREATE TABLE cases (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);
            CREATE TABLE findings (id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL, sha256 TEXT NOT NULL,
                file TEXT NOT NULL, verdict TEXT, data TEXT NOT NULL, created_at TEXT NOT NULL);
            INSERT INTO cases VALUES (1, 'old case', '2026-01-01');
            INSERT INTO findings VALUES (1, 1, 'ab', 'a.jpg', 'consistent', '{"file": "a.jpg", "retired_field": 1}', 'x');
            PRAGMA user_version = 1;
        """)
    log = CaseLog(path)
    assert log.schema_version == SCHEMA_VERSION
    stored = log.findings(1)
    assert stored[0].finding.file == "a.jpg" and stored[0].note == ""


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    with pytest.raises(RuntimeError, match="newer geoloc"):
        CaseLog(path)


WRITER = """
import sys
from geoloc_core.case.log.caselog import CaseLog
from geoloc_core.case.findings import Finding
log = CaseLog(sys.argv[1])
case = log.ensure_case("kill test")
for i in range(100000):
    log.add(case, Finding(file=f"f{i}.jpg", sha256=f"{i:064x}", message="x" * 500))
    print(i, flush=True)
"""


def test_sigkill_loses_no_saved_finding(tmp_path):
    path = tmp_path / "log.sqlite3"
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    last = -1
    started = time.time()
    while last < 200 and time.time() - started < 60:
        last = int(process.stdout.readline().split()[0])
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    log = CaseLog(path)
    assert log.integrity_check() == "ok"
    files = {s.finding.file for s in log.findings(log.cases()[0][0])}
    assert all(f"f{i}.jpg" in files for i in range(last + 1))  # everything reported saved is there
    assert all(s.finding.message == "x" * 500 for s in log.findings(log.cases()[0][0]))


def test_evidence_store_is_content_addressed(tmp_path):
    store = EvidenceStore(tmp_path / "evidence")
    path = store.put("ab" + "c" * 62, b"original bytes")
    assert path.read_bytes() == b"original bytes" and path.parent.name == "ab"
    assert store.put("ab" + "c" * 62, b"ignored") == path and path.read_bytes() == b"original bytes"


def test_data_folder_and_files_are_private(tmp_path):
    import hashlib
    import stat

    from geoloc_core.case.log.caselog import EvidenceStore

    data = tmp_path / "fresh" / "data"
    log = CaseLog(data / "caselog.sqlite3")
    log.add(log.ensure_case("c"), Finding(file="a.jpg", sha256="ab" * 32))
    original = b"original bytes"
    stored = EvidenceStore(data / "evidence").put(hashlib.sha256(original).hexdigest(), original)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(data) == 0o700 and mode(data.parent) == 0o700
    assert mode(data / "evidence") == 0o700 and mode(stored.parent) == 0o700
    files = [p for p in data.iterdir() if p.is_file()] + [stored]
    assert len(files) >= 2 and all(mode(p) == 0o600 for p in files), {p.name: oct(mode(p)) for p in files}


def test_camera_serials_are_stored_only_when_asked(tmp_path):
    log = CaseLog(tmp_path / "c.sqlite3")
    case = log.ensure_case("c")
    log.add(case, Finding(file="a.jpg", sha256="ab" * 32, camera_serial="BODY123"))
    log.add(case, Finding(file="b.jpg", sha256="cd" * 32, camera_serial="BODY456"), keep_serials=True)
    raw = (tmp_path / "c.sqlite3").read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("c.sqlite3-*"))
    assert b"BODY123" not in raw
    assert [s.finding.camera_serial for s in log.findings(case)] == ["", "BODY456"]


def test_two_writers_storing_the_same_original_both_succeed(tmp_path):
    import hashlib
    import threading

    from geoloc_core.case.log.caselog import EvidenceStore

    errors: list[BaseException] = []
    payloads = [bytes([i]) * 2_000_000 for i in range(20)]
    for data in payloads:
        digest = hashlib.sha256(data).hexdigest()
        stores = [EvidenceStore(tmp_path / "evidence"), EvidenceStore(tmp_path / "evidence")]  # two sessions
        barrier = threading.Barrier(2)

        def write(store):
            barrier.wait()
            try:
                store.put(digest, data)
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(s,)) for s in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert (tmp_path / "evidence" / digest[:2] / digest).read_bytes() == data
    assert errors == []
    assert not list((tmp_path / "evidence").rglob("*.tmp"))  # no temporary file left behind


def test_writer_thread_commits_every_finding_in_order_and_counts_only_committed_ones(tmp_path):
    """The Batch page commits on a writer thread (#18); what it counts as saved must be in the log,
    in the order given, each in its own transaction, blanking serials as ``add`` does."""
    import threading

    from geoloc_core.case.log.writer import CaseLogWriter

    log = CaseLog(tmp_path / "c.sqlite3")
    case = log.ensure_case("batch")
    gate = threading.Event()
    original_add = log.add

    def slow_add(*args, **kwargs):
        gate.wait(10)
        return original_add(*args, **kwargs)

    log.add = slow_add
    with CaseLogWriter(log, case) as writer:
        for i in range(25):
            writer.put(Finding(file=f"IMG_{i:02d}.jpg", sha256=f"{i:064x}", camera_serial="SN-1"))
        assert writer.saved == 0  # nothing committed yet, so nothing may be shown as saved
        gate.set()
    assert writer.saved == 25
    stored = log.findings(case)
    assert [s.finding.file for s in stored] == [f"IMG_{i:02d}.jpg" for i in range(25)]
    assert {s.finding.camera_serial for s in stored} == {""}


def test_writer_thread_hands_a_failed_write_to_the_page_and_writes_nothing_after_it(tmp_path):
    from geoloc_core.case.log.writer import CaseLogWriter

    log = CaseLog(tmp_path / "c.sqlite3")
    case = log.ensure_case("batch")
    original_add, calls = log.add, []

    def failing_third(case_id, finding, keep_serials=False):
        calls.append(finding.file)
        if len(calls) == 3:
            raise sqlite3.OperationalError("database or disk is full")
        return original_add(case_id, finding, keep_serials=keep_serials)

    log.add = failing_third
    writer = CaseLogWriter(log, case)
    for i in range(6):
        writer.put(Finding(file=f"f{i}.jpg", sha256=f"{i:064x}"))
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        writer.close()
    with pytest.raises(sqlite3.OperationalError):
        writer.put(Finding(file="late.jpg"))
    assert writer.saved == 2 and calls == ["f0.jpg", "f1.jpg", "f2.jpg"]
    assert [s.finding.file for s in log.findings(case)] == ["f0.jpg", "f1.jpg"]


def _kept(log: CaseLog, case_id: int, name: str, data: bytes) -> str:
    """Save a finding of ``data`` in the case and keep its original, as the app does; its SHA-256."""
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    log.add(case_id, Finding(file=name, sha256=digest))
    EvidenceStore(log.path.parent / "evidence").put(digest, data)
    return digest


def _original(log: CaseLog, digest: str) -> Path:
    return log.path.parent / "evidence" / digest[:2] / digest


def test_deleting_findings_deletes_the_originals_no_remaining_finding_uses(tmp_path):
    """#31 item 7: "Delete selected" left the kept original (evidence/ab/abcd...) on disk."""
    log = CaseLog(tmp_path / "data" / "caselog.sqlite3")
    alpha, beta = log.ensure_case("Alpha"), log.ensure_case("Beta")
    own = _kept(log, alpha, "own.jpg", b"only in alpha")
    shared = _kept(log, alpha, "shared.jpg", b"in both cases")
    _kept(log, beta, "shared-copy.jpg", b"in both cases")
    again = _kept(log, alpha, "own-again.jpg", b"only in alpha")  # a second analysis of the same file
    ids = {s.finding.file: s.id for s in log.findings(None)}

    (record,) = log.delete([ids["own.jpg"], ids["shared.jpg"]], analyst="  Ana  ")
    assert _original(log, own).exists()  # "own-again.jpg" still uses those bytes
    assert _original(log, shared).exists()  # Beta still uses them
    assert (record.case_id, record.case_name, record.kind, record.findings, record.originals) == \
        (alpha, "Alpha", "findings", 2, 0)

    (record,) = log.delete([ids["own-again.jpg"]], analyst="Ana")
    assert again == own and not _original(log, own).exists()
    assert (record.originals, record.original_bytes) == (1, len(b"only in alpha"))
    log.delete([ids["shared-copy.jpg"]])
    assert not _original(log, shared).exists()
    assert [(r.case_id, r.findings, r.originals, r.analyst) for r in log.deletions()] == \
        [(alpha, 2, 0, "Ana"), (alpha, 1, 1, "Ana"), (beta, 1, 1, "")]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", r.created_at) for r in log.deletions())
    assert log.delete([ids["own.jpg"]]) == []  # already gone: nothing to delete, nothing recorded


def test_deleting_a_case_takes_its_findings_unshared_originals_exports_and_audit_rows(tmp_path):
    log = CaseLog(tmp_path / "data" / "caselog.sqlite3")
    doomed, kept = log.ensure_case("Op <Kestrel> **x**"), log.ensure_case("Kept case")
    own = [_kept(log, doomed, f"own{i}.jpg", bytes([i]) * 1_500_000) for i in range(3)]
    shared = _kept(log, doomed, "shared.jpg", b"in both cases")
    _kept(log, kept, "shared.jpg", b"in both cases")
    log.add(doomed, Finding(file="not-kept.jpg", sha256="ef" * 32))  # analysed without keeping the original
    log.record_export(doomed, "csv", "a.csv", "a" * 64, 10, "Ana")
    log.record_export(doomed, "bundle", "b.zip", "b" * 64, 20, "Ana")
    log.record_export(kept, "csv", "k.csv", "c" * 64, 30, "Bo")
    log.add(kept, Finding(file="mistake.jpg", sha256="cd" * 32))
    log.delete([log.findings(doomed)[0].id, log.findings(kept)[-1].id])  # audit rows of both cases
    own = own[1:]  # own0 went with its finding

    plan = log.case_deletion_plan(doomed)
    assert (plan.findings, sorted(plan.originals), plan.original_bytes, plan.exports) == (4, sorted(own), 3_000_000, 2)
    assert plan.sentence() == ("Delete case 'Op <Kestrel> **x**': 4 findings, 2 kept originals (3.0 MB), "
                               "2 export records. This cannot be undone.")
    record = log.delete_case(doomed, analyst="Ana", expected=plan)

    assert [name for _, name, _ in log.cases()] == ["Kept case"] and log.findings(doomed) == []
    assert not any(_original(log, digest).exists() for digest in own)
    assert _original(log, shared).exists()  # the other case still uses it
    assert [r.file_name for r in log.exports()] == ["k.csv"]  # its export records went, the other case's stay
    trail = log.deletions(kept)  # the remaining case's audit trail: its own row, then the deleted case
    assert [(r.case_id, r.kind, r.case_name) for r in trail] == [(kept, "findings", "Kept case"),
                                                                 (None, "case", "Op <Kestrel> **x**")]
    assert trail[-1] == record
    assert (record.findings, record.originals, record.original_bytes, record.exports, record.analyst) == \
        (4, 2, 3_000_000, 2, "Ana")
    assert record.sentence() == ("Deleted case 'Op <Kestrel> **x**': 4 findings, 2 kept originals (3.0 MB), "
                                 "2 export records.")
    assert [r.case_id for r in log.deletions()] == [kept, None]  # the deleted case's own row went with it
    assert log.delete_case(doomed) is None


def test_a_case_deletion_confirmed_before_a_change_deletes_nothing(tmp_path):
    from geoloc_core.case.log.deletion import CaseChanged

    log = CaseLog(tmp_path / "data" / "caselog.sqlite3")
    case = log.ensure_case("c")
    _kept(log, case, "a.jpg", b"a")
    plan = log.case_deletion_plan(case)
    _kept(log, case, "b.jpg", b"b")  # another tab saves a finding after the analyst read the plan
    with pytest.raises(CaseChanged):
        log.delete_case(case, expected=plan)
    assert len(log.findings(case)) == 2 and log.deletions() == []
    assert log.delete_case(case, expected=log.case_deletion_plan(case)).findings == 2


def test_an_original_that_cannot_be_removed_is_named_and_the_rest_still_goes(tmp_path, monkeypatch):
    log = CaseLog(tmp_path / "data" / "caselog.sqlite3")
    case = log.ensure_case("c")
    stuck = _kept(log, case, "stuck.jpg", b"stuck")
    other = _kept(log, case, "other.jpg", b"other")
    remove = EvidenceStore.delete

    def read_only_for_stuck(store, sha256):
        if sha256 == stuck:  # as a read-only folder or file system would answer
            raise PermissionError(13, "Permission denied", str(_original(log, stuck)))
        return remove(store, sha256)

    monkeypatch.setattr(EvidenceStore, "delete", read_only_for_stuck)
    (record,) = log.delete([s.id for s in log.findings(case)])
    assert log.findings(case) == [] and not _original(log, other).exists() and _original(log, stuck).exists()
    assert record.originals == 1 and record.left_behind == (f"{_original(log, stuck)} (Permission denied)",)
    assert "1 original could not be removed: " in record.sentence()


def test_a_new_case_never_takes_a_deleted_cases_id(tmp_path):
    """SQLite hands out the highest id again once its row is gone: a bookmark (?case=2), another tab or a running
    batch that still names the deleted case would land in the next new case."""
    log = CaseLog(tmp_path / "c.sqlite3")
    first, second = log.ensure_case("first"), log.ensure_case("second")
    log.delete_case(second)
    third = log.ensure_case("third")
    assert third not in (first, second)
    log.delete_case(first)
    log.delete_case(third)
    assert log.ensure_case("fourth") > third


def test_freed_database_pages_are_overwritten(tmp_path):
    log = CaseLog(tmp_path / "c.sqlite3")
    with log._connect() as connection:
        assert connection.execute("PRAGMA secure_delete").fetchone()[0] == 1


def test_settings_file_is_private_like_the_case_log(tmp_path):
    """Issue #31: settings.json (the current case and model) was written 0644 in a 0755 folder."""
    import stat

    from geoloc_core.case.log.workspace import Workspace, load_workspace, save_workspace, workspace_path

    data = tmp_path / "fresh" / "data"
    path = workspace_path(data)
    save_workspace(path, Workspace(3, "/models/secret-op"))
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(data) == 0o700 and mode(data.parent) == 0o700 and mode(path) == 0o600
    assert load_workspace(path) == Workspace(3, "/models/secret-op")
    path.chmod(0o644)  # left readable by an older version: the next save replaces it with a private file
    save_workspace(path, Workspace(4, None))
    assert mode(path) == 0o600 and load_workspace(path) == Workspace(4, None)
    assert [p.name for p in data.iterdir()] == ["settings.json"]  # no temporary file left behind
