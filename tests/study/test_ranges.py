"""Every study parameter has a range (printed by ``tasks``, checked before any work), and most
are checked by the range itself rather than left to a validator."""

from __future__ import annotations

import pytest

from lazy_artist.builder.tasks import COMMON_PARAMS
from lazy_artist.study import STUDY_TASKS


@pytest.mark.parametrize("task", list(STUDY_TASKS), ids=lambda task: task.name)
def test_every_study_parameter_has_a_range(task):
    missing = sorted((set(task.params) | set(COMMON_PARAMS)) - set(task.all_ranges()))
    assert not missing, f"{task.name}: no range for {missing}"


def test_most_ranges_are_checked_by_the_range_itself():
    ranges = [spec for task in STUDY_TASKS for spec in task.all_ranges().values()]
    described = [spec for spec in ranges if not spec.checked_here]
    # Registry names and values tied to other parameters; the rest the range checks.
    assert len(described) < 0.25 * len(ranges), [spec.text for spec in described]
