"""Run the task graph: compute keys, reuse cached results, execute the rest, isolate failures."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lazy_artist import readtrace
from lazy_artist.builder import cache
from lazy_artist.builder.changes import key_inputs
from lazy_artist.builder.datasets import data_identity
from lazy_artist.builder.kernel import ensure_kernel
from lazy_artist.builder.lock import build_lock
from lazy_artist.builder.outcome import USABLE, BuildResult, Status, TaskOutcome
from lazy_artist.builder.params import (
    BuildInputError,
    check_params,
    check_profile,
    check_task_names,
    resolve_params,
)
from lazy_artist.builder.project import Project
from lazy_artist.builder.provenance import collect_provenance
from lazy_artist.builder.runner import NotebookFailure, run_notebook
from lazy_artist.builder.schedule import check_tasks_at_once, schedule
from lazy_artist.builder.store import EXECUTED_NOTEBOOK, OUTPUTS_FIELD, BuildStore
from lazy_artist.builder.tasks import MEMO_PARAM, RETRAIN_PARAM, Task, TaskGraph
from lazy_artist.builder.upstream import (
    READS_FIELD,
    reads_by_upstream,
    recorded_reads,
    upstream_identity,
)
from lazy_artist.results import RESULTS_FILE
from lazy_artist.runtime import resolve_device

# The statuses by their short names (one definition: builder/outcome.py).
COMPLETE, CACHED, FAILED, BLOCKED, NOT_RUN = (
    Status.COMPLETE,
    Status.CACHED,
    Status.FAILED,
    Status.BLOCKED,
    Status.NOT_RUN,
)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def resolve_selection(
    project: Project,
    profile: str,
    only: Iterable[str] | None,
    skip: Iterable[str] | None,
    force: bool,
    force_all: bool,
    retrain: str | list[str] | None,
    overrides: dict[str, dict[str, Any]] | None,
    check_layout: bool = False,
) -> tuple[set[str], set[str], dict[str, dict[str, Any]], dict[str, str]]:
    """What a build with these options covers, checked before any work: the selected and the
    forced tasks, every task's validated parameters and its resolved device. ``build`` and
    ``explain.plan`` share it, so a dry run plans exactly what a build would run. The profile
    is checked here, once per build or plan; what follows takes it as checked."""
    graph = project.graph
    check_profile(profile)
    only = list(only) if only else None
    selected = select_tasks(graph, only, skip)
    forced = forced_tasks(graph, selected, only, force, force_all, retrain)
    if check_layout:
        project.check_layout(sorted(selected))
    params = {task.name: resolve_params(task, profile, overrides) for task in graph}
    check_params(graph, sorted(selected), params)
    devices = {}
    for name, task_params in params.items():
        try:
            devices[name] = str(resolve_device(task_params["device"]))
        except ValueError as error:
            raise BuildInputError(f"task {name}: {error}") from None
    return selected, forced, params, devices


def build(
    project: Project,
    profile: str,
    only: Iterable[str] | None = None,
    force: bool = False,
    keep_going: bool = True,
    overrides: dict[str, dict[str, Any]] | None = None,
    stream: bool = True,
    say: Callable[[str], None] = _say,
    skip: Iterable[str] | None = None,
    wait: bool = True,
    lock_timeout_s: float | None = None,
    keep_lock: bool = False,
    force_all: bool = False,
    retrain: str | list[str] | None = None,
    timeouts: dict[str, float] | None = None,
    tasks_at_once: int = 1,
) -> BuildResult:
    """Build ``only`` (and what they need) or every task, less ``skip``; returns every task's
    outcome. ``force`` re-runs the named tasks, ``force_all`` what they need too, ``retrain``
    (``"all"`` or method names) retrains those memoised runs (see :func:`forced_tasks`);
    ``timeouts`` overrides tasks' per-cell time limits (``Task.cell_timeout_s``);
    ``tasks_at_once`` independent tasks run concurrently (:mod:`lazy_artist.builder.schedule`)."""
    graph = project.graph
    check_tasks_at_once(tasks_at_once)
    selected, forced, params, devices = resolve_selection(
        project, profile, only, skip, force, force_all, retrain, overrides, check_layout=True
    )
    for task in graph:
        if task.name in selected and task.advise is not None:
            for line in task.advise(params[task.name], devices[task.name]):
                say(f"note: {task.name}: {line}")

    store = BuildStore.for_profile(project.build_dir, profile)
    # One build per profile at a time (builder/lock.py). With keep_lock the caller releases it
    # (lock.release_all), so the report it publishes from this build is covered too.
    lock = build_lock(store.root, wait=wait, timeout_s=lock_timeout_s, say=say)
    store = store.start_build()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.perf_counter()

    data_ids, data_errors = data_identities(project, graph, params, store)
    versions = cache.package_versions()
    kernel = ensure_kernel(project.build_dir / ".jupyter")

    outcomes: dict[str, TaskOutcome] = {}
    parts_by_task: dict[str, cache.TaskKeyParts] = {}
    data_reported: set[str] = set()
    stop = False

    def upstream_identities(task: Task, reads: Callable[[str], list[str] | None]) -> dict[str, str]:
        """Per dependency (settled already): its identity for ``task`` given what was read."""
        ids = {}
        for dep in task.depends:
            record = store.completed_record(dep) if outcomes[dep].status in USABLE else None
            ids[dep] = upstream_identity(
                outcomes[dep].key or "", (record or {}).get(OUTPUTS_FIELD), reads(dep)
            )
        return ids

    def rekey(task: Task, reads: dict[str, list[str]]) -> tuple[str, dict[str, Any]]:
        """The key and key inputs of a run that read ``reads``: what the next build compares."""
        parts = replace(parts_by_task[task.name], upstream_ids=upstream_identities(task, reads.get))
        return cache.task_key(parts), key_inputs(parts)

    def decide(task: Task) -> bool:
        """Key the task and settle it (cached, blocked, failed on data, not selected); True
        when it is to run. Its dependencies are settled already."""
        nonlocal stop
        stored = store.completed_record(task.name, warn=say)
        # Each upstream as the stored run saw it: the files it read there (builder/upstream.py).
        upstream_ids = upstream_identities(task, lambda dep: recorded_reads(stored, dep))
        key_parts = task_key_parts(
            project, task, params[task.name], upstream_ids, data_ids, versions, devices
        )
        parts_by_task[task.name] = key_parts
        key = cache.task_key(key_parts)
        outcome = TaskOutcome(task.name, task.title, NOT_RUN, key=key, params=params[task.name])
        # Digests of each input, so the next build's changes section can say why a task re-ran.
        outcome.key_inputs = key_inputs(key_parts)
        outcomes[task.name] = outcome
        reusable = stored is not None and stored.get("key") == key
        if reusable and task.name not in forced:
            damage = store.verify(task.name, stored)
            if damage:
                moved = store.set_aside(task.name)
                then = "re-running" if task.name in selected and not stop else "not selected now"
                say(f"{task.name}: stored result damaged: {damage}; moved to {moved}, {then}")
                stored, reusable = None, False

        if task.name not in selected or stop:
            if reusable:
                _mark_cached(outcome, stored, store)
            return False
        unusable_deps = [dep for dep in task.depends if outcomes[dep].status not in USABLE]
        if unusable_deps:
            outcome.status, outcome.blocked_by = BLOCKED, unusable_deps
            say(f"{task.name}: blocked by {', '.join(unusable_deps)}")
            return False
        missing_data = [name for name in task.datasets if name in data_errors]
        if missing_data:
            error_type, message = data_errors[missing_data[0]]
            outcome.status = FAILED
            outcome.error = {"cell": None, "error": error_type, "message": message, "traceback": ""}
            outcome.failed_dir = str(store.record_failure(task.name, outcome.error))
            # The full message (every source tried) once; later tasks on the same data point to it.
            if missing_data[0] in data_reported:
                say(f"{task.name}: failed: {missing_data[0]} is not available (see above)")
            else:
                say(f"{task.name}: failed: {error_type}: {message}")
                data_reported.add(missing_data[0])
            stop = not keep_going
            return False
        if reusable and task.name not in forced:
            _mark_cached(outcome, stored, store)
            say(f"{task.name}: cached (inputs unchanged)")
            return False
        return True

    runner = TaskRunner(project, store, profile, kernel, stream, say, retrain)

    def execute(task: Task) -> None:
        upstream_dirs = {dep: str(Path(outcomes[dep].task_dir).resolve()) for dep in task.depends}
        runner.run(
            task,
            outcomes[task.name],
            upstream_dirs,
            timeout_s=(timeouts or {}).get(task.name, task.cell_timeout_s(profile)),
            rekey=lambda reads: rekey(task, reads),
        )

    def started_task(task: Task, running: list[str]) -> None:
        say(progress_line(outcomes, selected, running=running))

    def finished_task(task: Task, running: list[str]) -> None:
        nonlocal stop
        say(progress_line(outcomes, selected, running=running))
        stop = stop or (outcomes[task.name].status == FAILED and not keep_going)

    try:
        schedule(
            list(graph),
            decide,
            execute,
            tasks_at_once,
            on_start=started_task,
            on_finish=finished_task,
            proceed=lambda: not stop,
        )
    except KeyboardInterrupt:
        store.discard_staging()  # Ctrl-C: the half runs go, the last committed results stay
        raise

    result = BuildResult(
        profile=profile,
        outcomes={task.name: outcomes[task.name] for task in graph if task.name in outcomes},
        started_at=started_at,
        wall_s=round(time.perf_counter() - started, 3),
        provenance=collect_provenance(project.root, profile, params, devices, versions),
    )
    store.write_run_record(result.as_record())
    if not keep_lock:
        lock.release()
    return result


def progress_line(
    outcomes: dict[str, TaskOutcome],
    selected: set[str],
    running: str | Sequence[str] | None = None,
) -> str:
    """The whole build at a glance, said as each task starts and ends: how many of the selected
    tasks are done (complete, cached, failed or blocked), which run, how many wait."""
    done = sorted(
        name for name in selected if name in outcomes and outcomes[name].status != NOT_RUN
    )
    names = [running] if isinstance(running, str) else list(running or ())
    failed = sum(outcomes[name].status in (FAILED, BLOCKED) for name in done)
    waiting = len(selected) - len(done) - len(names)
    parts = [f"{len(done)} of {len(selected)} tasks done"]
    if failed:
        parts[0] += f" ({failed} failed or blocked)"
    if names:
        parts.append(f"running {', '.join(names)}")
    parts.append(f"{waiting} waiting")
    return "build: " + ", ".join(parts)


def forced_tasks(
    graph: TaskGraph,
    selected: set[str],
    only: list[str] | None,
    force: bool = False,
    force_all: bool = False,
    retrain: str | list[str] | None = None,
) -> set[str]:
    """The tasks that run even when cached: with ``force`` the named ones (every task without
    ``only``), with ``force_all`` also what they need; with ``retrain`` the memo tasks (T4),
    whose memoised runs are what is to be redone."""
    forced: set[str] = set()
    if force_all:
        forced |= selected
    elif force:
        forced |= set(only or graph.names()) & selected
    if retrain:
        forced |= {name for name in selected if graph[name].memo}
    return forced


def memo_params(store: BuildStore, task: str, retrain: str | list[str] | None) -> dict[str, Any]:
    """What a memo task is told: its memo directory (always: ``--force`` re-executes the
    notebook but reuses its memoised runs) and which runs to retrain (``--retrain``)."""
    return {
        MEMO_PARAM: str(store.memo_dir(task).resolve()),
        RETRAIN_PARAM: list(retrain) if isinstance(retrain, (list, tuple)) else retrain,
    }


def select_tasks(
    graph: TaskGraph, only: Iterable[str] | None = None, skip: Iterable[str] | None = None
) -> set[str]:
    """The tasks a build runs: ``only`` (default every task) and what they need, less ``skip``.

    A skipped task that a selected task needs is an error naming the dependants, rather than
    a silently blocked build: skip them too, or select with ``--only``.
    """
    selected_names = list(only) if only else graph.names()
    skipped = list(skip or ())
    check_task_names(graph, selected_names)
    check_task_names(graph, skipped)
    selected = {task.name for task in graph.with_dependencies(selected_names)} - set(skipped)
    for name in skipped:
        dependants = sorted(task for task in selected if name in graph[task].depends)
        if dependants:
            raise BuildInputError(
                f"cannot skip {name}: {', '.join(dependants)} need(s) it; skip those too "
                "or choose tasks with --only"
            )
    if not selected:
        raise BuildInputError("every selected task is skipped: nothing to build")
    return selected


def task_key_parts(
    project: Project,
    task: Task,
    params: dict[str, Any],
    upstream_ids: dict[str, str],
    data_ids: dict[str, str],
    versions: dict[str, str],
    devices: dict[str, str],
) -> cache.TaskKeyParts:
    """What ``task``'s cache key is made of, for the build and for ``status`` / ``--dry-run``
    alike; the library per module: only the code this notebook can reach (a new module
    elsewhere keeps it cached)."""
    notebook = project.notebook(task.name)
    text = notebook.read_text(encoding="utf-8") if notebook.exists() else ""
    return cache.TaskKeyParts(
        notebook_text=text,
        params=task.key_params(params),
        library=cache.library_digests(notebook_text=text),
        upstream_ids=upstream_ids,
        data_identity={name: data_ids.get(name, "") for name in task.datasets},
        versions=versions,
        device=devices[task.name],
    )


def _mark_cached(outcome: TaskOutcome, stored: dict[str, Any], store: BuildStore) -> None:
    outcome.status = CACHED
    outcome.runtime_s = stored.get("runtime_s")
    outcome.task_dir = str(store.task_dir(outcome.name))


def data_identities(
    project, graph, params, store
) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """Fingerprint every data set the graph reads; a missing one is recorded, not raised."""
    identities: dict[str, str] = {}
    errors: dict[str, tuple[str, str]] = {}  # data set -> (error type, message)
    memo = store.root.parent / ".data-identity.json"
    for task in graph:
        data_root = project.root / str(params[task.name]["data_root"])
        for name in task.datasets:
            if name in identities or name in errors:
                continue
            try:
                identities[name] = data_identity(name, data_root, memo)
            except (
                Exception
            ) as error:  # DataUnavailableError and friends: the tasks that need it fail
                errors[name] = (type(error).__name__, str(error))
    return identities, errors


@dataclass(frozen=True)
class TaskRunner:
    """What every task run of one build shares: where it runs and writes, and how it reports."""

    project: Project
    store: BuildStore
    profile: str  # the checked name, not the build folder's
    kernel: str
    stream: bool
    say: Callable[[str], None]
    retrain: str | list[str] | None

    def run(
        self,
        task: Task,
        outcome: TaskOutcome,
        upstream_dirs: dict[str, str],
        timeout_s: float | None = None,
        rekey: Callable[[dict[str, list[str]]], tuple[str, dict[str, Any]]] | None = None,
    ) -> None:
        """Run ``task``'s notebook into staging and commit it, settling ``outcome``.
        ``rekey(reads)`` gives the key of the run from the upstream files it read (traced in
        its kernel and workers)."""
        name, store, say = task.name, self.store, self.say
        staging = store.fresh_staging(name)
        trace = staging.parent / f"{name}.reads"
        trace.unlink(missing_ok=True)
        injected = {
            **outcome.params,
            "output_dir": str(staging.resolve()),
            "upstream": upstream_dirs,
            "profile": self.profile,
        }
        if task.memo:
            injected.update(memo_params(store, name, self.retrain))
        say(f"{name}: running {task.notebook}")
        started = time.perf_counter()
        try:
            run_notebook(
                name,
                self.project.notebook(name),
                staging,
                injected,
                kernel_name=self.kernel,
                cwd=self.project.root,
                output_name=EXECUTED_NOTEBOOK,
                stream=self.stream,
                timeout_s=timeout_s,
                kernel_args=readtrace.kernel_arguments(str(trace), upstream_dirs.values()),
            )
            if not (staging / RESULTS_FILE).exists():
                raise NotebookFailure(
                    None,
                    "MissingResults",
                    f"the notebook finished without writing {RESULTS_FILE} (call rec.save())",
                    "",
                )
        except KeyboardInterrupt:
            store.discard_staging()  # Ctrl-C: the half run goes, the last committed result stays
            raise
        except NotebookFailure as failure:
            trace.unlink(missing_ok=True)
            outcome.runtime_s = round(time.perf_counter() - started, 3)
            outcome.status, outcome.error = FAILED, failure.as_dict()
            outcome.failed_dir = str(store.record_failure(name, failure.as_dict()))
            say(f"{name}: FAILED after {outcome.runtime_s:.1f}s: {failure}")
            return
        outcome.runtime_s = round(time.perf_counter() - started, 3)
        reads = reads_by_upstream(readtrace.read_log(trace), upstream_dirs)
        trace.unlink(missing_ok=True)
        if rekey is not None:
            outcome.key, outcome.key_inputs = rekey(reads)
        record = {
            "task": name,
            "key": outcome.key,
            "params": outcome.params,
            "runtime_s": outcome.runtime_s,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            # Identifies the run: tests and tools tell re-runs apart.
            "finished_at_ns": time.time_ns(),
            "notebook": task.notebook,
            # What the key was made of, so that `status` can say which input changed since.
            "key_inputs": outcome.key_inputs,
            READS_FIELD: reads,  # what of each upstream the key stands on (builder/upstream.py)
        }
        outcome.task_dir = str(store.commit(name, record))
        outcome.status = COMPLETE
        say(f"{name}: complete in {outcome.runtime_s:.1f}s")
