"""``report/summary.json``: the machine-readable result of a build, for CI and regression tracking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lazy_artist.fileio import atomic_write_json
from lazy_artist.results import load_results

SUMMARY_FILE = "summary.json"


def summarise(run_record: dict[str, Any]) -> dict[str, Any]:
    tasks = {}
    for name, outcome in run_record["tasks"].items():
        entry: dict[str, Any] = {
            "status": outcome["status"],
            "runtime_s": outcome.get("runtime_s"),
            "checks": {},
            "metrics": {},
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
    return {
        "profile": run_record["profile"],
        "git": run_record["provenance"]["git"],
        "tasks": tasks,
    }


def write_summary(run_record: dict[str, Any], report_dir: Path) -> Path:
    path = report_dir / SUMMARY_FILE
    atomic_write_json(path, summarise(run_record))
    return path
