"""Team server (#36): Host and Origin checks on every route, HTTP and WebSocket, with a reverse proxy's public
name (``--public-host``). Raw requests to a real ``python -m ui.serve`` on 127.0.0.1: a foreign Host is refused
on the page, health, metrics, static, media, OIDC and stream routes (DNS rebinding); a foreign Origin cannot open
the WebSocket; the app's own names and the proxy's name (with the https Origin a TLS proxy's page sends) can."""
from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_team_serve import AUTH
from ui.serve import origin_allowed

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = "geoloc.example.org"
ROUTES = ("/", "/_stcore/health", "/_stcore/metrics", "/_stcore/host-config", "/app/static/vendor/leaflet.js",
          "/media/0123456789abcdef.png", "/auth/login", "/oauth2callback", "/component/x/index.html")


def _first_line(port: int, request: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as connection:
        connection.sendall(request.encode("latin-1"))
        return connection.recv(4096).decode("latin-1").split("\r\n", 1)[0]


def _status(port: int, path: str, host: str) -> int:
    return int(_first_line(port, f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").split()[1])


def _upgrade(port: int, host: str, origin: str | None) -> int:
    key = base64.b64encode(os.urandom(16)).decode()
    origin_line = f"Origin: {origin}\r\n" if origin is not None else ""
    return int(_first_line(port, f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\n{origin_line}Upgrade: websocket\r\n"
                                 f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           ).split()[1])


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """``python -m ui.serve`` on loopback, as behind a reverse proxy named geoloc.example.org."""
    from tests.test_privacy import _wait_until_healthy

    folder = tmp_path_factory.mktemp("team-hosts")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (folder / "secrets.toml").write_text(AUTH)  # a public name needs a login (its provider is not asked here)
    env = {**os.environ, "GEOLOC_DATA_DIR": str(folder / "data"), "HOME": str(folder)}
    log = open(folder / "server.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "ui.serve", "--server.port", str(port), "--public-host", PUBLIC,
                               "--secrets.files", str(folder / "secrets.toml")], cwd=ROOT, env=env, stdout=log,
                              stderr=log)
    try:
        _wait_until_healthy(port, server, folder / "server.log")
        yield port
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


def test_a_foreign_host_is_refused_on_every_route(proxied):
    port = proxied
    for path in ROUTES:
        for host in ("evil.example", f"evil.example:{port}", f"{PUBLIC}.evil.example", f"127.0.0.2:{port}",
                     f"localhost:{port}@evil.example"):
            assert _status(port, path, host) in (400, 403), (path, host)
        if path.startswith("/media/"):  # a login is configured: media files need it (test_browser_team.py)
            assert _status(port, path, f"127.0.0.1:{port}") == 403
            continue
        assert _status(port, path, f"127.0.0.1:{port}") not in (400, 403), path  # the check can pass
        assert _status(port, path, PUBLIC) not in (400, 403), path
    for host in ("evil.example", f"evil.example:{port}", f"{PUBLIC}.evil.example"):
        assert _upgrade(port, host, f"http://{host}") != 101, host


def test_the_websocket_opens_only_from_the_apps_own_page(proxied):
    port = proxied
    here = f"127.0.0.1:{port}"
    assert _upgrade(port, here, f"http://{here}") == 101
    assert _upgrade(port, PUBLIC, f"https://{PUBLIC}") == 101  # the page the TLS proxy served
    assert _upgrade(port, PUBLIC, f"http://{PUBLIC}") == 101  # a proxy without TLS
    for host, origin in ((here, f"http://localhost:{port}"), (here, "http://evil.example"), (here, "null"),
                         (here, None), (PUBLIC, "https://evil.example"), (PUBLIC, f"https://{PUBLIC}:8443"),
                         (PUBLIC, f"https://{PUBLIC}.evil.example"), (PUBLIC, None), (PUBLIC, "null")):
        assert _upgrade(port, host, origin) != 101, (host, origin)


def test_origin_rule_behind_a_tls_proxy():
    """The rule alone: behind a TLS proxy the scope is ``ws`` while the page's Origin is ``https://NAME`` (it was
    refused, so the README's proxy recipe could not open the app's WebSocket)."""
    names = {PUBLIC}
    assert origin_allowed(f"https://{PUBLIC}", PUBLIC, "ws", names)
    assert origin_allowed(f"https://{PUBLIC}:443", PUBLIC, "ws", names)
    assert origin_allowed(f"https://{PUBLIC}:8443", f"{PUBLIC}:8443", "ws", names)
    assert not origin_allowed(f"https://{PUBLIC}:8443", PUBLIC, "ws", names)
    assert not origin_allowed("https://evil.example", PUBLIC, "ws", names)
    assert not origin_allowed(f"https://{PUBLIC}", PUBLIC, "ws", set())  # not a configured proxy name
    assert not origin_allowed(f"ftp://{PUBLIC}", PUBLIC, "ws", names)
