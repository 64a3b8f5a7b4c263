"""Ranges accept what their text says and refuse the rest (bools are never numbers, NaN never
passes); a task graph refuses ranges for undeclared parameters and values outside them."""

from __future__ import annotations

import math

import pytest

from lazy_artist.builder.param_ranges import (
    check_ranges,
    choices,
    described,
    flag,
    fraction,
    integer,
    integers,
    level,
    number,
    numbers,
    one_of,
)
from lazy_artist.builder.params import BuildInputError, check_params
from lazy_artist.builder.tasks import Task, TaskGraph

CASES = [
    (integer(1), [1, 10**9], [0, 1.0, True, None, "1"], "an integer >= 1"),
    (integer(0, 9), [0, 9], [-1, 10], "an integer >= 0 and <= 9"),
    (integer(1, none="all of it"), [None, 3], [0, False], "null (all of it) or an integer >= 1"),
    (number(0.0, open_lo=True), [1e-9, 3], [0.0, -1, math.nan, math.inf, True], "a number > 0"),
    (number(0.0, 1.0), [0, 1.0], [1.01, -0.01], "a number in [0, 1]"),
    (fraction(open_hi=True), [0.0, 0.999], [1.0, "0.5"], "a fraction in [0, 1)"),
    (level(), [0.05], [0.0, 1.0], "a level in (0, 1)"),
    (flag(), [True, False], [0, 1, "true"], "true or false"),
    (one_of("a", "b"), ["a", "b"], ["c", None], 'one of "a", "b"'),
    (
        numbers(0.0, 1.0, open_lo=True, increasing=True),
        [[0.1], [0.1, 0.2]],
        [[], [0.0], [0.2, 0.1], [0.1, 0.1], 0.1, [True]],
        "a non-empty list of numbers (strictly increasing) in (0, 1]",
    ),
    (numbers(0.0, 1.0, length=2), [[0.1, 0.05]], [[0.1], [0.1, 0.2, 0.3]], "a list of 2 numbers"),
    (integers(0, 9), [[3], [0, 9, 9]], [[], [10], [True], [1.0]], "a non-empty list of integers"),
    (choices("ce", "margin"), [["ce"], ["margin", "ce"]], [["ce", "ce"], ["hinge"], "ce", []], ""),
]


@pytest.mark.parametrize(
    ("spec", "good", "bad", "text"), CASES, ids=lambda c: getattr(c, "text", "")
)
def test_each_range_accepts_what_it_says_and_refuses_the_rest(spec, good, bad, text):
    assert spec.text.startswith(text)
    for value in good:
        spec.check("x", value)
    for value in bad:
        with pytest.raises(ValueError, match=r"^x must be "):
            spec.check("x", value)


def test_a_described_range_leaves_the_check_to_the_validator():
    spec = described("one of epsilons")
    assert not spec.checked_here
    spec.check("report_epsilon", "anything")
    assert integer(1).checked_here


def _task(**changes):
    fields = {
        "name": "t",
        "title": "T",
        "notebook": "t.py",
        "params": {"steps": 40, "share": 0.5},
        "ranges": {"steps": integer(1), "share": fraction()},
        **changes,
    }
    return Task(**fields)


def test_the_graph_refuses_ranges_for_undeclared_parameters_and_values_outside_them():
    TaskGraph([_task()])
    with pytest.raises(ValueError, match=r"ranges for unknown parameters \['stpes'\]"):
        TaskGraph([_task(ranges={"stpes": integer(1)})])
    with pytest.raises(ValueError, match=r"task 't' \(defaults\): steps must be an integer >= 1"):
        TaskGraph([_task(params={"steps": 0, "share": 0.5})])
    with pytest.raises(ValueError, match=r"task 't' \(quick\): share must be a fraction"):
        TaskGraph([_task(profiles={"quick": {"share": 2.0}})])


def test_check_params_applies_the_ranges_before_the_validator():
    seen = []
    graph = TaskGraph([_task(validate=lambda params: seen.append(params["steps"]))])
    check_params(graph, ["t"], {"t": {**graph["t"].defaults(), "steps": 3}})
    assert seen == [3]
    with pytest.raises(BuildInputError, match="task t: steps must be an integer >= 1, got 0"):
        check_params(graph, ["t"], {"t": {**graph["t"].defaults(), "steps": 0}})
    assert seen == [3]  # the validator never saw the bad value
    with pytest.raises(BuildInputError, match="task t: seed must be an integer >= 0, got -1"):
        check_params(graph, ["t"], {"t": {**graph["t"].defaults(), "seed": -1}})
    check_ranges(graph["t"].all_ranges(), {"device": "cuda:1", "seed": 4})
