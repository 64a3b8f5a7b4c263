"""What a task notebook records: metrics, finding checks, tables, figures, artefacts.

A notebook creates one :class:`Recorder` for its output directory, records as it goes and
calls :meth:`Recorder.save` at the end; the builder reads ``results.json`` back and the
report templates render from it. Nothing in the report is typed by hand: every number
comes through here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from lazy_artist.fileio import atomic_write_json, read_json

RESULTS_FILE = "results.json"
FIGURES_DIR = "figures"
ARTEFACTS_DIR = "artefacts"


class Recorder:
    """Records one task's results; what it holds is read back through read-only views
    (:attr:`metrics`, :attr:`checks`, :attr:`tables`, :attr:`figures`, :attr:`headline_text`),
    so a notebook cannot change a recorded value except by recording it again."""

    def __init__(self, output_dir: str | Path, task: str) -> None:
        self.output_dir = Path(output_dir)
        self.task = task
        self._metrics: dict[str, Any] = {}
        self._checks: dict[str, dict[str, Any]] = {}
        self._tables: dict[str, dict[str, Any]] = {}
        self._figures: dict[str, dict[str, Any]] = {}
        self._headline = ""
        (self.output_dir / FIGURES_DIR).mkdir(parents=True, exist_ok=True)
        (self.output_dir / ARTEFACTS_DIR).mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"Recorder({str(self.output_dir)!r}, {self.task!r})"

    @property
    def metrics(self) -> Mapping[str, Any]:
        """The recorded metrics as ``results.json`` will hold them, read-only all the way down
        (mappings are ``MappingProxyType``, lists tuples): a copy made at each read."""
        return _frozen(self._metrics)

    @property
    def checks(self) -> Mapping[str, Mapping[str, Any]]:
        """``name -> {"passed": bool, "detail": str}`` for every recorded check."""
        return _frozen(self._checks)

    @property
    def tables(self) -> Mapping[str, Mapping[str, Any]]:
        return _frozen(self._tables)

    @property
    def figures(self) -> Mapping[str, Mapping[str, Any]]:
        return _frozen(self._figures)

    @property
    def headline_text(self) -> str:
        """The recorded headline (``headline`` is the method that records it)."""
        return self._headline

    def metric(self, name: str, value: Any) -> Any:
        """Record one number (or JSON-able structure) and return it, for use inline."""
        self._metrics[name] = _plain(value)
        return value

    def check(self, name: str, passed: bool, detail: str) -> bool:
        """Record whether an expected finding held, with the computed evidence in ``detail``."""
        self._checks[name] = {"passed": bool(passed), "detail": detail}
        return bool(passed)

    def table(
        self,
        name: str,
        columns: list[str],
        rows: list[list[Any]],
        caption: str,
        formats: dict[str, str] | None = None,
    ) -> None:
        """Record a table; ``formats`` maps a column to a format spec such as ``'.1%'``."""
        for row in rows:
            if len(row) != len(columns):
                raise ValueError(
                    f"table {name!r}: row {row!r} has {len(row)} cells, expected {len(columns)}"
                )
        self._tables[name] = {
            "columns": list(columns),
            "rows": [[_plain(cell) for cell in row] for row in rows],
            "caption": caption,
            "formats": dict(formats or {}),
        }

    def figure(
        self, name: str, fig: Any, caption: str, width: str = "100%", dpi: int = 150
    ) -> Path:
        """Save a matplotlib figure as PNG under ``figures/`` and record its caption."""
        path = self.output_dir / FIGURES_DIR / f"{name}.png"
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        self._figures[name] = {
            "file": f"{FIGURES_DIR}/{name}.png",
            "caption": caption,
            "width": width,
        }
        return path

    def headline(self, text: str) -> str:
        """Record one line for the status table, built from computed numbers; returns it."""
        self._headline = text
        return text

    def artefact_path(self, name: str) -> Path:
        """Where to write an artefact (checkpoint, array) that later tasks may load."""
        return self.output_dir / ARTEFACTS_DIR / name

    def save(self) -> Path:
        path = self.output_dir / RESULTS_FILE
        atomic_write_json(
            path,
            {
                "task": self.task,
                "headline": self._headline,
                "metrics": self._metrics,
                "checks": self._checks,
                "tables": self._tables,
                "figures": self._figures,
            },
        )
        return path


def load_results(task_dir: str | Path) -> dict[str, Any]:
    """Read a task's ``results.json``."""
    return read_json(Path(task_dir) / RESULTS_FILE)


def artefact(task_dir: str | Path, name: str) -> Path:
    """Path of an upstream task's artefact, with a clear error when it is missing."""
    path = Path(task_dir) / ARTEFACTS_DIR / name
    if not path.exists():
        raise FileNotFoundError(
            f"artefact {name!r} not found in {task_dir}: build the upstream task first"
        )
    return path


def _frozen(value: Any) -> Any:
    """A read-only view of recorded data: mappings as ``MappingProxyType``, lists as tuples,
    all the way down (so a caller's ``rec.metrics["x"].append(...)`` fails loudly)."""
    if isinstance(value, dict):
        return MappingProxyType({key: _frozen(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    return value


def _plain(value: Any) -> Any:
    """Convert numpy/torch values to plain Python; NaN becomes None so the JSON stays valid."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    elif hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
