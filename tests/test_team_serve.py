"""Team server (#36), the launcher: ``python -m ui.serve`` refuses to listen beyond loopback without a login
(one sentence saying how to configure it), starts with ``--insecure-no-login`` (and the app says so on every
page), starts with a configured login, and ``--public-host`` reaches Streamlit's own allowed hosts.

The launches stop just before the server binds (``bootstrap.run`` replaced by a probe that prints what the
checks left in Streamlit's configuration): nothing listens beyond loopback during the tests."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui.login import INSECURE_BANNER, INSECURE_ENV, is_admin, member_from_claims
from ui.serve import is_loopback, take_team_flags

ROOT = Path(__file__).resolve().parents[1]
PROBE = ("import sys, streamlit.web.bootstrap as b\n"
         "from streamlit import config\n"
         "b.run = lambda *a, **k: print('SERVING', config.get_option('server.address'), "
         "config.get_option('server.allowedHosts'))\n"
         "from ui.serve import main\n"
         "main(sys.argv[1:])\n")
AUTH = """[auth]
redirect_uri = "http://localhost:8501/oauth2callback"
cookie_secret = "a test secret, long enough to sign cookies"
client_id = "geoloc"
client_secret = "geoloc-secret"
server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"
"""


def _launch(tmp_path: Path, *flags: str, secrets: str = "") -> subprocess.CompletedProcess:
    (tmp_path / "secrets.toml").write_text(secrets)
    env = {**os.environ, "HOME": str(tmp_path), "GEOLOC_DATA_DIR": str(tmp_path / "data")}
    env.pop(INSECURE_ENV, None)
    return subprocess.run([sys.executable, "-c", PROBE, "--secrets.files", str(tmp_path / "secrets.toml"), *flags],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("address", ["0.0.0.0", "192.0.2.10", "::", ""])
def test_a_network_address_without_a_login_is_refused_in_one_sentence(tmp_path, address):
    result = _launch(tmp_path, "--server.address", address)
    assert result.returncode == 2 and "SERVING" not in result.stdout, result.stdout + result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message, message
    for needed in ("will not serve", "without a login", ".streamlit/secrets.toml", "[auth]", "client_id", "server_metadata_url",
                   "Serving a team", "--insecure-no-login"):
        assert needed in message, (needed, message)


def test_a_public_name_without_a_login_is_refused_even_on_loopback(tmp_path):
    """A reverse proxy on this machine serves the network from 127.0.0.1: naming it needs the login too."""
    result = _launch(tmp_path, "--server.address", "127.0.0.1", "--public-host", "geoloc.example.org")
    assert result.returncode == 2 and "geoloc.example.org without a login" in result.stderr
    assert _launch(tmp_path, "--server.address", "127.0.0.1", "--public-host", "geoloc.example.org",
                   secrets=AUTH).stdout.startswith("SERVING 127.0.0.1")


def test_a_network_address_without_xsrf_is_refused(tmp_path):
    for off in ("--server.enableXsrfProtection=false", "--server.enableCORS=false"):
        result = _launch(tmp_path, "--server.address", "0.0.0.0", off, "--insecure-no-login", secrets=AUTH)
        assert result.returncode == 2 and "server.enableXsrfProtection" in result.stderr, result.stderr
    assert _launch(tmp_path, "--server.address", "127.0.0.1", "--server.enableXsrfProtection=false"
                   ).stdout.startswith("SERVING")  # a laptop keeps its own choice


def test_loopback_a_login_or_the_lab_flag_serve(tmp_path):
    assert _launch(tmp_path, "--server.address", "127.0.0.1").stdout.startswith("SERVING 127.0.0.1")
    lab = _launch(tmp_path, "--server.address", "0.0.0.0", "--insecure-no-login")
    assert lab.returncode == 0 and lab.stdout.startswith("SERVING 0.0.0.0"), lab.stderr
    team = _launch(tmp_path, "--server.address", "0.0.0.0", "--public-host", "Geoloc.Example.org", secrets=AUTH)
    assert team.returncode == 0 and team.stdout.startswith("SERVING 0.0.0.0"), team.stderr
    assert "'geoloc.example.org'" in team.stdout  # Streamlit's own WebSocket Host check now accepts the proxy's name
    half = _launch(tmp_path, "--server.address", "0.0.0.0", secrets=AUTH.replace("client_secret", "# client_secret"))
    assert half.returncode == 2 and "[auth]" in half.stderr  # an incomplete [auth] is no login


def test_team_flags_and_loopback_rule():
    assert take_team_flags(["--server.port", "1", "--insecure-no-login", "--public-host", "A.org",
                            "--public-host=b.org"]) == (["--server.port", "1"], True, ["a.org", "b.org"])
    for bad in ("https://a.org", "a.org:443", "a.org/x", "localhost", ""):
        with pytest.raises(SystemExit):
            take_team_flags(["--public-host", bad])
    assert all(is_loopback(a) for a in ("127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"))
    assert not any(is_loopback(a) for a in ("", "0.0.0.0", "::", "192.0.2.1", "127.evil.org"))


def test_the_lab_banner_is_on_every_page(monkeypatch, tmp_path):
    monkeypatch.setenv("GEOLOC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(INSECURE_ENV, "1")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    for page in ("app_pages/verify.py", "app_pages/batch.py", "app_pages/cases.py", "app_pages/shadows.py",
                 "app_pages/model.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert any(w.value == INSECURE_BANNER for w in at.warning), page
    monkeypatch.delenv(INSECURE_ENV)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not any(w.value == INSECURE_BANNER for w in at.warning)


def test_identity_from_the_login_claims():
    settings = {"admins": ["Boss@Example.org"], "admin_claim": "groups", "admin_claim_value": "geoloc-admins"}
    alice = member_from_claims({"email": "Alice@Example.org", "name": "Alice A", "email_verified": True}, settings)
    assert (alice.email, alice.name, alice.admin, alice.signature) == ("alice@example.org", "Alice A", False,
                                                                      "Alice A <alice@example.org>")
    assert member_from_claims({"email": "boss@example.org"}, settings).admin
    assert member_from_claims({"email": "c@example.org", "groups": ["x", "geoloc-admins"]}, settings).admin
    assert not is_admin("c@example.org", {"groups": "geoloc-admins-not"}, settings)
    assert member_from_claims({"email": "d@example.org", "email_verified": False}, settings) is None
    assert member_from_claims({"name": "no mail"}, settings) is None
