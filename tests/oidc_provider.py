"""Start the test OpenID Connect provider (tests/oidc: npm's oidc-provider, OpenID certified) on 127.0.0.1 for
the team-login tests (#36), and write the secrets.toml that points an app at it."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

FOLDER = Path(__file__).resolve().parent / "oidc"
CLIENT_ID, CLIENT_SECRET = "geoloc", "geoloc-test-secret"  # as tests/oidc/provider.mjs defines them


def start_provider(port: int, redirect_uri: str, log_path: Path, users: dict | None = None) -> subprocess.Popen:
    """The provider on ``127.0.0.1:port``, its one client allowed to return to ``redirect_uri``; waits until it
    listens. ``users``: more accounts, {login: claims}, beside alice and bob. Fails (not skips) when node or the locked packages are missing: `make setup-test` installs both."""
    node = shutil.which("node")
    if node is None or not (FOLDER / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("the test OIDC provider is not installed: run `make setup-test` (node, npm ci in tests/oidc)")
    log = open(log_path, "w")
    env = {**os.environ, "GEOLOC_OIDC_EXTRA_USERS": json.dumps(users or {})}
    process = subprocess.Popen([node, str(FOLDER / "provider.mjs"), str(port), redirect_uri], cwd=FOLDER,
                               stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        if "READY" in log_path.read_text():
            return process
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    pytest.fail("the OIDC provider did not start: " + log_path.read_text()[-2000:])


def write_secrets(path: Path, app_port: int, provider_port: int, admins: tuple[str, ...] = ()) -> Path:
    """Streamlit's [auth] section for the app on ``app_port`` and the provider on ``provider_port``."""
    admin_list = ", ".join(f'"{a}"' for a in admins)
    path.write_text(f"""[auth]
redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"
cookie_secret = "team-login-test-cookie-secret-0123456789"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
server_metadata_url = "http://127.0.0.1:{provider_port}/.well-known/openid-configuration"

[auth.client_kwargs]
prompt = "login"

[geoloc]
admins = [{admin_list}]
""")
    return path


@contextmanager
def team_server(folder: Path, model_dir: Path, users: dict | None = None):
    """The provider and ``python -m ui.serve`` with a login pointing at it, both on 127.0.0.1 (the app under
    netguard, its off-server requests logged in ``folder/net.log``); yields the app's URL once it answers, and
    stops both after. ``users``: more provider accounts, as ``start_provider`` takes them."""
    from tests.test_browser import _free_port, _stop_server, _wait_until_healthy

    root = Path(__file__).resolve().parents[1]
    app_port, provider_port = _free_port(), _free_port()
    provider = start_provider(provider_port, f"http://127.0.0.1:{app_port}/oauth2callback", folder / "oidc.log",
                              users=users)
    secrets = write_secrets(folder / "secrets.toml", app_port, provider_port)
    env = {**os.environ, "GEOLOC_DATA_DIR": str(folder / "data"), "GEOLOC_MODEL": str(model_dir),
           "HOME": str(folder), "PYTHONPATH": os.pathsep.join([str(root / "tests" / "netguard"), str(root)]),
           "GEOLOC_NETGUARD_LOG": str(folder / "net.log")}
    log = open(folder / "server.log", "a")
    try:
        server = subprocess.Popen([sys.executable, "-m", "ui.serve", "--server.port", str(app_port),
                                   "--secrets.files", str(secrets)], cwd=root, env=env, stdout=log, stderr=log)
        url = f"http://127.0.0.1:{app_port}"
        try:
            _wait_until_healthy(server, url, folder / "server.log", seconds=120)
            yield url
        finally:
            _stop_server(server, log)
    finally:
        provider.terminate()
        provider.wait(timeout=30)
