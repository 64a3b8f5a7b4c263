"""What a task notebook records: metrics, finding checks, tables, figures, artefacts.

A notebook creates one :class:`Recorder` for its output directory, records as it goes and
calls :meth:`Recorder.save` at the end; the builder reads ``results.json`` back and the
report templates render from it. Nothing in the report is typed by hand: every number
comes through here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lazy_artist.fileio import atomic_write_json, read_json

RESULTS_FILE = "results.json"
FIGURES_DIR = "figures"
ARTEFACTS_DIR = "artefacts"


@dataclass
class Recorder:
    output_dir: Path
    task: str
    metrics_: dict[str, Any] = field(default_factory=dict)
    checks_: dict[str, dict[str, Any]] = field(default_factory=dict)
    tables_: dict[str, dict[str, Any]] = field(default_factory=dict)
    figures_: dict[str, dict[str, Any]] = field(default_factory=dict)
    headline_: str = ""

    def __init__(self, output_dir: str | Path, task: str) -> None:
        self.output_dir = Path(output_dir)
        self.task = task
        self.metrics_, self.checks_, self.tables_, self.figures_ = {}, {}, {}, {}
        self.headline_ = ""
        (self.output_dir / FIGURES_DIR).mkdir(parents=True, exist_ok=True)
        (self.output_dir / ARTEFACTS_DIR).mkdir(parents=True, exist_ok=True)

    def metric(self, name: str, value: Any) -> Any:
        """Record one number (or JSON-able structure) and return it, for use inline."""
        self.metrics_[name] = _plain(value)
        return value

    def check(self, name: str, passed: bool, detail: str) -> bool:
        """Record whether an expected finding held, with the computed evidence in ``detail``."""
        self.checks_[name] = {"passed": bool(passed), "detail": detail}
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
        self.tables_[name] = {
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
        self.figures_[name] = {
            "file": f"{FIGURES_DIR}/{name}.png",
            "caption": caption,
            "width": width,
        }
        return path

    def headline(self, text: str) -> None:
        """One line for the status table, built from computed numbers."""
        self.headline_ = text

    def artefact_path(self, name: str) -> Path:
        """Where to write an artefact (checkpoint, array) that later tasks may load."""
        return self.output_dir / ARTEFACTS_DIR / name

    def save(self) -> Path:
        path = self.output_dir / RESULTS_FILE
        atomic_write_json(
            path,
            {
                "task": self.task,
                "headline": self.headline_,
                "metrics": self.metrics_,
                "checks": self.checks_,
                "tables": self.tables_,
                "figures": self.figures_,
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
