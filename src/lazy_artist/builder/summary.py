"""``report/summary.json``: the machine-readable result of a build, for CI and regression tracking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lazy_artist.builder.references import ComparisonRow
from lazy_artist.builder.task_results import (
    ReferenceComparison,
    compare_with_references,
    load_task_results,
)
from lazy_artist.fileio import atomic_write_json

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


def summarise(
    run_record: dict[str, Any],
    root: Path | None = None,
    results: dict[str, dict[str, Any] | None] | None = None,
    comparison: ReferenceComparison | None = None,
) -> dict[str, Any]:
    """Statuses, checks and metrics per task; with the project ``root``, also the comparison
    with the reference reports (``references/seed_results.yaml``). ``results`` and
    ``comparison`` are read and computed here unless the caller has them (publish does)."""
    results = load_task_results(run_record) if results is None else results
    if comparison is None:
        comparison = compare_with_references(root, run_record, results)
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
        loaded = results.get(name)
        if loaded is not None:
            entry["checks"] = {check: value["passed"] for check, value in loaded["checks"].items()}
            entry["metrics"] = loaded["metrics"]
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
    if comparison.present:
        if comparison.error is not None:  # the report shows it too; the summary still lands
            summary["comparison_error"] = comparison.error
        else:
            summary["comparison"] = comparison_records(comparison.rows)
    return summary


def write_summary(summary: dict[str, Any], report_dir: Path) -> Path:
    path = report_dir / SUMMARY_FILE
    atomic_write_json(path, summary)
    return path
