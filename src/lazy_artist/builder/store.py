"""The build directory: completed task outputs, staging for runs in progress, failed runs.

Layout under ``build/<profile>/``::

    <task>/            completed outputs; ``task.json`` (written last) holds the cache key
    .staging/<task>/   a run in progress; never read, wiped before the next run
    .failed/<task>/    the last failed run (executed notebook + ``error.json``), for debugging
    .memo/<task>/      reusable intermediate results (T4's trained runs), keyed by content
    run.json           the record of the last build (statuses, runtimes, errors)

A run is committed by renaming its staging directory into place, so a task directory is
either the previous complete result or the new complete result, never a mix.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lazy_artist.fileio import atomic_write_json, read_json

TASK_RECORD = "task.json"
ERROR_RECORD = "error.json"
RUN_RECORD = "run.json"
EXECUTED_NOTEBOOK = "notebook.ipynb"


@dataclass(frozen=True)
class BuildStore:
    root: Path  # build/<profile>

    @classmethod
    def for_profile(cls, build_dir: Path, profile: str) -> BuildStore:
        return cls(Path(build_dir) / profile)

    def task_dir(self, task: str) -> Path:
        return self.root / task

    def staging_dir(self, task: str) -> Path:
        return self.root / ".staging" / task

    def memo_dir(self, task: str) -> Path:
        """Reusable intermediate results of ``task`` (e.g. T4's trained runs); content-addressed
        by the task itself, so they survive re-runs and failures of the task."""
        return self.root / ".memo" / task

    def failed_dir(self, task: str) -> Path:
        return self.root / ".failed" / task

    def completed_record(self, task: str) -> dict[str, Any] | None:
        """The record of a completed run of ``task``, or None if there is none."""
        path = self.task_dir(task) / TASK_RECORD
        if not path.exists():
            return None
        try:
            return read_json(path)
        except ValueError:
            return None

    def fresh_staging(self, task: str) -> Path:
        """An empty staging directory; leftovers of an interrupted run are discarded."""
        staging = self.staging_dir(task)
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        return staging

    def commit(self, task: str, record: dict[str, Any]) -> Path:
        """Mark the staged run complete and move it into place atomically."""
        staging = self.staging_dir(task)
        atomic_write_json(staging / TASK_RECORD, record)
        final = self.task_dir(task)
        trash = self.root / ".trash" / f"{task}-{time.time_ns()}"
        if final.exists():
            trash.parent.mkdir(parents=True, exist_ok=True)
            final.rename(trash)
        staging.rename(final)
        shutil.rmtree(trash, ignore_errors=True)
        shutil.rmtree(self.failed_dir(task), ignore_errors=True)
        return final

    def record_failure(self, task: str, error: dict[str, Any]) -> Path:
        """Keep the failed run aside; the last complete result (if any) stays untouched."""
        staging = self.staging_dir(task)
        failed = self.failed_dir(task)
        if failed.exists():
            shutil.rmtree(failed)
        failed.parent.mkdir(parents=True, exist_ok=True)
        if staging.exists():
            staging.rename(failed)
        else:
            failed.mkdir(parents=True)
        atomic_write_json(failed / ERROR_RECORD, error)
        return failed

    def write_run_record(self, record: dict[str, Any]) -> None:
        atomic_write_json(self.root / RUN_RECORD, record)

    def run_record(self) -> dict[str, Any] | None:
        path = self.root / RUN_RECORD
        return read_json(path) if path.exists() else None

    def clean(self) -> None:
        if self.root.exists():
            shutil.rmtree(self.root)
