from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from geoloc_core.case.caselog import SCHEMA_VERSION, CaseLog, EvidenceStore
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
from geoloc_core.case.caselog import CaseLog
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
