"""What changed between two builds: moved metrics, flipped checks, re-run tasks and why.

Two summaries (``summary.json``, as :func:`lazy_artist.builder.summary.summarise` writes them)
are compared:

- **metrics**: every number, nested dicts and lists flattened to paths (``methods.erm.hard``,
  ``curve[3]``), of each task that has results in both; a number moved when
  ``|after - before| > max(REL_TOL * max(|before|, |after|), ABS_TOL)``; any other value
  (text, booleans, a type change) when it differs; a path present on one side only counts too.
- **checks**: each check whose verdict flipped (or that appeared or disappeared).
- **tasks**: each task that ran in this build, changed status, or whose cache key differs,
  with the reason read from the key's recorded inputs (:func:`key_inputs`): notebook,
  parameters, library code, upstream tasks, data, package versions, device.

The baseline is the previous rendered build of the same profile (``publish`` keeps each
build's summary in ``build/<profile>/last-summary.json`` and moves the one before to
``previous-summary.json``), or any ``summary.json`` given with ``--baseline``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lazy_artist.builder.cache import TaskKeyParts, notebook_digest
from lazy_artist.builder.outcome import USABLE
from lazy_artist.builder.params import BuildInputError
from lazy_artist.builder.project import Project
from lazy_artist.builder.store import BuildStore
from lazy_artist.fileio import atomic_write_json, read_json

# Documented defaults: a relative move of 0.01% or an absolute one of 1e-6 is below anything the
# report prints, so only moves a reader could see are listed.
REL_TOL = 1e-4
ABS_TOL = 1e-6
LAST_SUMMARY = "last-summary.json"
PREVIOUS_SUMMARY = "previous-summary.json"
# The order in which the reasons for a re-run are named, with how each is worded.
KEY_PARTS = {
    "notebook": "notebook edited",
    "params": "parameters changed",
    "library": "library code changed",
    "upstream": "upstream task changed",
    "data": "data changed",
    "versions": "package versions changed",
    "device": "device changed",
}


class SummaryFileError(BuildInputError):
    """A summary file to compare is missing or not a summary (reported before any work)."""


def _digest(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def key_inputs(parts: TaskKeyParts) -> dict[str, Any]:
    """Short digests of each input of a task's cache key (:class:`~cache.TaskKeyParts`), kept in
    the summary so that a later build can say which input made a task re-run."""
    library = parts.library
    return {
        # The code cells only, as the key sees them: a markdown edit is no change.
        "notebook": notebook_digest(parts.notebook_text)[:16],
        "params": {name: _digest(value) for name, value in sorted(parts.params.items())},
        # Per module when given per module, so that a re-run can name the module.
        "library": library[:16]
        if isinstance(library, str)
        else {name: digest[:16] for name, digest in sorted(library.items())},
        "upstream": {name: key[:16] for name, key in sorted(parts.upstream_ids.items())},
        "data": {name: ident[:16] for name, ident in sorted(parts.data_identity.items())},
        "versions": dict(sorted(parts.versions.items())),
        "device": parts.device,
    }


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """Nested dicts and lists as ``{path: leaf}``; ``{}`` and ``[]`` are leaves themselves."""
    if isinstance(value, Mapping) and value:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(flatten(item, f"{path}.{key}" if path else str(key)))
        return flat
    if isinstance(value, list) and value:
        flat = {}
        for index, item in enumerate(value):
            flat.update(flatten(item, f"{path}[{index}]"))
        return flat
    return {path: value}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def moved(before: Any, after: Any, rel_tol: float = REL_TOL, abs_tol: float = ABS_TOL) -> bool:
    if _is_number(before) and _is_number(after):
        if math.isnan(before) or math.isnan(after):
            return math.isnan(before) != math.isnan(after)
        return not math.isclose(before, after, rel_tol=rel_tol, abs_tol=abs_tol)
    return type(before) is not type(after) or before != after


def show(value: Any) -> str:
    if value is _ABSENT:
        return "absent"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


_ABSENT = object()  # a metric or check on one side only
# Wall-clock metrics move on every run of a task: counted, not listed, so that the table shows
# what a change did to the results (the task table already says which tasks re-ran).
_TIMING = re.compile(r"(^|[._\[])(seconds|runtime_s|wall_s)(_|\.|\]|$)")


def is_timing(metric: str) -> bool:
    """A wall-clock measurement (``seconds``, ``train_seconds``, ``seconds_mean``, ...)."""
    return bool(_TIMING.search(metric))


@dataclass(frozen=True)
class MetricChange:
    task: str
    metric: str
    before: Any
    after: Any

    @property
    def change(self) -> str:
        if _is_number(self.before) and _is_number(self.after):
            return f"{self.after - self.before:+.4g}"
        return ""


@dataclass(frozen=True)
class CheckChange:
    task: str
    check: str
    before: Any  # True / False / _ABSENT
    after: Any


@dataclass(frozen=True)
class TaskChange:
    task: str
    before: str
    after: str
    why: str


@dataclass
class Changes:
    baseline: str | None  # what was compared with, in words; None: nothing to compare with
    metrics: list[MetricChange] = field(default_factory=list)
    checks: list[CheckChange] = field(default_factory=list)
    tasks: list[TaskChange] = field(default_factory=list)
    timings_moved: int = 0  # wall-clock metrics that moved (not listed)
    rel_tol: float = REL_TOL
    abs_tol: float = ABS_TOL
    # A link (relative to the report) to the baseline's own report, when it is published beside it.
    previous_report: str | None = None

    @property
    def no_change(self) -> bool:
        return self.baseline is not None and not (self.metrics or self.checks or self.tasks)

    @property
    def tolerance(self) -> str:
        return f"relative {self.rel_tol:g}, absolute {self.abs_tol:g}"

    def _tables(self) -> list[dict[str, Any]]:
        tables = []
        if self.tasks:
            tables.append(
                {
                    "name": "tasks",
                    "columns": ["Task", "Before", "Now", "Why"],
                    "rows": [[row.task, row.before, row.after, row.why] for row in self.tasks],
                    "caption": "Tasks that re-ran, changed status or were built from other inputs",
                }
            )
        if self.checks:
            tables.append(
                {
                    "name": "checks",
                    "columns": ["Task", "Check", "Before", "Now"],
                    "rows": [
                        [row.task, row.check, _verdict(row.before), _verdict(row.after)]
                        for row in self.checks
                    ],
                    "caption": "Checks whose verdict flipped",
                }
            )
        if self.metrics:
            tables.append(
                {
                    "name": "metrics",
                    "columns": ["Task", "Metric", "Before", "Now", "Change"],
                    "rows": [
                        [row.task, row.metric, show(row.before), show(row.after), row.change]
                        for row in self.metrics
                    ],
                    "caption": f"Metrics that moved beyond the tolerance ({self.tolerance})",
                }
            )
        return tables

    def tables(self) -> list[str]:
        """The report's tables (markdown, through the report's one table helper)."""
        # Imported here: assemble imports build, which imports this module (key_inputs).
        from lazy_artist.builder.assemble import markdown_table

        return [markdown_table(table, f"changes-{table['name']}") for table in self._tables()]

    def as_text(self) -> str:
        """The same tables for a terminal."""
        if self.baseline is None:
            return "no baseline to compare with"
        lines = [f"compared with {self.baseline}"]
        if self.no_change:
            lines.append(f"no change (tolerance: {self.tolerance})")
        for table in self._tables():
            rows = [table["columns"], *table["rows"]]
            widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
            lines += ["", f"{table['caption']}:"]
            lines += [
                "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                for row in rows
            ]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "previous_report": self.previous_report,
            "no_change": self.no_change,
            "timings_moved": self.timings_moved,
            "tolerance": {"relative": self.rel_tol, "absolute": self.abs_tol},
            "tasks": [vars(row) for row in self.tasks],
            "checks": [
                {**vars(row), "before": _plain(row.before), "after": _plain(row.after)}
                for row in self.checks
            ],
            "metrics": [
                {**vars(row), "before": _plain(row.before), "after": _plain(row.after)}
                for row in self.metrics
            ],
        }


def _verdict(value: Any) -> str:
    return "absent" if value is _ABSENT else ("held" if value else "FAILED")


def _plain(value: Any) -> Any:
    return None if value is _ABSENT else value


def describe(summary: Mapping[str, Any]) -> str:
    """A summary in words, for "compared with ...": when it was built, from which commit."""
    commit = (summary.get("git") or {}).get("commit")
    when = summary.get("started_at")
    parts = [f"{summary.get('profile', '?')} build"]
    if when:
        parts.append(f"of {when}")
    if commit:
        parts.append(f"(commit {commit[:10]})")
    return " ".join(parts)


def compare_summaries(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    rel_tol: float = REL_TOL,
    abs_tol: float = ABS_TOL,
    baseline: str | None = None,
) -> Changes:
    """Everything that changed from ``before`` to ``after`` (see the module docstring)."""
    changes = Changes(baseline or f"the {describe(before)}", rel_tol=rel_tol, abs_tol=abs_tol)
    old_tasks, new_tasks = before.get("tasks", {}), after.get("tasks", {})
    for name in [*new_tasks, *(name for name in old_tasks if name not in new_tasks)]:
        old, new = old_tasks.get(name), new_tasks.get(name)
        why = _task_change(old, new)
        if why is not None:
            changes.tasks.append(
                TaskChange(
                    name,
                    old["status"] if old else "absent",
                    new["status"] if new else "absent",
                    why,
                )
            )
        if not (old and new and old["status"] in USABLE and new["status"] in USABLE):
            continue  # results on one side only: the task row says so, metric rows would not
        for check in [
            *new.get("checks", {}),
            *(c for c in old.get("checks", {}) if c not in new.get("checks", {})),
        ]:
            was = old.get("checks", {}).get(check, _ABSENT)
            now = new.get("checks", {}).get(check, _ABSENT)
            if was is _ABSENT or now is _ABSENT or bool(was) != bool(now):
                changes.checks.append(CheckChange(name, check, was, now))
        old_metrics, new_metrics = flatten(old.get("metrics", {})), flatten(new.get("metrics", {}))
        for path in [*new_metrics, *(p for p in old_metrics if p not in new_metrics)]:
            was, now = old_metrics.get(path, _ABSENT), new_metrics.get(path, _ABSENT)
            if was is _ABSENT or now is _ABSENT or moved(was, now, rel_tol, abs_tol):
                if is_timing(path) and was is not _ABSENT and now is not _ABSENT:
                    changes.timings_moved += 1
                else:
                    changes.metrics.append(MetricChange(name, path, was, now))
    return changes


def _task_change(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> str | None:
    """Why a task belongs in the changes table, or None when it does not."""
    if new is None:
        return "no longer in the build"
    if old is None:
        return "new task" if new["status"] in USABLE else f"new task, {new['status']}"
    ran = new["status"] == "complete"
    same_key = old.get("key") is not None and old.get("key") == new.get("key")
    if new["status"] != old["status"] and not (old["status"] in USABLE and new["status"] in USABLE):
        detail = new.get("error") or (
            f"blocked by {', '.join(new['blocked_by'])}" if new.get("blocked_by") else ""
        )
        if ran and not same_key:
            detail = ", ".join(filter(None, [f"re-ran: {rerun_reasons(old, new)}", detail]))
        return detail or f"was {old['status']}"
    if ran:
        return (
            "re-ran with unchanged inputs (--force)"
            if same_key
            else f"re-ran: {rerun_reasons(old, new)}"
        )
    if not same_key and new.get("key") is not None and new["status"] in USABLE:
        return f"reused a result of other inputs: {rerun_reasons(old, new)}"
    return None


def rerun_reasons(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    was, now = old.get("key_inputs"), new.get("key_inputs")
    if not was or not now:
        return "inputs changed (the baseline does not record which)"
    reasons = []
    for part, words in KEY_PARTS.items():
        a, b = was.get(part), now.get(part)
        if a == b:
            continue
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            names = sorted(k for k in {*a, *b} if a.get(k) != b.get(k))
            if part == "versions":
                names = [f"{k} {a.get(k, 'absent')} -> {b.get(k, 'absent')}" for k in names]
            reasons.append(f"{words} ({', '.join(names)})")
        elif part == "device":
            reasons.append(f"{words} ({a} -> {b})")
        else:
            reasons.append(words)
    return "; ".join(reasons) or "inputs changed"


def load_summary(path: Path) -> dict[str, Any]:
    """A summary.json to compare with; a missing or malformed file is a :class:`SummaryFileError`."""
    path = Path(path)
    if not path.is_file():
        raise SummaryFileError(f"summary file {path} does not exist")
    try:
        summary = read_json(path)
    except (ValueError, OSError) as error:
        raise SummaryFileError(f"summary file {path} is not valid JSON: {error}") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("tasks"), dict):
        raise SummaryFileError(f"summary file {path} is not a summary.json (no 'tasks' object)")
    for name, task in summary["tasks"].items():
        if not isinstance(task, dict) or "status" not in task:
            raise SummaryFileError(f"summary file {path}: task {name!r} has no status")
    return summary


def remember_build(store: BuildStore, summary: Mapping[str, Any]) -> dict[str, Any] | None:
    """Keep ``summary`` as the profile's last build and return the build before it (or None).

    A re-render of the same build (same ``started_at``) keeps the baseline it had, so
    ``render`` after ``build`` reports the same changes.
    """
    last_path, previous_path = store.root / LAST_SUMMARY, store.root / PREVIOUS_SUMMARY
    last = _read_or_none(last_path)
    if last is not None and last.get("started_at") != summary.get("started_at"):
        atomic_write_json(previous_path, last)
    store.root.mkdir(parents=True, exist_ok=True)
    atomic_write_json(last_path, dict(summary))
    return _read_or_none(previous_path)


def _read_or_none(path: Path) -> dict[str, Any] | None:
    try:
        return load_summary(path)
    except SummaryFileError:
        return None


def with_changes(
    project: Project,
    run_record: dict[str, Any],
    baseline: Path | None = None,
    current: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``run_record`` plus ``"changes"``: this build (``current``, its summary; made here when
    not given) against ``baseline`` (a summary.json) or the previous build of its profile.
    The template reads ``run.changes``; publish writes it into summary.json."""
    if current is None:
        from lazy_artist.builder.summary import summarise  # summary -> references -> us

        current = summarise(run_record, project.root)
    store = BuildStore.for_profile(project.build_dir, run_record["profile"])
    previous = remember_build(store, current)
    if baseline is not None:
        chosen = load_summary(baseline)
        changes = compare_summaries(chosen, current, baseline=f"{baseline}: {describe(chosen)}")
        # The CI workflow publishes the previous site's index.html beside its summary.json in
        # previous/, and the new site keeps that folder: link it, relative to the report.
        if (Path(baseline).parent / "index.html").is_file():
            changes.previous_report = f"{Path(baseline).resolve().parent.name}/index.html"
    elif previous is not None:
        changes = compare_summaries(
            previous, current, baseline=f"the previous {describe(previous)}"
        )
    else:
        changes = Changes(None)
    return {**run_record, "changes": changes}
