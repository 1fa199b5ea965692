"""Describe the machine a benchmark ran on, so every number is printed with its context."""
from __future__ import annotations

import os
import platform
import statistics


def machine_info() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            mem_gib = int(handle.readline().split()[1]) / 1024**2
    except (OSError, ValueError, IndexError):
        mem_gib = float("nan")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpu}, {cores} cores, {mem_gib:.0f} GiB RAM, Python {platform.python_version()}, {platform.system()}"


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"\n## {title}\nmachine: {machine_info()}\n")
    print(f"| {'measure'.ljust(width)} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for key, value in rows:
        print(f"| {key.ljust(width)} | {value} |")


def median_range(values: list[float], scale: float = 1.0, unit: str = "ms", digits: int = 1) -> str:
    """The median of repeated measurements and their range, e.g. "12.25 s (range 11.46-12.70)": every
    timing here is a spread of runs on a shared machine, never one number."""
    values = [v * scale for v in values]
    unit = f" {unit}" if unit else ""
    return (f"{statistics.median(values):,.{digits}f}{unit} (range {min(values):,.{digits}f}-"
            f"{max(values):,.{digits}f})")
