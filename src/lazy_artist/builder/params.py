"""Resolve and validate task parameters before any work starts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from lazy_artist.builder.param_checks import non_finite_path, validate_common
from lazy_artist.builder.param_ranges import check_ranges
from lazy_artist.builder.tasks import PROFILES, Task, TaskGraph


class BuildInputError(ValueError):
    """Bad input from the user (unknown task, profile or parameter): reported before any work."""


def check_profile(profile: str) -> None:
    """The one check of a profile name, made where it enters: the command line (``cli.main``)
    and the public entry points ``build`` and ``explain.plan`` (through ``resolve_selection``).
    Everything below them takes the name as checked."""
    if profile not in PROFILES:
        raise BuildInputError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)}")


def _natural(name: str) -> list[Any]:
    """t2 before t10: task names in the study's numbering, not the build order."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def check_task_names(graph: TaskGraph, names: Iterable[str]) -> None:
    for name in names:
        if name not in graph.tasks:
            raise BuildInputError(
                f"unknown task {name!r}: known tasks are {', '.join(sorted(graph.names(), key=_natural))}"
            )


def parse_overrides(graph: TaskGraph, assignments: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Parse ``task.name=value`` strings into ``{task: {name: value}}``, checking names and types."""
    overrides: dict[str, dict[str, Any]] = {}
    for assignment in assignments:
        target, sep, raw_value = assignment.partition("=")
        task_name, dot, param = target.partition(".")
        if not sep or not dot or not param:
            raise BuildInputError(
                f"bad parameter {assignment!r}: write it as TASK.NAME=VALUE, e.g. t1.epochs=5"
            )
        check_task_names(graph, [task_name])
        task = graph[task_name]
        defaults = task.defaults()
        if param not in defaults:
            raise BuildInputError(
                f"bad parameter {assignment!r}: task {task_name} has no parameter {param!r}; "
                f"its parameters are {', '.join(sorted(defaults))}"
            )
        overrides.setdefault(task_name, {})[param] = _coerce(
            assignment, raw_value, defaults[param], task
        )
    return overrides


def _coerce(assignment: str, raw_value: str, default: Any, task: Task) -> Any:
    try:
        value = json.loads(raw_value)
    except json.JSONDecodeError:
        value = raw_value  # a bare word is a string
    if isinstance(default, str) and not isinstance(value, str) and value is not None:
        # A text parameter takes the word as written: t3.ratio_target=true means "true".
        return raw_value
    found = non_finite_path(value, assignment.partition("=")[0])
    if found:
        raise BuildInputError(
            f"bad parameter {assignment!r}: {found} must be a finite number, got {raw_value!r}"
        )
    if default is None or value is None:
        return value
    expected = type(default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    bool_mismatch = isinstance(value, bool) != (expected is bool)
    if bool_mismatch or not isinstance(value, expected):
        raise BuildInputError(
            f"bad parameter {assignment!r}: expected {expected.__name__} (like {json.dumps(default)}), "
            f"got {raw_value!r}"
        )
    return value


def resolve_params(
    task: Task, profile: str, overrides: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The task's parameters for a profile, with command-line overrides applied last.

    A mapping-valued parameter (``t4.hparams``, ``t4.recipes``) is merged key by key, so
    ``--set 't4.hparams={"cf_invar": {...}}'`` adds to the profile's other entries instead of
    silently dropping them. ``profile`` is a checked name (:func:`check_profile`)."""
    resolved = task.defaults()
    for layer in (task.profiles.get(profile, {}), (overrides or {}).get(task.name, {})):
        for name, value in layer.items():
            resolved[name] = _merged(resolved.get(name), value)
    return resolved


def _merged(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **{key: _merged(base.get(key), value) for key, value in override.items()}}
    return override


def check_params(graph: TaskGraph, names: Iterable[str], params: dict[str, dict[str, Any]]) -> None:
    """Validate the resolved parameters of ``names``: no NaN or infinity, every parameter
    inside its range, then the task's own validator (what ties parameters together or names
    a registry); the first bad value is a :class:`BuildInputError` naming the task, the
    parameter and what is allowed."""
    for name in names:
        ranges = graph[name].all_ranges()
        checks = [validate_common, lambda values, ranges=ranges: check_ranges(ranges, values)]
        if graph[name].validate is not None:
            checks.append(graph[name].validate)
        for check in checks:
            try:
                check(params[name])
            except (ValueError, KeyError, TypeError) as error:
                raise BuildInputError(f"task {name}: {error}") from None
