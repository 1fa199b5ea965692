"""Every message the app shows goes through the plain-text path (issue #31).

Streamlit's text elements render Markdown (links, images the browser fetches, bold, colour directives),
and ``st.table`` renders every cell that way. A model path from a link (``/model?model=![m](https://..)``)
became an image request in the Model page's error box, and a typed time in the Shadows page's. This lint
reads the app's source (``app.py``, ``ui/``, ``app_pages/``): the first argument of every
``st.error/warning/info/success/caption/markdown/table/write/title/header/subheader/toast`` call must be
geoloc's own words, shown safe by its form:

- a string literal, or an UPPER_CASE module constant (or an item of one);
- an f-string whose every value is numeric-formatted (``{x:,.1f}``, ``{n:d}``) or itself safe;
- a call of ``markdown_literal`` (``ui/plaintext.py``) or of ``len``/``int``/``round``, or safe parts
  joined with ``+``, ``or`` or ``if/else``.

A line that passes only geoloc's own words some other way says so with ``# own text`` and why; the
review of that comment is the check. A new raw call fails here.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOWN = {"error", "warning", "info", "success", "caption", "markdown", "table", "write", "title", "header",
         "subheader", "toast", "text"}  # st.text renders no Markdown, but a bidi override reorders it: plain_text
SAFE_CALLS = {"markdown_literal", "plain_text"}
NUMBERS = {"len", "int", "round"}  # calls that can only give a number
MARKER = "# own text"


def _caps(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id.isupper()


def _safe(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) or _caps(node):
        return True
    if isinstance(node, ast.Subscript) and _caps(node.value):
        return True
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name in SAFE_CALLS or name in NUMBERS:
            return True
        if isinstance(func, ast.Attribute) and func.attr == "get" and _caps(func.value):
            return True
        return False
    if isinstance(node, ast.JoinedStr):
        return all(isinstance(part, ast.Constant) or (isinstance(part, ast.FormattedValue) and (
            part.format_spec is not None or _safe(part.value))) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _safe(node.left) and _safe(node.right)
    if isinstance(node, ast.IfExp):
        return _safe(node.body) and _safe(node.orelse)
    if isinstance(node, ast.BoolOp):
        return all(_safe(value) for value in node.values)
    return False


def unescaped_calls(files: list[Path]) -> list[str]:
    found = []
    for path in files:
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source, filename=str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SHOWN
                    and node.args):
                continue
            marked = any(MARKER in lines[i - 1] for i in range(node.lineno, (node.end_lineno or node.lineno) + 1))
            if not marked and not _safe(node.args[0]):
                found.append((str(path.relative_to(path.parents[1])), node.lineno, ast.unparse(node)[:100]))
    return [f"{name}:{line}: {text}" for name, line, text in sorted(found)]


def _app_sources(root: Path) -> list[Path]:
    return sorted([root / "app.py", *(root / "ui").glob("*.py"), *(root / "app_pages").glob("*.py")])


def test_every_shown_message_is_plain_text():
    assert unescaped_calls(_app_sources(ROOT)) == []


def test_the_lint_catches_the_raw_calls_of_the_issue(tmp_path):
    """The two calls #31 found, planted in a copy of the page: each is caught."""
    page = tmp_path / "app_pages" / "model.py"
    page.parent.mkdir()
    page.write_text("import streamlit as st\n"
                    "st.error(settings.model_error)\n"
                    "try:\n    pass\nexcept ValueError as exc:\n    st.error(str(exc))\n"
                    "st.table(frame)\n"
                    "st.error(markdown_literal(settings.model_error))\n"
                    "st.caption(f'{count:,} files')\n"
                    "st.caption(label)  # own text: two fixed words\n"
                    "st.text(Path(finding.file).name)\n"
                    "st.text(plain_text(Path(finding.file).name))\n", encoding="utf-8")
    found = unescaped_calls([page])
    assert [line.split(": ", 1)[0] for line in found] == ["app_pages/model.py:2", "app_pages/model.py:6",
                                                          "app_pages/model.py:7", "app_pages/model.py:11"]
