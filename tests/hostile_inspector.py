"""An inspector that misbehaves on marked files, for the worker-pool tests (runs in the isolated
worker; kept in a module of its own so the worker imports nothing else of the tests)."""
from __future__ import annotations

import os
import time

from geoloc_core.evidence.inspection import inspect_file


def hostile_inspector(data: bytes):
    """Hangs, crashes or balloons on files marked HANG, CRASH or HUGE; inspects the others."""
    if data.startswith(b"HANG"):
        time.sleep(600)
    if data.startswith(b"CRASH"):
        os._exit(7)
    if data.startswith(b"HUGE"):
        return b"x" * (8 * 1024**3)
    return inspect_file(data)


def loaded_modules(names: list[str]) -> list[str]:
    """Which of ``names`` the worker process has imported (for the start-up cost tests)."""
    import sys

    return [name for name in names if name in sys.modules]
