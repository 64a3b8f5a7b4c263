"""Task declarations: one entry per study task, with its notebook, dependencies and parameters.

A task's parameters are resolved as: ``COMMON_PARAMS`` < the task's defaults < its profile's
overrides < overrides from the command line. Only names a task declares can be set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from lazy_artist.builder.validators import (
    validate_canvas,
    validate_classifier,
    validate_intervention,
)

PROFILES: Mapping[str, str] = MappingProxyType(
    {
        "quick": "small subsets and few epochs: the whole pipeline in a few minutes on 2 CPU cores",
        "full": "the real study: full data, the budgets of STUDY.md",
    }
)

# Every notebook declares these in its parameters cell; the builder injects the rest
# (``output_dir``, ``upstream``, ``profile``) itself.
COMMON_PARAMS: Mapping[str, Any] = MappingProxyType(
    {"seed": 0, "device": "auto", "data_root": "data"}
)
INJECTED_PARAMS = ("output_dir", "upstream", "profile")


@dataclass(frozen=True)
class Task:
    name: str
    title: str
    notebook: str
    depends: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    section: str | None = None
    # Checks resolved parameters before any work (raises ValueError naming what is wrong).
    validate: Callable[[dict[str, Any]], None] | None = None

    def defaults(self) -> dict[str, Any]:
        return {**COMMON_PARAMS, **self.params}


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


STUDY_TASKS = TaskGraph(
    [
        Task(
            name="t0",
            title="T0: the biased canvas",
            notebook="analyses/t0_data.py",
            datasets=("mnist",),
            params={"bias": 0.95, "n_train": None, "n_val": 5000, "n_test": None},
            profiles={"quick": {"n_train": 6000, "n_val": 1000, "n_test": 2000}},
            section="sections/t0.md.j2",
            validate=validate_canvas,
        ),
        Task(
            name="t1",
            title="T1: the cheater",
            notebook="analyses/t1_cheater.py",
            depends=("t0",),
            params={
                "model": "cheater_cnn",
                "width": 8,
                "epochs": 7,
                "batch_size": 128,
                "lr": 3e-3,
                "schedule": "cosine",
                "min_easy_val_acc": 0.95,
                "max_hard_test_acc": 0.30,
                "min_colour_following": 0.5,
            },
            # 6000 images are too few to learn any shape: quick T1 is a smoke test of the path.
            profiles={"quick": {"epochs": 8, "batch_size": 64}},
            section="sections/t1.md.j2",
            validate=validate_classifier,
        ),
        Task(
            name="t4",
            title="T4: the intervention",
            notebook="analyses/t4_intervention.py",
            depends=("t0",),
            datasets=("mnist",),  # the bias sweep rebuilds the canvas at other bias fractions
            params={
                "methods": "all",
                "hparams": {},
                "backbone_width": 24,
                "train_subset": None,
                "epochs": 4,
                "n_seeds": 3,
                "bias_sweep": [0.95, 0.98, 0.99, 0.995],
                "sweep_methods": "erm,gray_oracle,best",
                "sweep_seeds": 1,
                "min_best_hard_acc": 0.97,
                "min_best_easy_val_acc": 0.97,
                "max_erm_hard_acc": 0.30,
                "oracle_tolerance": 0.01,
            },
            # Quick: every method runs once, briefly (a smoke test of each, not a result);
            # logit consistency's warm-up would otherwise swallow the single epoch.
            profiles={
                "quick": {
                    "epochs": 1,
                    "n_seeds": 1,
                    "train_subset": 2000,
                    "bias_sweep": [0.95, 0.99],
                    "hparams": {"logit_consistency": {"warmup_epochs": 0}},
                }
            },
            section="sections/t4.md.j2",
            validate=validate_intervention,
        ),
    ]
)
