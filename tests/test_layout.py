"""The package's folders are its architecture: imports point down the stages only.

evidence < places < model < learning < case < cli. A module may import its own group
or a lower one; never a higher one, and nothing under geoloc_core imports Streamlit.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "geoloc_core"
GROUP_ORDER = ("evidence", "places", "model", "learning", "case")
TOP = len(GROUP_ORDER)  # cli, __main__, __init__


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


def test_groups_exist_and_imports_point_down():
    assert {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} == set(GROUP_ORDER)
    assert layering_violations(ROOT) == []


@pytest.mark.parametrize("lower, statement", [
    ("evidence/exif.py", "from ..case.findings import Finding\n"),
    ("places/geodesy.py", "from geoloc_core.model import heads\n"),
    ("model/heads.py", "from .. import learning\n"),
    ("learning/metrics.py", "import streamlit as st\n"),
])
def test_the_check_catches_an_upward_import(tmp_path, lower, statement):
    """The direction test must be able to fail: plant one upward import in a copy of the tree."""
    import shutil

    copy = tmp_path / "geoloc_core"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / lower
    target.write_text(statement + target.read_text())
    problems = layering_violations(copy)
    assert len(problems) == 1 and lower in problems[0]


def test_every_group_documents_what_it_may_import():
    for group in GROUP_ORDER:
        doc = ast.get_docstring(ast.parse((ROOT / group / "__init__.py").read_text()))
        assert doc and "May import" in doc, group
