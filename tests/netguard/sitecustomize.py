"""Loaded at interpreter start when tests/netguard is on PYTHONPATH: blocks and records every
attempt to reach a non-local address, so tests can assert that nothing leaves the machine.

Records go to the file named by GEOLOC_NETGUARD_LOG, one line per attempt."""
import os
import sys

_LOG = os.environ.get("GEOLOC_NETGUARD_LOG")
_LOCAL_NAMES = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "::", "", None}


def _is_local(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    return host in _LOCAL_NAMES or str(host).startswith("127.") or str(host).startswith("::ffff:127.")


def _record(what: str) -> None:
    with open(_LOG, "a", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()} {' '.join(sys.argv[:3])[:120]}: {what}\n")


def _hook(event, args):
    if event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple) and not _is_local(address[0]):
            _record(f"connect {address}")
            raise OSError("network blocked by the geoloc test guard")
    elif event == "socket.getaddrinfo":
        if not _is_local(args[0]):
            _record(f"getaddrinfo {args[0]!r}")
            raise OSError("network blocked by the geoloc test guard")


if _LOG:
    sys.addaudithook(_hook)
