"""What counts as an integer and as a number, and the check every task shares.

``true``/``false`` are never numbers here (``bool`` is a subclass of ``int`` in Python:
``n_train=true`` would build a one-image canvas) and NaN and infinities are never accepted,
anywhere in a parameter's value. The ranges (:mod:`lazy_artist.builder.param_ranges`) are built
on these.
"""

from __future__ import annotations

import math
from typing import Any


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


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
    """The check every task shares: no NaN or infinity anywhere, lists and dicts included."""
    for name, value in params.items():
        found = non_finite_path(value, name)
        if found:
            raise ValueError(f"{found} must be a finite number, got {value!r}")
