"""The build directory: completed task outputs, staging for runs in progress, failed runs.

Layout under ``build/<profile>/``::

    <task>/                   completed outputs; ``task.json`` (written last) holds the cache
                              key and the size + sha256 of every output file
    .staging/<build>/<task>/  a run in progress, one directory per build; never read; the
                              staging of dead builds is wiped when the next build takes the lock
    .failed/<task>/           the last failed run (executed notebook + ``error.json``)
    .damaged/<task>-<time>/   a stored result that failed verification, moved aside
    .memo/<task>/             reusable intermediate results (T4's trained runs), keyed by content
    .lock                     held by the build using this directory (builder/lock.py)
    run.json                  the record of the last build (statuses, runtimes, errors)

A run is committed by renaming its staging directory into place, so a task directory is
either the previous complete result or the new complete result, never a mix. Before a stored
result is reused its files are checked against the sizes and hashes recorded at commit.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lazy_artist.builder.params import BuildInputError
from lazy_artist.digests import check_digests, tree_digests
from lazy_artist.fileio import atomic_write_json, read_json

TASK_RECORD = "task.json"
ERROR_RECORD = "error.json"
RUN_RECORD = "run.json"
EXECUTED_NOTEBOOK = "notebook.ipynb"
# The builder's own subdirectories of build/<profile>/; anything else there is a task's result.
STAGING, FAILED, DAMAGED, MEMO, TRASH = ".staging", ".failed", ".damaged", ".memo", ".trash"
KEEP_DAMAGED = 3  # damaged results kept per task under .damaged/
OUTPUTS_FIELD = "outputs"  # in task.json: {relative path: {"size": bytes, "sha256": hex}}


class StoredRecordError(ValueError):
    """A stored record (run.json) is not valid JSON: named with the fix, never a traceback."""


def new_build_id() -> str:
    """Unique per build: a second process never touches this build's staging."""
    return (
        f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.time_ns() % 10**6:06d}"
    )


@dataclass(frozen=True)
class BuildStore:
    root: Path  # build/<profile>
    build_id: str = "manual"  # names this build's staging directory (see start_build)

    @classmethod
    def for_profile(cls, build_dir: Path, profile: str) -> BuildStore:
        return cls(Path(build_dir) / profile)

    def task_dir(self, task: str) -> Path:
        return self.root / task

    def staging_dir(self, task: str) -> Path:
        return self.root / STAGING / self.build_id / task

    def staging_dirs(self, task: str) -> list[Path]:
        """The staging directories of ``task`` in every build (for tests and tools)."""
        return sorted((self.root / STAGING).glob(f"*/{task}"))

    def check_layout(self) -> None:
        """The builder's own subdirectories must be directories: a file in their place is
        named, with the fix, before any work (rather than an OSError in the middle of a run)."""
        for name in (STAGING, FAILED, DAMAGED, MEMO, TRASH):
            path = self.root / name
            if path.exists() and not path.is_dir():
                raise BuildInputError(
                    f"{path} is a file, but the builder keeps a directory there: move it away "
                    f"(e.g. `mv {path} {path}.bak`) and run again"
                )

    def start_build(self) -> BuildStore:
        """This store for a new build (its own staging); call with the profile's lock held:
        the staging and trash of earlier builds are leftovers of dead processes."""
        self.check_layout()
        self._restore_interrupted_commits()
        for name in (STAGING, TRASH):
            shutil.rmtree(self.root / name, ignore_errors=True)
        return replace(self, build_id=new_build_id())

    def _restore_interrupted_commits(self) -> None:
        """A build killed between a commit's two renames left the previous result in .trash
        and no task directory: put the previous result back."""
        trash = self.root / TRASH
        if not trash.is_dir():
            return
        newest_first = sorted(trash.iterdir(), key=lambda entry: entry.name, reverse=True)
        for entry in newest_first:
            task, _, stamp = entry.name.rpartition("-")
            if task and stamp.isdigit() and not self.task_dir(task).exists():
                entry.rename(self.task_dir(task))

    def discard_staging(self) -> None:
        """Drop this build's staging (an interrupted build keeps the last committed results)."""
        shutil.rmtree(self.root / STAGING / self.build_id, ignore_errors=True)

    def memo_dir(self, task: str) -> Path:
        """Reusable intermediate results of ``task`` (e.g. T4's trained runs); content-addressed
        by the task itself, so they survive re-runs and failures of the task."""
        return self.root / ".memo" / task

    def failed_dir(self, task: str) -> Path:
        return self.root / ".failed" / task

    def completed_record(
        self, task: str, warn: Callable[[str], None] | None = None
    ) -> dict[str, Any] | None:
        """The record of a completed run of ``task``, or None if there is none (a malformed
        ``task.json`` counts as none: the task re-runs, with a warning through ``warn``)."""
        path = self.task_dir(task) / TASK_RECORD
        if not path.exists():
            return None
        try:
            record = read_json(path)
        except (ValueError, OSError) as error:
            if warn is not None:
                warn(f"{task}: warning: {path} is unreadable ({error}); treating it as absent")
            return None
        return record if isinstance(record, dict) else None

    def verify(self, task: str, record: dict[str, Any]) -> str | None:
        """None if the stored outputs match the sizes and hashes recorded at commit, else what
        differs. Results committed before hashes were recorded carry none and pass."""
        recorded = record.get(OUTPUTS_FIELD)
        if recorded is None:
            return None
        if not isinstance(recorded, dict):
            return f"{TASK_RECORD} has a malformed {OUTPUTS_FIELD!r} field"
        return check_digests(self.task_dir(task), recorded)

    def set_aside(self, task: str) -> Path:
        """Move a damaged result out of the way (kept for inspection) and return where to."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")  # sorts by time
        target = self.root / DAMAGED / f"{task}-{stamp}"
        while target.exists():
            target = target.with_name(target.name + "0")
        target.parent.mkdir(parents=True, exist_ok=True)
        self.task_dir(task).rename(target)
        # Kept for inspection, but a task damaged again and again must not fill the disk.
        kept = sorted(target.parent.glob(f"{task}-*"), key=lambda path: path.name)
        for old in kept[:-KEEP_DAMAGED]:
            shutil.rmtree(old, ignore_errors=True)
        return target

    def fresh_staging(self, task: str) -> Path:
        """An empty staging directory of this build."""
        staging = self.staging_dir(task)
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        return staging

    def commit(self, task: str, record: dict[str, Any]) -> Path:
        """Record every output's size and hash, mark the staged run complete and move it into
        place atomically."""
        staging = self.staging_dir(task)
        record = {**record, OUTPUTS_FIELD: tree_digests(staging, skip=(TASK_RECORD,))}
        atomic_write_json(staging / TASK_RECORD, record)
        final = self.task_dir(task)
        trash = self.root / TRASH / f"{task}-{time.time_ns()}"
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
        """The last build's record, None if there is none; malformed -> :class:`StoredRecordError`."""
        path = self.root / RUN_RECORD
        if not path.exists():
            return None
        try:
            record = read_json(path)
        except ValueError as error:
            raise StoredRecordError(
                f"{path} is not valid JSON ({error}): run a build to write it again "
                f"(cached tasks are reused)"
            ) from None
        if not isinstance(record, dict) or not isinstance(record.get("tasks"), dict):
            raise StoredRecordError(
                f"{path} is not a build record: run a build to write it again (cached tasks are reused)"
            )
        return record

    def clean(self) -> None:
        """Delete everything the builder keeps here; the lock file stays (another process may
        be waiting on it) and goes with the directory when nothing else is left."""
        if not self.root.exists():
            return
        for entry in self.root.iterdir():
            if entry.name == ".lock":
                continue
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
