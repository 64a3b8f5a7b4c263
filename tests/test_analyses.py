"""The notebooks stay thin: they call the library, draw and record.

A protocol worth testing (an attack battery, a run grid, a bootstrap) lives in ``src/`` with
unit tests; a notebook that defines a function or nests loops is growing one in the wrong
place. This test reads every notebook's syntax and names each offending line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ANALYSES = Path(__file__).resolve().parents[1] / "analyses"
NOTEBOOKS = sorted(ANALYSES.glob("*.py"))
LOOPS = (ast.For, ast.AsyncFor, ast.While)
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def thickness(source: str) -> list[str]:
    """Every function/class definition, lambda and loop nested inside a loop, by line."""
    found = []

    def visit(node: ast.AST, loop_depth: int) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, DEFINITIONS):
                kind = "lambda" if isinstance(child, ast.Lambda) else f"definition of {child.name}"
                found.append(f"line {child.lineno}: {kind}")
            depth = loop_depth
            if isinstance(child, LOOPS):
                if loop_depth:
                    found.append(f"line {child.lineno}: loop nested in a loop")
                depth += 1
            visit(child, depth)

    visit(ast.parse(source), 0)
    return found


def test_the_check_finds_definitions_and_nested_loops():
    source = "def f():\n    pass\nfor a in b:\n    while c:\n        pass\ng = lambda x: x\n"
    assert thickness(source) == [
        "line 1: definition of f",
        "line 4: loop nested in a loop",
        "line 6: lambda",
    ]
    assert thickness("for a in b:\n    x = [y for y in a]\nfor c in d:\n    pass\n") == []


def test_there_are_notebooks_to_check():
    assert len(NOTEBOOKS) >= 8


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_defines_no_function_and_nests_no_loop(notebook):
    problems = thickness(notebook.read_text(encoding="utf-8"))
    assert not problems, f"{notebook.name} is not thin (move this into src/): " + "; ".join(
        problems
    )
