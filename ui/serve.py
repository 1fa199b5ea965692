"""Start the geoloc app (what `make run` calls): `python -m ui.serve [streamlit options]`.

Why not plain `streamlit run app.py`: Streamlit looks up the machine's public IP (an HTTP request
to checkip.amazonaws.com) and its LAN address (a UDP "connect" to 8.8.8.8) in two places, to
print an "External URL" at start-up and, later, whenever a WebSocket arrives from an origin that
is not localhost (as a fallback in its origin allow-list). Either would tell a third party that
this machine runs geoloc, and when. ``no_network_lookups`` fills Streamlit's two caches with
"none" / loopback first, so neither lookup ever happens; the server address, the allowed
hosts and the XSRF/CORS settings come from `.streamlit/config.toml`.

Streamlit checks the Host header only on its WebSocket, and accepts a WebSocket from any
``http://localhost:<port>`` origin. ``HostAndOriginGuard`` wraps the whole app: every HTTP
route (``/_stcore/metrics`` included) answers only the app's own names, so a page whose name
is rebound to 127.0.0.1 (DNS rebinding) reads nothing, and a WebSocket opens only from the
app's exact origin (scheme, host and port), so another local web page cannot drive the app.
"""
from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

APP = Path(__file__).resolve().parents[1] / "app.py"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
REFUSED = b"Refused: this server answers only its own address, and WebSockets only from its own page.\n"


def _host_and_port(netloc: str, scheme: str) -> tuple[str, int] | None:
    """``"LocalHost:8501"`` -> ("localhost", 8501); ``"[::1]"`` -> ("::1", the scheme's port); anything with a
    user, a path or a bad port -> None."""
    try:
        parts = urlsplit(f"//{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.password is not None or parts.path or \
            parts.query or parts.fragment or "@" in netloc:
        return None
    return parts.hostname.lower().rstrip("."), port if port is not None else DEFAULT_PORTS.get(scheme, 80)


def host_allowed(host: str | None, scheme: str, port: int, address: str, proxy_names=()) -> bool:
    """Whether a request's Host header names this app: ``localhost``, ``127.0.0.1``, ``[::1]`` or the configured
    ``address``, at the app's ``port``; or one of ``proxy_names`` (a reverse proxy's public name from
    ``server.allowedHosts``, at the proxy's own port, which is not the app's)."""
    found = _host_and_port(host or "", scheme)
    if found is None:
        return False
    name, its_port = found
    own = {*LOOPBACK_NAMES, *([address.strip().strip("[]").lower()] if address and address.strip() else [])}
    return (name in own and its_port == port) or name in proxy_names


def origin_allowed(origin: str | None, host: str | None, scheme: str) -> bool:
    """A WebSocket only from the app's own page: its Origin is exactly the scheme and host it was loaded from
    (``ws``/``wss`` are the page's ``http``/``https``); no Origin, ``null`` or any other port is refused."""
    page_scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    try:
        parts = urlsplit(origin or "")
    except ValueError:
        return False
    if parts.scheme != page_scheme or parts.path or parts.query or parts.fragment:
        return False
    own = _host_and_port(host or "", page_scheme)
    return own is not None and _host_and_port(parts.netloc, page_scheme) == own


class HostAndOriginGuard:
    """ASGI middleware around Streamlit's app: every HTTP request and WebSocket must name this app in its Host
    header, and a WebSocket must come from the app's exact origin. The port is read per request, because
    Streamlit sets it only once its socket is bound."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket") and not self.allowed(scope):
            if scope["type"] == "websocket":
                await receive()  # websocket.connect; closing before accepting refuses the handshake (403)
                await send({"type": "websocket.close", "code": 1008})
            else:
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                        (b"content-length", str(len(REFUSED)).encode())]})
                await send({"type": "http.response.body", "body": REFUSED})
            return
        await self.app(scope, receive, send)

    @staticmethod
    def allowed(scope) -> bool:
        from streamlit import config

        headers = [(key.decode("latin-1").lower(), value.decode("latin-1")) for key, value in scope["headers"]]
        hosts = [value for key, value in headers if key == "host"]
        origins = [value for key, value in headers if key == "origin"]
        if len(hosts) != 1 or len(origins) > 1:
            return False
        scheme = scope.get("scheme", "http")
        proxy_names = {name.strip().lower().rstrip(".") for name in config.get_option("server.allowedHosts") or []
                       if name.strip() and "*" not in name} - set(LOOPBACK_NAMES)
        if not host_allowed(hosts[0], scheme, int(config.get_option("server.port")),
                            config.get_option("server.address") or "", proxy_names):
            return False
        return scope["type"] != "websocket" or origin_allowed(origins[0] if origins else None, hosts[0], scheme)


def guard_host_and_origin() -> None:
    """Wrap the app Streamlit's server builds in ``HostAndOriginGuard`` (outermost, before its own middleware)."""
    from streamlit.web.server.starlette import starlette_server

    build = starlette_server.create_starlette_app
    if getattr(build, "geoloc_guarded", False):
        return

    def guarded(*args, **kwargs):
        app = build(*args, **kwargs)
        app.add_middleware(HostAndOriginGuard)
        return app

    guarded.geoloc_guarded = True
    starlette_server.create_starlette_app = guarded


def no_network_lookups() -> None:
    """Make Streamlit's external/internal IP helpers answer from their caches (no request)."""
    from streamlit import net_util

    net_util._external_ip = ""  # "looked up, none found": get_external_ip() returns it as is
    net_util._internal_ip = "127.0.0.1"


def main(argv: list[str] | None = None) -> None:
    from streamlit.web import cli

    no_network_lookups()
    guard_host_and_origin()
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()
