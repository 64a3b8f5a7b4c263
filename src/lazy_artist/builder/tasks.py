"""What a task is, and a graph of them: a notebook, its dependencies and its parameters.

The builder runs any :class:`TaskGraph`; the study's is :data:`lazy_artist.study.STUDY_TASKS`.

A task's parameters are resolved as: ``COMMON_PARAMS`` < the task's defaults < its profile's
overrides < overrides from the command line. Only names a task declares can be set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from lazy_artist.builder.param_ranges import Range, check_ranges, described, integer
from lazy_artist.builder.run_hooks import RunPlanHook

PROFILES: Mapping[str, str] = MappingProxyType(
    {
        "quick": "small subsets and few epochs: the whole pipeline in a few minutes on 2 CPU cores",
        "full": "the real study: full data, the budgets of STUDY.md",
        # Run with --only t4: its chosen values are committed to methods/tuned.py for `full`.
        "tune": "T4's hyper-parameter sweep on the full data (n_draws per method, one seed)",
    }
)

# Every notebook declares these in its parameters cell; the builder injects the rest
# (``output_dir``, ``upstream``, ``profile``) itself.
COMMON_PARAMS: Mapping[str, Any] = MappingProxyType(
    {"seed": 0, "device": "auto", "data_root": "data"}
)
COMMON_RANGES: Mapping[str, Range] = MappingProxyType(
    {
        "seed": integer(0),
        # The build resolves it before any work (runtime.resolve_device: a torch device name
        # that this machine has).
        "device": described('"auto", "cpu", "cuda" or "cuda:N", a device this machine has'),
        "data_root": described("a folder, relative to the project unless absolute"),
    }
)
INJECTED_PARAMS = ("output_dir", "upstream", "profile")
# Injected only into tasks with ``memo=True``: where they keep reusable intermediate results
# (T4's trained runs), outside the task directory so that a re-run or a failure keeps them.
MEMO_PARAM = "memo_dir"
# Injected beside it: None (reuse every memoised run), "all", or the method names whose runs
# are retrained (``--retrain``).
RETRAIN_PARAM = "memo_retrain"
# The longest one notebook cell may run, per profile, before its task fails (papermill's
# execution_timeout): far above any cell's normal time on 2 CPU cores (the longest, T4's
# training grid, about 100 minutes on the full profile), so only a hung cell reaches it.
DEFAULT_TIMEOUT_S: Mapping[str, float] = MappingProxyType(
    {"quick": 20 * 60, "full": 4 * 3600, "tune": 4 * 3600}
)


@dataclass(frozen=True)
class Task:
    name: str
    title: str
    notebook: str
    depends: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    # The values each parameter takes (builder/param_ranges.py), checked before the validator
    # and printed by ``tasks``; COMMON_RANGES cover the common parameters.
    ranges: Mapping[str, Range] = field(default_factory=dict)
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    section: str | None = None
    # Checks resolved parameters before any work (raises ValueError naming what is wrong).
    validate: Callable[[dict[str, Any]], None] | None = None
    # Preflight advice (never an error): lines the build prints before any work, given the
    # resolved parameters and device (T4: bf16 recipes on a CPU without native bf16).
    advise: Callable[[dict[str, Any], str], list[str]] | None = None
    # The notebook declares ``memo_dir`` and reuses expensive runs kept there (see MEMO_PARAM).
    memo: bool = False
    # Parameters that say how the task executes, never what it computes (T4's jobs): left out
    # of the cache key, so a serial and a parallel build reuse each other's results.
    execution_params: tuple[str, ...] = ()
    # Per-profile per-cell time limits in seconds, over DEFAULT_TIMEOUT_S (--timeout-s and
    # --set TASK.timeout_s=S override both; not part of the cache key).
    timeout_s: Mapping[str, float] = field(default_factory=dict)
    # Explains for status / --dry-run which of the task's memoised runs a build would reuse or
    # train and why, training nothing (builder/run_hooks.py); asked only when the task will run.
    run_plan: RunPlanHook | None = None

    def defaults(self) -> dict[str, Any]:
        return {**COMMON_PARAMS, **self.params}

    def all_ranges(self) -> dict[str, Range]:
        return {**COMMON_RANGES, **self.ranges}

    def _check_declaration(self) -> None:
        """Ranges only for declared parameters, and every declared value inside its range."""
        unknown = sorted(set(self.ranges) - set(self.defaults()))
        if unknown:
            raise ValueError(f"task {self.name!r} declares ranges for unknown parameters {unknown}")
        for profile, values in (("defaults", self.params), *self.profiles.items()):
            try:
                check_ranges(self.all_ranges(), values)
            except ValueError as error:
                raise ValueError(f"task {self.name!r} ({profile}): {error}") from None

    def cell_timeout_s(self, profile: str) -> float | None:
        return self.timeout_s.get(profile, DEFAULT_TIMEOUT_S.get(profile))

    def key_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` without :attr:`execution_params`: what the cache key hashes."""
        return {k: v for k, v in params.items() if k not in self.execution_params}


class TaskGraph:
    """Tasks in dependency order; rejects unknown dependencies and cycles when built."""

    def __init__(self, tasks: Iterable[Task]) -> None:
        self.tasks: dict[str, Task] = {}
        for task in tasks:
            if task.name in self.tasks:
                raise ValueError(f"task {task.name!r} declared twice")
            self.tasks[task.name] = task
        for task in self.tasks.values():
            for dep in task.depends:
                if dep not in self.tasks:
                    raise ValueError(f"task {task.name!r} depends on unknown task {dep!r}")
            for profile in task.profiles:
                if profile not in PROFILES:
                    raise ValueError(
                        f"task {task.name!r} has parameters for unknown profile {profile!r}"
                    )
            task._check_declaration()
        self._order = self._topological_order()

    def __getitem__(self, name: str) -> Task:
        return self.tasks[name]

    def __iter__(self):
        return iter(self._order)

    def names(self) -> list[str]:
        return [task.name for task in self._order]

    def _topological_order(self) -> list[Task]:
        order: list[Task] = []
        state: dict[str, str] = {}

        def visit(name: str, path: tuple[str, ...]) -> None:
            if state.get(name) == "done":
                return
            if state.get(name) == "visiting":
                raise ValueError(f"task dependency cycle: {' -> '.join((*path, name))}")
            state[name] = "visiting"
            for dep in self.tasks[name].depends:
                visit(dep, (*path, name))
            state[name] = "done"
            order.append(self.tasks[name])

        for name in self.tasks:
            visit(name, ())
        return order

    def with_dependencies(self, names: Iterable[str]) -> list[Task]:
        """The named tasks and everything they need, in build order."""
        wanted: set[str] = set()
        stack = list(names)
        while stack:
            name = stack.pop()
            if name not in wanted:
                wanted.add(name)
                stack.extend(self.tasks[name].depends)
        return [task for task in self._order if task.name in wanted]
