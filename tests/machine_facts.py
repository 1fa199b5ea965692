"""What the machine had when the suite started and ended: free disk where the tests write, memory, load, and the
processes this run left behind. Printed in pytest's header and summary so a CI log that ends in failures of
unrelated tests (a full disk, a leaked server, an overloaded host) says which, without a rerun."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 1024**3:.1f} GiB"


def _available_memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return _gib(int(line.split()[1]) * 1024)
    except OSError:
        pass
    return "unknown"


def _descendants(pid: int) -> list[str]:
    """Commands of every live process below ``pid`` (Linux /proc), e.g. a server a test did not stop."""
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            words = (entry / "cmdline").read_bytes().split(b"\0")
            names[int(entry.name)] = " ".join(w.decode(errors="replace") for w in words[:4] if w)[:120]
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(names.get(child, "?"))
        todo.extend(children.get(child, []))
    return sorted(found)


def machine_facts() -> str:
    temp = tempfile.gettempdir()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"machine: {os.cpu_count()} cores, load {load}, memory available {_available_memory()}, "
            f"disk free {_gib(shutil.disk_usage(temp).free)} in {temp}, {_gib(shutil.disk_usage(ROOT).free)} "
            f"beside the checkout")


def left_behind() -> str:
    try:
        found = _descendants(os.getpid())
    except OSError:
        return "processes left running by the tests: unknown"
    return "processes left running by the tests: " + ("; ".join(found) if found else "none")
