"""Each parameter's help text, read from the notebook's parameters cell.

The task declaration is the one source of every value; the parameters cell (papermill's
contract) repeats them, and the comment ending a parameter's line is its help, as papermill's
``--help-notebook`` reads it. ``python -m lazy_artist tasks`` prints the two together.
"""

from __future__ import annotations

import io
import tokenize
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import jupytext

# Help for the parameters every task has (they are the builder's, not a notebook's).
COMMON_HELP: Mapping[str, str] = MappingProxyType(
    {
        "seed": "base seed of everything random in the task",
        "device": '"auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N"',
        "data_root": "where data sets are looked for and installed, relative to the project",
    }
)


def parameters_source(notebook: str | Path) -> str:
    """The source of the notebook's one cell tagged ``parameters``."""
    cells = [
        cell
        for cell in jupytext.read(Path(notebook)).cells
        if "parameters" in cell.metadata.get("tags", [])
    ]
    if len(cells) != 1:
        raise ValueError(f"{notebook} needs exactly one cell tagged 'parameters'")
    return cells[0].source


def parameter_help(notebook: str | Path) -> dict[str, str]:
    """``name -> help`` for every top-level assignment of the parameters cell: the comment
    ending its first line (``n_samples = 100  # the fair sample``), else the comment lines
    right above it (for a line too long to carry one); the common parameters' help where the
    cell gives none."""
    trailing: dict[str, str] = {}
    above: dict[str, str] = {}
    pending: list[str] = []  # comment-only lines read since the last statement
    assigned: tuple[str, int] | None = None  # (name, line) of the assignment being read
    tokens = tokenize.generate_tokens(io.StringIO(parameters_source(notebook)).readline)
    for token in tokens:
        if token.type == tokenize.COMMENT:
            text = token.string.lstrip("#").strip()
            if assigned and token.start[0] == assigned[1]:
                trailing.setdefault(assigned[0], text)
            elif token.start[1] == 0:
                pending.append(text)
        elif token.type == tokenize.NL and not token.line.strip():
            pending = []  # a blank line parts a comment from what follows
        elif token.type == tokenize.NAME and token.start[1] == 0:
            assigned = (token.string, token.start[0])
            if pending:
                above.setdefault(token.string, " ".join(pending))
            pending = []
    found = {**above, **trailing}
    return {**COMMON_HELP, **{name: text for name, text in found.items() if text}}
