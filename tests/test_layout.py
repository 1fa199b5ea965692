"""The package's folders are its architecture: imports point down the stages only.

evidence < places < model < learning < case < cli. A module may import its own group
or a lower one; never a higher one, and nothing under geoloc_core imports Streamlit.
Inside ``case`` the subgroups have directions of their own (``CASE_SUBGROUPS``): the record and
its pipeline at the bottom, the log, the maps and the exports above it, the reports on top.
And no two modules import each other, directly or round a longer circle, in ``geoloc_core`` or
the app's ``ui``: a circle is one concept cut in the wrong place (function-level and
``TYPE_CHECKING`` imports count: they only hide the circle from Python, not from a reader).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "geoloc_core"
GROUP_ORDER = ("evidence", "places", "model", "learning", "case")
TOP = len(GROUP_ORDER)  # cli, __main__, __init__
# case's subgroups ("" is case/ itself) and the other subgroups each may import besides its own
CASE_SUBGROUPS = {
    "": set(),  # the Finding record, the Analyzer, verdicts, banner, claims, constraints, candidates
    "log": {""},  # the SQLite case log, its writer thread, history, workspace, what the Case log shows
    "maps": {""},  # Folium maps, basemaps, candidate / context / shadow layers
    "exports": {""},  # CSV, JSON, GeoJSON, KML
    "reports": {"", "log", "exports"},  # report content, HTML, PDF, report map, bundle, reports from a log
    "archive_scan": {"", "exports"},  # scan --engine ray (#35): inputs, Parquet shards, Ray actors
}


def _rank(module: str) -> int | None:
    """``geoloc_core.model.heads`` -> 2; a top-level module -> TOP; outside the package or its ``__version__`` -> None."""
    parts = module.split(".")
    if parts[0] != "geoloc_core" or len(parts) == 1 or parts[1].startswith("__"):
        return None  # outside the package, or the package's own metadata (__version__)
    if len(parts) > 1 and parts[1] in GROUP_ORDER:
        return GROUP_ORDER.index(parts[1])
    return TOP


def _imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """Absolute names of everything ``path`` imports (relative imports resolved), with line numbers."""
    package = ["geoloc_core", *path.relative_to(root).with_suffix("").parts][:-1]
    if path.name == "__init__.py":
        package = ["geoloc_core", *path.relative_to(root).parent.parts]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                if not node.module:  # "from .. import x": x may be a submodule
                    found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
                    continue
            else:
                target = node.module or ""
            found.append((node.lineno, target))
    return found


def layering_violations(root: Path) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*.py")):
        own = _rank(".".join(["geoloc_core", *path.relative_to(root).with_suffix("").parts]))
        for line, module in _imported_modules(path, root):
            where = f"{path.relative_to(root.parent)}:{line}"
            if module.split(".")[0] == "streamlit":
                problems.append(f"{where} imports Streamlit")
            target = _rank(module)
            if target is not None and own is not None and target > own:
                problems.append(f"{where} imports {module} (a higher group)")
    return problems


def _case_subgroup(module: str) -> str | None:
    """``geoloc_core.case.maps.layers`` -> "maps"; ``geoloc_core.case.analyzer`` -> ""; outside case -> None."""
    parts = module.split(".")
    if parts[:2] != ["geoloc_core", "case"] or len(parts) < 3:
        return None
    return parts[2] if parts[2] in CASE_SUBGROUPS else ""


def case_subgroup_violations(root: Path) -> list[str]:
    problems = []
    for path in sorted((root / "case").rglob("*.py")):
        own = _case_subgroup(".".join(["geoloc_core", *path.relative_to(root).with_suffix("").parts]))
        if path.name == "__init__.py" and path.parent != root / "case":
            own = path.parent.name
        for line, module in _imported_modules(path, root):
            target = _case_subgroup(module)
            if target is not None and target != own and target not in CASE_SUBGROUPS[own]:
                problems.append(f"{path.relative_to(root.parent)}:{line} imports {module} "
                                f"(case/{own or '.'} may import only {sorted(CASE_SUBGROUPS[own]) or 'itself'})")
    return problems


def _module_names(root: Path) -> dict[str, Path]:
    """Every module under ``root`` by its dotted name (a package by its own name, for its ``__init__``)."""
    names = {}
    for path in root.rglob("*.py"):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        names[".".join(parts[:-1] if path.name == "__init__.py" else parts)] = path
    return names


def import_graph(roots: list[Path]) -> dict[str, set[str]]:
    """Module -> the modules of ``roots`` it imports anywhere in its body. ``from pkg import name`` is an
    edge to ``pkg.name`` when that is a module, else to ``pkg``; a name resolves to its closest module."""
    modules = {}
    for root in roots:
        modules.update(_module_names(root))

    def closest(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package_root = next(r for r in roots if path.is_relative_to(r))
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                    base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            for target in targets:
                found = closest(target)
                if found and found != name and not name.startswith(found + ".") and found != package_root.name:
                    edges.add(found)
        graph[name] = edges
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


APP_UI = ROOT.parent / "ui"


def planted_copy(tmp_path: Path, source: Path, module: str, statement: str, at_start: bool = True) -> Path:
    """A copy of the ``source`` package in ``tmp_path`` with ``statement`` planted in ``module``: the checks
    below must be able to fail."""
    import shutil

    copy = tmp_path / source.name
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    target.write_text(statement + target.read_text() if at_start else target.read_text() + "\n" + statement)
    return copy


def test_groups_exist_and_imports_point_down():
    assert {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} == set(GROUP_ORDER)
    assert layering_violations(ROOT) == []


def test_case_subgroups_exist_and_import_in_their_directions():
    assert {p.name for p in (ROOT / "case").iterdir() if (p / "__init__.py").exists()} == set(CASE_SUBGROUPS) - {""}
    assert case_subgroup_violations(ROOT) == []


def test_no_import_circles_in_the_package_or_the_app_ui():
    assert import_circles(import_graph([ROOT, APP_UI])) == []


@pytest.mark.parametrize("module, statement, circle", [
    # a function-level import closing a circle through two case subgroups
    ("case/maps/layers.py", "def _late():\n    from .finding_maps import finding_map\n",
     ["geoloc_core.case.maps.candidate_map", "geoloc_core.case.maps.finding_maps", "geoloc_core.case.maps.layers"]),
    # a TYPE_CHECKING import back up (the old exif <-> mwg circle)
    ("evidence/metadata_claims.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .mwg import x\n",
     ["geoloc_core.evidence.exif", "geoloc_core.evidence.metadata_claims", "geoloc_core.evidence.mwg"]),
    # runtime -> inference -> runtime, and zeroshot with them (it imports runtime, inference imports it)
    ("model/runtime.py", "from . import inference\n",
     ["geoloc_core.model.inference", "geoloc_core.model.runtime", "geoloc_core.model.zeroshot"]),
])
def test_the_circle_check_catches_a_planted_circle(tmp_path, module, statement, circle):
    copy = planted_copy(tmp_path, ROOT, module, statement, at_start=False)
    assert import_circles(import_graph([copy])) == [circle]


def test_the_circle_check_catches_a_circle_in_the_app_ui(tmp_path):
    """The old ui triangle: reporting -> views -> settings -> reporting."""
    copy = planted_copy(tmp_path, APP_UI, "reporting.py", "def _late():\n    from ui.views import show_map\n",
                        at_start=False)
    assert import_circles(import_graph([ROOT, copy])) == [["ui.reporting", "ui.settings", "ui.views"]]


@pytest.mark.parametrize("module, statement", [
    ("case/analyzer.py", "from .log.caselog import CaseLog\n"),  # the record's stage never imports the log
    ("case/maps/layers.py", "from ..reports import bundle\n"),  # maps never import reports
    ("case/exports/kml.py", "from ..log.history import HistoryItem\n"),  # exports never import the log
])
def test_the_subgroup_check_catches_a_wrong_direction(tmp_path, module, statement):
    problems = case_subgroup_violations(planted_copy(tmp_path, ROOT, module, statement))
    assert len(problems) == 1 and module in problems[0]


@pytest.mark.parametrize("lower, statement", [
    ("evidence/exif.py", "from ..case.findings import Finding\n"),
    ("places/geodesy.py", "from geoloc_core.model import heads\n"),
    ("model/heads.py", "from .. import learning\n"),
    ("learning/metrics.py", "import streamlit as st\n"),
])
def test_the_check_catches_an_upward_import(tmp_path, lower, statement):
    """The direction test must be able to fail: plant one upward import in a copy of the tree."""
    problems = layering_violations(planted_copy(tmp_path, ROOT, lower, statement))
    assert len(problems) == 1 and lower in problems[0]


def test_every_group_documents_what_it_may_import():
    for group in [*GROUP_ORDER, *(f"case/{sub}" for sub in CASE_SUBGROUPS if sub)]:
        doc = ast.get_docstring(ast.parse((ROOT / group / "__init__.py").read_text()))
        assert doc and "May import" in doc, group
