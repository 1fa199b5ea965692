"""Team mode (#36) through Streamlit's AppTest (no browser, no provider: ``AppTest.user`` is the signed-in
identity): the login is required, the login names the analyst (no free-text field), and an analyst's case list,
a URL's ``?case=`` and the Case log show only their cases."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit import config
from streamlit.runtime.secrets import secrets_singleton
from streamlit.testing.v1 import AppTest

from geoloc_core.case.findings import Finding
from geoloc_core.case.log.caselog import CaseLog
from tests.test_team_serve import AUTH

ROOT = Path(__file__).resolve().parents[1]
ALICE = {"is_logged_in": True, "email": "alice@example.org", "email_verified": True, "name": "Alice Analyst"}
BOB = {"is_logged_in": True, "email": "bob@example.org", "email_verified": True, "name": "Bob Reporter"}


@pytest.fixture
def team_secrets(tmp_path, monkeypatch):
    """[auth] configured (Streamlit's own check reads the secrets files, which ``at.secrets`` does not reach)."""
    monkeypatch.setenv("GEOLOC_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "secrets.toml").write_text(AUTH)
    before = config.get_option("secrets.files")
    config.set_option("secrets.files", [str(tmp_path / "secrets.toml")])
    secrets_singleton._secrets = None  # read again from the file just configured
    yield tmp_path / "data" / "caselog.sqlite3"
    config.set_option("secrets.files", before)
    secrets_singleton._secrets = None


def _run(user: dict | None, query: dict | None = None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if user is not None:
        at.user = user
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _texts(at: AppTest) -> str:
    """Every text element as read (Markdown's escapes and the word joiners after "@" taken out)."""
    kinds = ("caption", "markdown", "text", "info", "error", "title")
    shown = "\n".join(str(e.value) for root in (at, at.sidebar) for kind in kinds for e in getattr(root, kind))
    return re.sub(r"\\(.)", r"\1", shown).replace("\u2060", "")


def test_no_page_without_the_login(team_secrets):
    at = _run({"is_logged_in": False})
    assert [b.label for b in at.button] == ["Log in"]
    assert "Sign in to see your cases." in _texts(at) and not at.sidebar.selectbox


def test_each_analyst_sees_only_their_cases_and_signs_with_the_login(team_secrets):
    alice = _run(ALICE)
    assert "Signed in as Alice Analyst <alice@example.org>" in _texts(alice)
    assert "Analyst: Alice Analyst <alice@example.org> (from your login)" in _texts(alice)
    assert not [t for t in alice.sidebar.text_input if t.label == "Analyst name"]
    log = CaseLog(team_secrets)
    [(alice_case, alice_name, _)] = log.cases()
    assert alice_name == "Cases of alice@example.org" and log.case_owner(alice_case) == "alice@example.org"
    log.add(alice_case, Finding(file="harbour_secret.jpg", sha256="a" * 64, analysed_by="Alice"))

    bob = _run(BOB, {"case": str(alice_case)}, "app_pages/cases.py")  # Alice's case by the page's address
    case_select = bob.sidebar.selectbox(key="case_select")
    assert case_select.value != alice_case and alice_case not in case_select.options + [case_select.value]
    assert case_select.format_func(case_select.value) == "Cases of bob@example.org"
    texts = _texts(bob)
    assert "harbour_secret" not in texts and "alice" not in texts.lower()
    bob.text_input(key="case_search").input("harbour").run()
    assert "No findings in this case yet." in _texts(bob)


def test_a_member_is_not_shown_where_the_server_keeps_the_case_log(team_secrets):
    """The Case log page named the SQLite file's path on the server to every analyst; a member who is not an
    admin has no use for it (the server's folders are the admin's business), single-user mode keeps it."""
    bob = _texts(_run(BOB, page="app_pages/cases.py"))
    assert str(team_secrets) not in bob and "caselog.sqlite3" not in bob
    assert "stored on this team server" in bob


def test_single_user_mode_still_says_where_the_case_log_is(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOLOC_DATA_DIR", str(tmp_path / "data"))
    assert "caselog.sqlite3" in _texts(_run(None, page="app_pages/cases.py"))
