"""What a build would do, and why, without running anything (``status``, ``build --dry-run``).

Every task's key is recomputed from the current notebooks, parameters, library code, data,
package versions and device (``build.task_key_parts``, as a build computes it) and compared with
the stored result's ``task.json``: the same key is ``cached``; a different one names the
inputs that changed, read from the key inputs recorded at commit (``changes.key_inputs``).
A task keyed on what it read of an upstream task (builder/upstream.py) whose only change is
that upstream re-running ``may run``: that is decided once the upstream has run.
A task that will run and declares a ``run_plan`` hook (:mod:`lazy_artist.builder.run_hooks`)
adds its own lines (T4: which memoised training runs would be reused or trained, and why).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lazy_artist.builder import cache
from lazy_artist.builder.build import data_identities, resolve_selection, task_key_parts
from lazy_artist.builder.changes import key_inputs, rerun_reasons
from lazy_artist.builder.project import Project
from lazy_artist.builder.run_hooks import RunPlanQuery
from lazy_artist.builder.store import OUTPUTS_FIELD, BuildStore
from lazy_artist.builder.upstream import recorded_reads, upstream_identity

CACHED, WILL_RUN, WILL_FAIL, NOT_SELECTED = "cached", "will run", "will fail", "not selected"
MAY_RUN = "may run"  # its own inputs unchanged; up to what its re-running upstream rewrites


@dataclass(frozen=True)
class TaskPlan:
    name: str
    state: str  # one of CACHED, WILL_RUN, MAY_RUN, WILL_FAIL, NOT_SELECTED
    why: str  # empty for a cached task
    key: str
    details: tuple[str, ...] = ()  # the task's run_plan hook's lines (a task that will run)

    def line(self) -> str:
        return f"{self.name:4} {self.state}{': ' + self.why if self.why else ''}"

    def lines(self) -> list[str]:
        """The task's line, then its hook's lines indented beneath it."""
        return [self.line(), *(f"     {detail}" for detail in self.details)]


def plan(
    project: Project,
    profile: str,
    only: Iterable[str] | None = None,
    skip: Iterable[str] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    force: bool = False,
    force_all: bool = False,
    retrain: str | list[str] | None = None,
) -> list[TaskPlan]:
    """Each task of the graph, in build order, with what a build with these options would do."""
    graph = project.graph
    selected, forced, params, devices = resolve_selection(
        project, profile, only, skip, force, force_all, retrain, overrides
    )
    store = BuildStore.for_profile(project.build_dir, profile)
    data_ids, data_errors = data_identities(project, graph, params, store)
    versions = cache.package_versions()

    keys: dict[str, str] = {}
    states: dict[str, str] = {}
    running: set[str] = set()  # tasks this build would (or may) run
    plans = []
    for task in graph:
        stored = store.completed_record(task.name)
        upstream = {
            dep: _identity(store, dep, keys[dep], dep in running, stored) for dep in task.depends
        }
        parts = task_key_parts(
            project, task, params[task.name], upstream, data_ids, versions, devices
        )
        keys[task.name] = key = cache.task_key(parts)
        state, why = _verdict(store, task.name, key, key_inputs(parts), stored)
        rerunning = [dep for dep in task.depends if dep in running]
        if state == WILL_RUN and rerunning and _only_upstream_moved(stored, key_inputs(parts)):
            # The cut-off is decided after the upstream runs: say what it will depend on.
            state, why = MAY_RUN, _cut_off_text(stored, rerunning)
        missing = [name for name in task.datasets if name in data_errors]
        if task.name not in selected:
            state, why = NOT_SELECTED, (why if state != CACHED else "")
        elif missing:
            state, why = WILL_FAIL, f"data set {missing[0]} is not available"
        elif task.name in forced and state == CACHED:
            state, why = WILL_RUN, "--retrain" if retrain and task.memo else "--force"
        plans.append(TaskPlan(task.name, state, why, key))
        states[task.name] = state
        if state in (WILL_RUN, MAY_RUN):
            running.add(task.name)
    for n, task_plan in enumerate(plans):
        task = graph[task_plan.name]
        hook = task.run_plan
        if hook is not None and task_plan.state in (WILL_RUN, MAY_RUN):
            upstream = {
                dep: store.task_dir(dep) if states[dep] == CACHED else None for dep in task.depends
            }
            query = RunPlanQuery(
                project.root,
                params[task.name],
                store.memo_dir(task.name),
                upstream,
                devices[task.name],
                retrain,
            )
            plans[n] = TaskPlan(
                task_plan.name, task_plan.state, task_plan.why, task_plan.key, _ask(hook, query)
            )
    return plans


def _identity(
    store: BuildStore, dep: str, key: str, runs: bool, stored: dict[str, Any] | None
) -> str:
    """``dep`` as the task's stored run saw it (:func:`upstream.upstream_identity`) when ``dep``
    does not run; its recomputed key otherwise (what a run would be keyed on before it runs)."""
    if runs:
        return key
    record = store.completed_record(dep) or {}
    return upstream_identity(key, record.get(OUTPUTS_FIELD), recorded_reads(stored, dep))


def _only_upstream_moved(stored: dict[str, Any] | None, inputs: dict[str, Any]) -> bool:
    """True when the stored run traced its reads and every key input but the upstream ones is
    as it was: whether the task re-runs is then up to what its upstream tasks rewrite."""
    if not stored or recorded_reads(stored, "") is None or not stored.get("key_inputs"):
        return False
    before = {k: v for k, v in stored["key_inputs"].items() if k != "upstream"}
    return before == {k: v for k, v in inputs.items() if k != "upstream"}


def _cut_off_text(stored: dict[str, Any], rerunning: list[str]) -> str:
    counts = ", ".join(f"{len(recorded_reads(stored, dep) or [])} of {dep}'s" for dep in rerunning)
    verb = "runs" if len(rerunning) == 1 else "run"
    return (
        f"{', '.join(rerunning)} {verb} first; this re-runs only if the files it read there "
        f"({counts}) change"
    )


def _ask(hook, query: RunPlanQuery) -> tuple[str, ...]:
    """The hook's lines; a failing hook is one line naming its error (status still answers
    for every other task)."""
    try:
        return tuple(str(line) for line in hook(query))
    except Exception as error:  # the plan explains, it never decides: report, do not stop
        return (f"run plan unavailable: {type(error).__name__}: {error}",)


def _verdict(
    store: BuildStore,
    task: str,
    key: str,
    inputs: dict[str, Any],
    stored: dict[str, Any] | None,
) -> tuple[str, str]:
    if stored is None:
        return WILL_RUN, "no stored result"
    if stored.get("key") == key:
        damage = store.verify(task, stored)
        return (WILL_RUN, f"stored result damaged ({damage})") if damage else (CACHED, "")
    if not stored.get("key_inputs"):
        return WILL_RUN, "inputs changed (the stored result does not record which)"
    return WILL_RUN, rerun_reasons(stored, {"key_inputs": inputs})
