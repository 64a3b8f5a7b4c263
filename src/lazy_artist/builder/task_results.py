"""A build's task results, read once, and their comparison with the reference reports,
computed once: the report, ``summary.json`` and the changes section all use these."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lazy_artist.builder.outcome import USABLE
from lazy_artist.builder.references import (
    REFERENCES_FILE,
    ComparisonRow,
    ReferenceDataError,
    compare,
    load_references,
)
from lazy_artist.results import RESULTS_FILE, load_results


@dataclass(frozen=True)
class ReferenceComparison:
    """This build's metrics beside the reference reports' (``references/seed_results.yaml``).
    ``present``: the file exists; ``error``: it is missing or malformed (rows empty)."""

    present: bool
    rows: list[ComparisonRow] = field(default_factory=list)
    error: str | None = None


def load_task_results(run_record: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    """Each task's ``results.json`` when its status is usable and the file exists, else None."""
    loaded: dict[str, dict[str, Any] | None] = {}
    for name, outcome in run_record["tasks"].items():
        task_dir = outcome.get("task_dir")
        usable = outcome["status"] in USABLE and task_dir
        loaded[name] = (
            load_results(task_dir) if usable and (Path(task_dir) / RESULTS_FILE).exists() else None
        )
    return loaded


def compare_with_references(
    root: Path | None,
    run_record: dict[str, Any],
    results: dict[str, dict[str, Any] | None],
) -> ReferenceComparison:
    """The comparison rows (or why there are none) for the project at ``root``."""
    path = root / REFERENCES_FILE if root is not None else None
    if path is None or not path.exists():
        return ReferenceComparison(False, error=f"{REFERENCES_FILE} is missing from this checkout")
    try:
        rows = compare(
            load_references(path),
            {name: None if r is None else r["metrics"] for name, r in results.items()},
            {name: outcome["status"] for name, outcome in run_record["tasks"].items()},
        )
    except ReferenceDataError as error:
        return ReferenceComparison(True, error=str(error))
    return ReferenceComparison(True, rows)
