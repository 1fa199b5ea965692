"""Start the geoloc app (what `make run` calls): `python -m ui.serve [streamlit options]`.

Why not plain `streamlit run app.py`: Streamlit looks up the machine's public IP (an HTTP request
to checkip.amazonaws.com) and its LAN address (a UDP "connect" to 8.8.8.8) in two places, to
print an "External URL" at start-up and, later, whenever a WebSocket arrives from an origin that
is not localhost (as a fallback in its origin allow-list). Either would tell a third party that
this machine runs geoloc, and when. ``no_network_lookups`` fills Streamlit's two caches with
"none" / loopback first, so neither lookup ever happens; the server address, the allowed
hosts and the XSRF/CORS settings come from `.streamlit/config.toml`.
"""
from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"


def no_network_lookups() -> None:
    """Make Streamlit's external/internal IP helpers answer from their caches (no request)."""
    from streamlit import net_util

    net_util._external_ip = ""  # "looked up, none found": get_external_ip() returns it as is
    net_util._internal_ip = "127.0.0.1"


def main(argv: list[str] | None = None) -> None:
    from streamlit.web import cli

    no_network_lookups()
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()
