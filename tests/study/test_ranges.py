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


def test_configs_accept_every_edge_value_their_ranges_accept():
    """The notebooks build ActMaxConfig and PGDConfig once, from parameters only the ranges
    checked: a value at a range's edge must not fail inside the notebook."""
    from lazy_artist.attacks.pgd import PGDConfig, validate_pgd
    from lazy_artist.interpret.activation_max import ActMaxConfig

    edges = {
        "actmax_steps": 1,
        "actmax_lr": 1e-9,
        "actmax_l2": 0.0,
        "actmax_tv": 0.0,
        "actmax_jitter": 0,
        "actmax_blur_every": 0,
        "actmax_blur_sigma": 1e-9,
        "actmax_topk": 1,
    }
    t2 = STUDY_TASKS["t2"].all_ranges()
    for name, value in edges.items():
        t2[name].check(name, value)
    ActMaxConfig(**{name.removeprefix("actmax_"): value for name, value in edges.items()})
    t5 = STUDY_TASKS["t5"].all_ranges()
    for name, value in {"steps": 1, "restarts": 1, "target_confidence": 1e-6}.items():
        t5[name].check(name, value)
    for schedule in ("constant", "cosine", "halving"):
        t5["schedule"].check("schedule", schedule)
        config = PGDConfig(steps=1, restarts=7, schedule=schedule, target_confidence=0.999)
        validate_pgd(1.0, config, 9, num_classes=10)
