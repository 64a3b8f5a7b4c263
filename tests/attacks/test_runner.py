"""The batteries of several models at once: the numbers of a serial run, in job order."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lazy_artist.attacks.battery import run_battery
from lazy_artist.attacks.runner import BatteryJob, run_batteries
from lazy_artist.parallel import pinned_threads

from .conftest import SOURCE
from .test_battery import _plan


def _jobs(model, images) -> list[BatteryJob]:
    labels = torch.full((len(images),), SOURCE)
    return [
        BatteryJob(name, model, images * scale, labels, images * scale, labels, seed=seed)
        for name, scale, seed in (("a", 1.0, 0), ("b", 0.5, 100), ("c", 0.8, 200))
    ]


def test_batteries_in_workers_give_the_serial_numbers_in_job_order(linear_model, linear_images):
    plan = _plan(bisection_steps=3)
    jobs = _jobs(linear_model, linear_images)
    serial = run_batteries(jobs, plan, jobs=1, log=lambda _: None)
    parallel = run_batteries(jobs, plan, jobs=2, log=lambda _: None)
    assert list(serial) == list(parallel) == ["a", "b", "c"]
    for name in serial:
        assert np.array_equal(serial[name].min_epsilon, parallel[name].min_epsilon)
        assert serial[name].converged == parallel[name].converged
    # Each job is exactly run_battery on its own inputs and seed.
    first = jobs[1]
    with pinned_threads():
        direct = run_battery(
            first.network,
            first.targeted_images,
            first.targeted_labels,
            first.untargeted_images,
            first.untargeted_labels,
            plan,
            seed=first.seed,
        )
    assert np.array_equal(direct.min_epsilon, serial["b"].min_epsilon)
    assert not np.array_equal(serial["a"].min_epsilon, serial["b"].min_epsilon)


def test_a_repeated_model_name_is_refused(linear_model, linear_images):
    jobs = _jobs(linear_model, linear_images)
    with pytest.raises(ValueError, match="repeat a model name"):
        run_batteries([jobs[0], jobs[0]], _plan(), log=lambda _: None)
