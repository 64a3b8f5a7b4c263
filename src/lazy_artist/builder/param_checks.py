"""Parameter checks a task's validator is built from, and the checks every task shares.

A bad value fails the command, not a notebook. Every check names the parameter and the allowed
range. ``true``/``false`` are never numbers
here (``bool`` is a subclass of ``int`` in Python: ``n_train=true`` would build a one-image
canvas) and NaN and infinities are never accepted. The study's own validators
(:mod:`lazy_artist.study.validators`) are built from these.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def at_least(
    params: dict[str, Any], name: str, minimum: int, maximum: int | None = None, why: str = ""
) -> None:
    value = params[name]
    if not is_int(value) or value < minimum or (maximum is not None and value > maximum):
        allowed = f">= {minimum}" + ("" if maximum is None else f" and <= {maximum}")
        raise ValueError(f"{name} must be an integer {allowed}{why}, got {value!r}")


def optional_size(params: dict[str, Any], name: str, minimum: int, maximum: int, why: str) -> None:
    """``None`` (all of it) or an integer count bounded by the data it counts."""
    if params[name] is not None:
        at_least(params, name, minimum, maximum, why)


def fraction(name: str, value: Any) -> None:
    if not is_number(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a fraction in [0, 1], got {value!r}")


def fractions(params: dict[str, Any], names: Iterable[str]) -> None:
    # Only the names the task declares: thresholds come and go with the study's checks.
    for name in names:
        if name in params:
            fraction(name, params[name])


def choice(name: str, value: Any, choices: Iterable[str]) -> None:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name}: unknown value {value!r}: choose from {', '.join(choices)}")


def non_finite_path(value: Any, path: str) -> str | None:
    """The path of the first NaN or infinity inside ``value`` (lists and dicts included)."""
    if isinstance(value, float) and not math.isfinite(value):
        return path
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = non_finite_path(item, f"{path}[{index}]")
            if found:
                return found
    if isinstance(value, dict):
        for key, item in value.items():
            found = non_finite_path(item, f"{path}.{key}")
            if found:
                return found
    return None


def validate_common(params: dict[str, Any]) -> None:
    """Checks every task shares: the seed, and no NaN or infinity anywhere."""
    if "seed" in params:
        at_least(params, "seed", 0)
    for name, value in params.items():
        found = non_finite_path(value, name)
        if found:
            raise ValueError(f"{found} must be a finite number, got {value!r}")
