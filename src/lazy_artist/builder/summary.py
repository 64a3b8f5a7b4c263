"""``report/summary.json``: the machine-readable result of a build, for CI and regression tracking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lazy_artist.builder.build import USABLE
from lazy_artist.builder.comparison import (
    REFERENCES_FILE,
    ComparisonRow,
    ReferenceDataError,
    compare,
    load_references,
)
from lazy_artist.fileio import atomic_write_json
from lazy_artist.results import load_results

SUMMARY_FILE = "summary.json"


def comparison_records(rows: list[ComparisonRow]) -> list[dict[str, Any]]:
    """The comparison section's rows as data: reference, this run's value, difference."""
    return [
        {
            "id": row.reference.id,
            "task": row.reference.task,
            "metric": row.reference.metric,
            "unit": row.reference.unit,
            "reference": list(row.reference.value)
            if isinstance(row.reference.value, tuple)
            else row.reference.value,
            "this_run": row.observed,
            "difference": None
            if row.observed is None
            else round(row.reference.difference(row.observed), 6),
            "missing": row.missing,
        }
        for row in rows
    ]


def summarise(run_record: dict[str, Any], root: Path | None = None) -> dict[str, Any]:
    """Statuses, checks and metrics per task; with the project ``root``, also the comparison
    with the reference reports (``references/seed_results.yaml``)."""
    tasks = {}
    for name, outcome in run_record["tasks"].items():
        entry: dict[str, Any] = {
            "status": outcome["status"],
            "runtime_s": outcome.get("runtime_s"),
            "checks": {},
            "metrics": {},
            # What the changes section of the next build compares to tell why a task re-ran.
            "key": outcome.get("key"),
            "key_inputs": outcome.get("key_inputs") or None,
        }
        task_dir = outcome.get("task_dir")
        if task_dir and (Path(task_dir) / "results.json").exists():
            results = load_results(task_dir)
            entry["checks"] = {check: value["passed"] for check, value in results["checks"].items()}
            entry["metrics"] = results["metrics"]
        if outcome.get("error"):
            entry["error"] = f"{outcome['error'].get('error')}: {outcome['error'].get('message')}"
        if outcome.get("blocked_by"):
            entry["blocked_by"] = outcome["blocked_by"]
        tasks[name] = entry
    summary: dict[str, Any] = {
        "profile": run_record["profile"],
        "started_at": run_record.get("started_at"),  # identifies the build (changes.py)
        "git": run_record["provenance"]["git"],
        "tasks": tasks,
    }
    if run_record.get("changes") is not None:  # set by publish (builder/changes.py)
        summary["changes"] = run_record["changes"].as_dict()
    references = root / REFERENCES_FILE if root is not None else None
    if references is not None and references.exists():
        try:
            rows = compare(
                load_references(references),
                {
                    name: entry["metrics"] if entry["status"] in USABLE else None
                    for name, entry in tasks.items()
                },
                {name: entry["status"] for name, entry in tasks.items()},
            )
        except ReferenceDataError as error:  # the report shows it too; the summary still lands
            summary["comparison_error"] = str(error)
        else:
            summary["comparison"] = comparison_records(rows)
    return summary


def write_summary(run_record: dict[str, Any], report_dir: Path, root: Path | None = None) -> Path:
    path = report_dir / SUMMARY_FILE
    atomic_write_json(path, summarise(run_record, root))
    return path
