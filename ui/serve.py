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

Why an ASGI middleware around the app Streamlit builds (``create_starlette_app``) and not Streamlit's own
checks: Streamlit 1.67 serves with Starlette, and its one Host check (``is_host_allowed`` against
``server.allowedHosts``) runs in the WebSocket handler only; its HTTP routes (``/``, ``/_stcore/health``,
``/_stcore/metrics``, ``/media/...``, ``/app/static/...``, the OIDC routes) have no Host check at all, and no
per-route hook exists. The outermost middleware sees every request and WebSocket handshake before any route.

Team mode (#36): the server refuses to listen beyond loopback without a login (``refuse_network_without_login``,
run once Streamlit has read its configuration and before it binds); ``--insecure-no-login`` starts it anyway
for a lab and every page says so; ``--public-host NAME`` names the reverse proxy's public name, which the Host
check, Streamlit's own WebSocket check and the Origin check then accept (see README "Serving a team"). With a
login configured the guard also keeps Streamlit's media files (``/media/...``: page images, the reports and
bundles behind download buttons) from any browser without a valid login cookie.
"""
from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

APP = Path(__file__).resolve().parents[1] / "app.py"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
LOOPBACK_ADDRESSES = ("localhost", "::1")  # and every 127.x.y.z
INSECURE_FLAG, PUBLIC_HOST_FLAG = "--insecure-no-login", "--public-host"
INSECURE_ENV = "GEOLOC_INSECURE_NO_LOGIN"  # read by the app (ui.login) in this process: the banner on every page
NO_LOGIN_REFUSAL = ("geoloc will not serve {address} without a login: configure OpenID Connect in "
                    ".streamlit/secrets.toml ([auth] redirect_uri, cookie_secret, client_id, client_secret, "
                    "server_metadata_url; README \"Serving a team\"), or pass --insecure-no-login for a lab network.")
NO_XSRF_REFUSAL = ("geoloc will not serve {address} with server.enableXsrfProtection or server.enableCORS off: "
                   "another site's page could then post uploads or open the app's WebSocket as a signed-in analyst; "
                   "remove those settings (.streamlit/config.toml sets both true).")
LOGIN_ONLY_PREFIXES = ("/media/",)  # with a login configured: served only to a signed-in browser
REFUSED = (b"Refused: this server answers only its own address, WebSockets only from its own page, and its files "
           b"only to a signed-in browser when a login is configured.\n")


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


def origin_allowed(origin: str | None, host: str | None, scheme: str, proxy_names=()) -> bool:
    """A WebSocket only from the app's own page: its Origin is exactly the scheme and host it was loaded from
    (``ws``/``wss`` are the page's ``http``/``https``); no Origin, ``null`` or any other port is refused.

    Behind a reverse proxy (the Host is one of ``proxy_names``) the page was loaded over the proxy's TLS while
    the proxy talks plain HTTP to the app, so the Origin is ``https://NAME`` for a ``ws`` scope: there the Origin
    must name exactly the Host the proxy passed on, over ``https`` (or ``http``, for a proxy without TLS)."""
    page_scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    try:
        parts = urlsplit(origin or "")
    except ValueError:
        return False
    if parts.path or parts.query or parts.fragment:
        return False
    behind_proxy = _host_and_port(host or "", page_scheme)
    if behind_proxy is not None and behind_proxy[0] in proxy_names and parts.scheme in ("http", "https"):
        # the Host as the browser sent it (the proxy keeps it), at the Origin's own scheme's default port
        return _host_and_port(host or "", parts.scheme) == _host_and_port(parts.netloc, parts.scheme)
    if parts.scheme != page_scheme:
        return False
    own = _host_and_port(host or "", page_scheme)
    return own is not None and _host_and_port(parts.netloc, page_scheme) == own


class HostAndOriginGuard:
    """ASGI middleware around Streamlit's app: every HTTP request and WebSocket must name this app in its Host
    header, a WebSocket must come from the app's exact origin, and with a login configured a media file goes only
    to a signed-in browser. The port is read per request, because Streamlit sets it only once its socket is
    bound."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket") and not (self.allowed(scope) and self.signed_in_if_needed(scope)):
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
    def signed_in_if_needed(scope) -> bool:
        """With a login configured (#36), Streamlit's media files (images on the pages, the files behind download
        buttons: reports and evidence bundles) go only to a browser holding a valid login cookie: Streamlit serves
        them to anyone who has the URL, and a URL can leak (a proxy's log, a shared screen, a history file). The
        cookie is Streamlit's own, checked as its WebSocket checks it (signature, then origin)."""
        if scope["type"] != "http" or not scope.get("path", "").startswith(LOGIN_ONLY_PREFIXES):
            return True
        from ui.login import auth_configured

        return not auth_configured() or login_cookie_valid(scope)

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
        return scope["type"] != "websocket" or origin_allowed(origins[0] if origins else None, hosts[0], scheme,
                                                              proxy_names)


def login_cookie_valid(scope) -> bool:
    """Whether the request carries Streamlit's signed login cookie for this app (``is_logged_in``)."""
    from starlette.requests import HTTPConnection
    from streamlit.auth_util import get_origin_from_redirect_uri
    from streamlit.web.server.starlette.starlette_server_config import USER_COOKIE_NAME
    from streamlit.web.server.starlette.starlette_websocket import (_get_signed_cookie_with_chunks,
                                                                    _parse_decoded_user_cookie)

    try:
        origin = get_origin_from_redirect_uri()
        raw = _get_signed_cookie_with_chunks(HTTPConnection(scope).cookies, USER_COOKIE_NAME)
        return bool(origin and raw and _parse_decoded_user_cookie(raw, origin).get("is_logged_in"))
    except Exception:  # noqa: BLE001 (a malformed cookie is no login)
        return False


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


def is_loopback(address: str) -> bool:
    """Whether ``server.address`` listens on this machine only ("" and 0.0.0.0 listen everywhere)."""
    name = (address or "").strip().strip("[]").lower()
    return name in LOOPBACK_ADDRESSES or (name.startswith("127.") and name.replace(".", "").isdigit())


def take_team_flags(argv: list[str]) -> tuple[list[str], bool, list[str]]:
    """Split geoloc's own flags from Streamlit's: (the rest, ``--insecure-no-login`` given, the public host names
    of ``--public-host NAME`` / ``--public-host=NAME``, repeatable)."""
    rest, insecure, public = [], False, []
    items = iter(argv)
    for item in items:
        if item == INSECURE_FLAG:
            insecure = True
        elif item == PUBLIC_HOST_FLAG:
            public.append(next(items, ""))
        elif item.startswith(PUBLIC_HOST_FLAG + "="):
            public.append(item.split("=", 1)[1])
        else:
            rest.append(item)
    bad = [name for name in public if not valid_public_host(name)]
    if bad:
        raise SystemExit(f"--public-host takes a host name such as geoloc.example.org (no scheme, port or path), "
                         f"not {bad[0]!r}.")
    return rest, insecure, [name.strip().lower().rstrip(".") for name in public]


def valid_public_host(name: str) -> bool:
    found = _host_and_port(name.strip(), "https")
    return found is not None and ":" not in name.strip() and found[0] not in LOOPBACK_NAMES


def refuse_network_without_login(insecure: bool, public_hosts: list[str] = ()) -> None:
    """Exit with one sentence when Streamlit is configured (flags, config.toml or environment: read by now) to
    listen beyond loopback, or to answer a reverse proxy's public name (``--public-host``: the proxy may sit on
    this machine, in front of a loopback address), with no OIDC login configured, unless ``insecure``
    (``--insecure-no-login``)."""
    from streamlit import config

    from ui.login import auth_configured

    address = config.get_option("server.address") or ""
    if is_loopback(address) and not public_hosts:
        return
    where = (address if not is_loopback(address) else public_hosts[0]) or "every network interface"
    if not (config.get_option("server.enableXsrfProtection") and config.get_option("server.enableCORS")):
        sys.stderr.write(NO_XSRF_REFUSAL.format(address=where) + "\n")  # own text: a terminal
        raise SystemExit(2)
    if insecure or auth_configured():
        return
    sys.stderr.write(NO_LOGIN_REFUSAL.format(address=where) + "\n")  # own text: a terminal
    raise SystemExit(2)


def team_checks(insecure: bool, public_hosts: list[str]) -> None:
    """Run ``refuse_network_without_login`` and add ``public_hosts`` to ``server.allowedHosts`` (Streamlit's own
    WebSocket Host check reads it, as does ``HostAndOriginGuard``) once Streamlit has loaded its configuration,
    just before it starts the server: the one moment the address is known from every source."""
    from streamlit import config
    from streamlit.web import bootstrap

    run = bootstrap.run

    def checked(*args, **kwargs):
        refuse_network_without_login(insecure, public_hosts)
        if public_hosts:
            config.set_option("server.allowedHosts",
                              [*(config.get_option("server.allowedHosts") or []), *public_hosts])
        return run(*args, **kwargs)

    bootstrap.run = checked


def no_network_lookups() -> None:
    """Make Streamlit's external/internal IP helpers answer from their caches (no request)."""
    from streamlit import net_util

    net_util._external_ip = ""  # "looked up, none found": get_external_ip() returns it as is
    net_util._internal_ip = "127.0.0.1"


def main(argv: list[str] | None = None) -> None:
    from streamlit.web import cli

    import os

    rest, insecure, public_hosts = take_team_flags(sys.argv[1:] if argv is None else argv)
    if insecure:
        os.environ[INSECURE_ENV] = "1"  # the app, in this process, shows its banner on every page
    no_network_lookups()
    guard_host_and_origin()
    team_checks(insecure, public_hosts)
    sys.argv = ["streamlit", "run", str(APP), *rest]
    cli.main()


if __name__ == "__main__":
    main()
