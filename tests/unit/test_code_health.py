"""Checks that keep the code honest beyond ruff and mypy: no function over 80 lines outside tests,
and every top-level package says in its `__init__.py` what the room is for (docs/architecture.md)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_FUNCTION_LINES = 80


def _packages() -> list[str]:
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    return sorted(p.rstrip("*") for p in include)


def _long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]


def test_no_function_over_80_lines_outside_tests() -> None:
    found = [hit for pkg in _packages() for path in sorted((ROOT / pkg).rglob("*.py")) for hit in _long_functions(path)]
    assert found == [], "split these along what each step means:\n" + "\n".join(found)


def test_every_package_says_what_its_room_is_for() -> None:
    for pkg in _packages():
        doc = ast.get_docstring(ast.parse((ROOT / pkg / "__init__.py").read_text()))
        assert doc, f"{pkg}/__init__.py has no docstring"
        assert len(doc.strip().splitlines()) == 1, f"{pkg}/__init__.py: say what the room is for in one line"


def test_the_long_function_check_can_fail() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    path = ROOT / "tests" / "unit" / "_tmp_long_function.py"
    path.write_text(f"def f():\n{body}\n")
    try:
        assert _long_functions(path) == [f"tests/unit/_tmp_long_function.py:1 f ({MAX_FUNCTION_LINES + 1} lines)"]
    finally:
        path.unlink()
