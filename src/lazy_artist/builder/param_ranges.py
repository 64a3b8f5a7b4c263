"""Each parameter's range: the values it takes, checked before any work starts and printed by
``python -m lazy_artist tasks``.

A task declares one :class:`Range` per parameter (:attr:`lazy_artist.builder.tasks.Task.ranges`);
the task graph refuses a declaration whose names differ from the parameters' or whose values
(defaults and every profile's) fall outside their ranges. A range that depends on other
parameters or on a registry (a method name, an epsilon on the grid) is :func:`described`: its
text says what the task's validator checks. ``true``/``false`` are never numbers here (``bool``
is a subclass of ``int``) and NaN and infinities never pass.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lazy_artist.builder.param_checks import is_int, is_number


@dataclass(frozen=True)
class Range:
    """``text`` completes "NAME must be ..."; ``test`` is None where the validator checks."""

    text: str
    test: Callable[[Any], bool] | None = None

    def check(self, name: str, value: Any) -> None:
        if self.test is not None and not self.test(value):
            raise ValueError(f"{name} must be {self.text}, got {json.dumps(value)}")

    @property
    def checked_here(self) -> bool:
        return self.test is not None


def _interval(lo: float | None, hi: float | None, open_lo: bool, open_hi: bool) -> str:
    if lo is not None and hi is not None:
        return f"in {'(' if open_lo else '['}{lo:g}, {hi:g}{')' if open_hi else ']'}"
    if lo is not None:
        return f"{'>' if open_lo else '>='} {lo:g}"
    if hi is not None:
        return f"{'<' if open_hi else '<='} {hi:g}"
    return ""


def _inside(value: float, lo: float | None, hi: float | None, open_lo: bool, open_hi: bool) -> bool:
    if lo is not None and (value < lo or (open_lo and value == lo)):
        return False
    return hi is None or not (value > hi or (open_hi and value == hi))


def _or_none(text: str, test: Callable[[Any], bool], none: str | None) -> Range:
    if none is None:
        return Range(text, test)
    return Range(f"null ({none}) or {text}", lambda value: value is None or test(value))


def integer(
    lo: int | None = None, hi: int | None = None, none: str | None = None, why: str = ""
) -> Range:
    """An integer in [lo, hi]; ``none`` names what null means where null is allowed."""
    bounds = " and ".join(
        part
        for part in (f">= {lo}" if lo is not None else "", f"<= {hi}" if hi is not None else "")
        if part
    )
    text = f"an integer {bounds}".rstrip() + (f" ({why})" if why else "")
    return _or_none(
        text, lambda value: is_int(value) and _inside(value, lo, hi, False, False), none
    )


def number(
    lo: float | None = None,
    hi: float | None = None,
    open_lo: bool = False,
    open_hi: bool = False,
    none: str | None = None,
) -> Range:
    """A finite number between the bounds (each closed unless ``open_*``)."""
    text = f"a number {_interval(lo, hi, open_lo, open_hi)}".rstrip()
    return _or_none(
        text,
        lambda value: is_number(value) and _inside(value, lo, hi, open_lo, open_hi),
        none,
    )


def fraction(open_lo: bool = False, open_hi: bool = False) -> Range:
    bounds = _interval(0.0, 1.0, open_lo, open_hi)
    return Range(
        f"a fraction {bounds}",
        lambda value: is_number(value) and _inside(value, 0.0, 1.0, open_lo, open_hi),
    )


def level() -> Range:
    """A test's significance level, strictly between 0 and 1."""
    return Range("a level in (0, 1)", lambda value: is_number(value) and 0.0 < value < 1.0)


def flag() -> Range:
    return Range("true or false", lambda value: isinstance(value, bool))


def one_of(*choices: str) -> Range:
    return Range(
        "one of " + ", ".join(json.dumps(choice) for choice in choices),
        lambda value: value in choices,
    )


def numbers(
    lo: float | None = None,
    hi: float | None = None,
    open_lo: bool = False,
    increasing: bool = False,
    length: int | None = None,
) -> Range:
    """A non-empty list of numbers between the bounds (``length`` of them where given;
    strictly increasing where asked)."""
    what = (f"a list of {length} numbers" if length else "a non-empty list of numbers") + (
        " (strictly increasing)" if increasing else ""
    )
    bounds = _interval(lo, hi, open_lo, False)
    text = f"{what} {bounds}".rstrip()

    def test(value: Any) -> bool:
        if not isinstance(value, list) or not value or (length and len(value) != length):
            return False
        if not all(is_number(item) and _inside(item, lo, hi, open_lo, False) for item in value):
            return False
        return not increasing or all(a < b for a, b in zip(value, value[1:], strict=False))

    return Range(text, test)


def integers(lo: int | None = None, hi: int | None = None) -> Range:
    """A non-empty list of integers in [lo, hi]."""
    text = f"a non-empty list of integers {_interval(lo, hi, False, False)}".rstrip()
    return Range(
        text,
        lambda value: (
            isinstance(value, list)
            and bool(value)
            and all(is_int(item) and _inside(item, lo, hi, False, False) for item in value)
        ),
    )


def choices(*allowed: str) -> Range:
    """A non-empty list of distinct names from ``allowed``."""
    return Range(
        "a non-empty list of distinct names from " + ", ".join(json.dumps(a) for a in allowed),
        lambda value: (
            isinstance(value, list)
            and bool(value)
            and all(item in allowed for item in value)
            and len(set(value)) == len(value)
        ),
    )


def described(text: str) -> Range:
    """A range the task's validator checks (registry names, values tied to other parameters)."""
    return Range(text)


def check_ranges(ranges: Mapping[str, Range], params: Mapping[str, Any]) -> None:
    """Every parameter with a range against it (the first bad one raises ``ValueError``)."""
    for name, value in params.items():
        if name in ranges:
            ranges[name].check(name, value)
