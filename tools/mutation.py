"""Mutation testing of the verdict-critical modules: ``make mutation`` (a measurement, not part of ``make test``).

Why mutation testing: line coverage says a line ran, not that a test would notice it being wrong. mutmut
changes one thing at a time in a function (a comparison flipped, a constant moved by one, ``and`` for
``or``, a string or an argument dropped, a return replaced by None) and runs the tests that reach that
function; a mutant that no test notices marks a rule an analyst relies on that nothing pins.

Why mutmut 3 (pinned in requirements-test.txt): it is maintained, runs on Python 3.11, generates all
mutants of a file at once behind a trampoline and forks one worker per mutant from a process that has
already imported pytest, running only the tests that reached the mutated function (cosmic-ray starts a
fresh test process per mutant: several times slower on this 2-core machine).

Each module is measured against its *own* tests only (the narrowest selection: cheaper, and a module's
score cannot borrow kills from distant integration tests). Every module runs in its own work folder
``.mutation/<module>/`` (ignored by git) holding a generated ``setup.cfg`` and mutmut's copy of the tree
in ``mutants/``, so runs of different modules never share state and the checkout is never modified.

Some mutants cannot change behaviour (equivalent mutants). They are listed, with the reason, in
``tests/mutation_equivalents.toml``, matched by the exact line the mutant removes and adds; an entry
that no longer matches a surviving mutant is reported as stale, so the list cannot silently rot.

Usage::

    python -m tools.mutation                 # all six modules, table written into tests/README.md
    python -m tools.mutation verification    # one module (its row in the table is updated)
    python -m tools.mutation --keep exif     # reuse .mutation/exif/mutants (only untested mutants rerun)
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mutation"
README = ROOT / "tests" / "README.md"
EQUIVALENTS = ROOT / "tests" / "mutation_equivalents.toml"
TABLE_START = "<!-- mutation-table:start (written by `make mutation`) -->"
TABLE_END = "<!-- mutation-table:end -->"
TARGET_PCT = 90.0

# module -> (source file(s), the tests that are that module's own). A module whose decision is spread over several
# files names them all: after #12 the reverse geocoder decides with OSM borders, Natural Earth land and admin-1 lines.
MODULES: dict[str, tuple[str | tuple[str, ...], tuple[str, ...]]] = {
    "verification": ("geoloc_core/case/verification.py",
                     ("tests/test_verification.py", "tests/test_analyst_cases.py")),
    "metrics": ("geoloc_core/learning/metrics.py", ("tests/test_metrics.py", "tests/test_published_results.py")),
    "geocoding": (("geoloc_core/places/geocoding.py", "geoloc_core/places/osm_borders.py",
                   "geoloc_core/places/natural_earth.py", "geoloc_core/places/regions.py"),
                  ("tests/test_geocoding.py", "tests/test_geocoding_analyst_cases.py", "tests/test_borders.py",
                   "tests/test_regions.py", "tests/test_geocoding_mutants.py")),
    "exif": ("geoloc_core/evidence/exif.py",
             ("tests/test_exif.py", "tests/test_geo_properties.py", "tests/test_exif_analyst_cases.py")),
    "checks": ("geoloc_core/evidence/checks.py",
               ("tests/test_checks.py", "tests/test_checks_analyst_cases.py", "tests/test_checks_claims.py")),
    "export": ("geoloc_core/case/exports/export.py", ("tests/test_export.py", "tests/test_export_analyst_cases.py")),
}
# Tests left out of a module's selection: an independent cross-check that kills nothing the others do not and
# would multiply the run time (each surviving mutant runs every selected test that reaches its function).
DESELECT: dict[str, tuple[str, ...]] = {
    "exif": ("tests/test_exif.py::test_agrees_with_exiftool_to_1e6_degrees",),
    # geopy's RateLimiter waits 5 s before its one retry on a service error; the same fallback is tested at once
    # with a non-retried error in test_geocoding_analyst_cases.py
    "geocoding": ("tests/test_geocoding.py::test_online_failure_falls_back_to_offline_with_a_note",
                  # runs `scan` in a child process, where no mutant is active: it can kill nothing and costs seconds
                  "tests/test_regions.py::test_scan_exports_regions",
                  # the map's drawing of the borders (boundaries.py, not mutated here), ~9 s a run; the country it
                  # asserts is asserted by test_baarle_enclaves too
                  "tests/test_borders.py::test_map_draws_the_borders_that_decided"),
}


@dataclass
class ModuleResult:
    name: str
    generated: int = 0
    killed: int = 0  # includes timeouts: the mutant made its tests hang, which a test run notices
    survived: list[str] = field(default_factory=list)  # mutant names, equivalents excluded
    equivalent: list[tuple[str, str]] = field(default_factory=list)  # (mutant name, reason)
    other: dict[str, int] = field(default_factory=dict)  # "no tests", "suspicious", ...
    seconds: float = 0.0

    @property
    def score(self) -> float:
        judged = self.generated - len(self.equivalent)
        return 100.0 * self.killed / judged if judged else 100.0


def sources_of(name: str) -> tuple[str, ...]:
    source = MODULES[name][0]
    return (source,) if isinstance(source, str) else source


def _label(name: str) -> str:
    """The table's first column: the files, the common folder written once."""
    first, *rest = sources_of(name)
    return ", ".join([first, *(Path(s).name for s in rest)])


def _setup_cfg(sources: tuple[str, ...], tests: tuple[str, ...], deselect: tuple[str, ...] = ()) -> str:
    lines = ["[mutmut]", "source_paths = geoloc_core", "only_mutate ="]
    lines += [f"    {s}" for s in sources]
    lines += ["also_copy =",
             "    assets", "    training", "    tools", "    pytest.ini", "pytest_add_cli_args_test_selection ="]
    lines += [f"    {t}" for t in tests]
    for test in deselect:
        lines += ["    --deselect", f"    {test}"]
    lines += ["use_git_change_detection = false", ""]
    return "\n".join(lines)


def _prepare(name: str, keep: bool) -> Path:
    sources, tests = sources_of(name), MODULES[name][1]
    for source in sources:
        if not (ROOT / source).exists():
            raise SystemExit(f"{name}: {source} does not exist")
    tests = tuple(t for t in tests if (ROOT / t).exists())
    work = WORK / name
    if work.exists() and not keep:
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    for entry in ("geoloc_core", "tests", "assets", "training", "tools", "pytest.ini"):
        link = work / entry
        if not link.exists():
            link.symlink_to(ROOT / entry)
    (work / "setup.cfg").write_text(_setup_cfg(sources, tests, DESELECT.get(name, ())), encoding="utf-8")
    return work


def _mutmut(work: Path, *args: str, check: bool = True) -> str:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run([sys.executable, "-m", "mutmut", *args], cwd=work, env=env, text=True,
                          capture_output=True)
    if check and done.returncode != 0:
        raise SystemExit(f"mutmut {' '.join(args)} failed in {work}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def _statuses(work: Path) -> dict[str, str]:
    status_of: dict[str, str] = {}
    for line in _mutmut(work, "results", "--all", "true").splitlines():
        mutant, _, status = line.strip().rpartition(": ")
        if mutant:
            status_of[mutant] = status
    return status_of


def _diff(work: Path, mutant: str) -> str:
    """``mutmut show`` in-process (one subprocess per survivor costs seconds on a busy machine)."""
    from mutmut.configuration import reset_config
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    here = Path.cwd()
    os.chdir(work)
    try:
        reset_config()
        return get_diff_for_mutant(mutant)
    finally:
        os.chdir(here)


def _changed_lines(diff: str) -> tuple[str, str]:
    """The first removed and added line of a mutant's diff, stripped: what identifies the mutation."""
    removed = next((l[1:].strip() for l in diff.splitlines() if l.startswith("-") and not l.startswith("---")), "")
    added = next((l[1:].strip() for l in diff.splitlines() if l.startswith("+") and not l.startswith("+++")), "")
    return removed, added


def load_equivalents() -> list[dict]:
    if not EQUIVALENTS.exists():
        return []
    return tomllib.loads(EQUIVALENTS.read_text(encoding="utf-8")).get("equivalent", [])


def measure(name: str, keep: bool, max_children: int) -> ModuleResult:
    work = _prepare(name, keep)
    started = time.monotonic()
    rerun: list[str] = []
    if keep and (work / "mutants").exists():
        # mutmut keeps earlier verdicts; name the ones not yet killed so the current tests judge them again
        rerun = [m for m, s in _statuses(work).items() if s not in ("killed", "timeout", "caught by type check")]
    run_output = _mutmut(work, "run", "--max-children", str(max_children), *rerun, check=False)
    result = ModuleResult(name, seconds=time.monotonic() - started)
    status_of = _statuses(work)
    fresh = [m for m, s in status_of.items() if s == "not checked"]
    if rerun and fresh:  # functions edited since the last run got new mutants, which mutmut generated just now
        run_output = _mutmut(work, "run", "--max-children", str(max_children), *fresh, check=False)
        status_of = _statuses(work)
    if status_of and all(s == "not checked" for s in status_of.values()):
        raise SystemExit(f"{name}: mutmut checked no mutant; its output ends:\n{run_output[-3000:]}")
    if not status_of:
        raise SystemExit(f"{name}: mutmut produced no results; run it by hand in {work} to see why")
    entries = [e for e in load_equivalents() if e.get("module") == name]
    used: set[int] = set()
    for mutant, status in sorted(status_of.items(), key=lambda kv: _mutant_number(kv[0])):
        result.generated += 1
        if status in ("killed", "timeout", "caught by type check"):
            result.killed += 1
            continue
        if status == "survived":
            removed, added = _changed_lines(_diff(work, mutant))
            match = next((i for i, e in enumerate(entries) if i not in used and _in_function(mutant, e["function"])
                          and e["removed"].strip() == removed and e["added"].strip() == added), None)
            if match is not None:
                used.add(match)
                result.equivalent.append((mutant, entries[match]["reason"]))
                continue
            result.survived.append(mutant)
            print(f"  survived {mutant}\n      - {removed}\n      + {added}")
            continue
        result.other[status] = result.other.get(status, 0) + 1
        result.survived.append(mutant)
        print(f"  {status}: {mutant}")
    for i, entry in enumerate(entries):
        if i not in used:
            print(f"  stale equivalent entry (no surviving mutant matches it): {entry['function']}: "
                  f"{entry['removed']!r} -> {entry['added']!r}")
    return result


def _in_function(mutant: str, function: str) -> bool:
    """mutmut names mutants ``module.x_func__mutmut_N`` and ``module.xǁClassǁmethod__mutmut_N``."""
    if "." in function:
        cls, method = function.split(".", 1)
        return f".xǁ{cls}ǁ{method}__mutmut_" in mutant
    return f".x_{function}__mutmut_" in mutant


def _mutant_number(mutant: str) -> tuple[str, int]:
    match = re.search(r"^(.*)__mutmut_(\d+)$", mutant)
    return (match.group(1), int(match.group(2))) if match else (mutant, 0)


def _row(r: ModuleResult) -> str:
    tests = MODULES[r.name][1]
    other = f" ({', '.join(f'{k}: {v}' for k, v in sorted(r.other.items()))})" if r.other else ""
    return (f"| {_label(r.name)} | {', '.join(Path(t).name for t in tests)} | {r.generated} | {r.killed} | "
            f"{len(r.survived)}{other} | {len(r.equivalent)} | {r.score:.1f} % | {r.seconds:,.0f} s |")


def write_table(results: list[ModuleResult]) -> None:
    text = README.read_text(encoding="utf-8")
    header = ("| module | its tests | generated | killed | survived | equivalent | killed of non-equivalent | "
              "time of this run |\n|---|---|---|---|---|---|---|---|")
    rows: dict[str, str] = {}
    if TABLE_START in text:
        old = text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0]
        for line in old.splitlines():
            for name in MODULES:
                if line.startswith(f"| {_label(name)} |") or line.startswith(f"| {sources_of(name)[0]} |"):
                    rows[name] = line
    for r in results:
        rows[r.name] = _row(r)
    body = "\n".join([header, *(rows[n] for n in MODULES if n in rows)])
    equivalents = load_equivalents()
    if equivalents:
        body += ("\n\nEquivalent mutants (set aside: no test can tell them from the original, each for the reason given; listed in "
                 "`tests/mutation_equivalents.toml`, matched by the exact changed line):\n")
        for e in equivalents:
            body += (f"\n- {e['module']}, `{e['function']}`: `{e['removed']}` → `{e['added']}`: {e['reason']}")
    block = f"{TABLE_START}\n{body}\n{TABLE_END}"
    if TABLE_START in text:
        before, rest = text.split(TABLE_START, 1)
        text = before + block + rest.split(TABLE_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    README.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Mutation testing of the verdict-critical modules (mutmut 3), "
                                                 "each against its own tests; writes the table into tests/README.md.")
    parser.add_argument("modules", nargs="*", metavar="MODULE",
                        help=f"which modules (default: all): {', '.join(MODULES)}")
    parser.add_argument("--keep", action="store_true", help="reuse the previous mutants/ folder and its results")
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutant workers (default 2)")
    parser.add_argument("--no-readme", action="store_true", help="print the table, leave tests/README.md alone")
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    results = []
    for name in args.modules or list(MODULES):
        print(f"{name}: mutating {', '.join(sources_of(name))} against {', '.join(MODULES[name][1])}", flush=True)
        result = measure(name, args.keep, args.max_children)
        print(_row(result), flush=True)
        results.append(result)
    if not args.no_readme:
        write_table(results)
    below = [r.name for r in results if r.score < TARGET_PCT]
    if below:
        print(f"below {TARGET_PCT:.0f} % killed: {', '.join(below)}")
    return 1 if below else 0


if __name__ == "__main__":
    raise SystemExit(main())
