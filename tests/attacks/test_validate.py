"""T5's parameters are checked before any work: the matched comparison's backbones, seeds,
extra rows, battery scope and level, each with a clear message."""

from __future__ import annotations

import pytest

from lazy_artist.builder.params import check_params
from lazy_artist.study import STUDY_TASKS


def _params(**changes):
    return {**STUDY_TASKS["t5"].defaults(), **changes}


def validate_attacks(params):
    """T5's parameters as a build checks them: ranges, then the task's validator."""
    check_params(STUDY_TASKS, ["t5"], {"t5": params})


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_the_declared_parameters_pass(profile):
    task = STUDY_TASKS["t5"]
    validate_attacks({**task.defaults(), **task.profiles.get(profile, {})})


def test_the_comparison_parameters_accept_what_they_document():
    validate_attacks(_params(backbones="cheater_cnn", n_seeds=2, extra_models=""))
    validate_attacks(_params(backbones="lenet_cnn,cheater_cnn", strength_models="all", alpha=0.01))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"backbones": "resnet"}, "unknown or missing backbone.*choose from"),
        ({"backbones": ""}, "name at least one backbone"),
        (
            {"n_seeds": 0},
            r"n_seeds must be null \(every seed T4 trained\) or an integer >= 1, got 0",
        ),
        ({"n_seeds": True}, "n_seeds must be null .* or an integer >= 1, got true"),
        ({"extra_models": "gray_oracle@lenet_cnn,wizard"}, "unknown model 'wizard'"),
        ({"extra_models": ["gray_oracle"]}, "extra_models must be comma-separated"),
        (
            {"strength_models": "some"},
            'strength_models must be one of "showcase", "all", got "some"',
        ),
        ({"alpha": 1.0}, "alpha must be a level in"),
        ({"n_boot": 10}, "n_boot must be an integer >= 100"),
        ({"targeted_losses": ["ce", "ce"]}, "targeted_losses must be a non-empty list"),
        ({"targeted_losses": ["hinge"]}, "targeted_losses must be a non-empty list"),
        ({"targeted_losses": "ce"}, "targeted_losses must be a non-empty list"),
        ({"restart_factor": 5}, "restart_factor must be an integer >= 10"),
        ({"max_doublings": -1}, "max_doublings must be an integer >= 0"),
        ({"square_p_init": 0.0}, r"square_p_init must be a fraction in \(0, 1\]"),
        ({"restart_tolerance": 2.0}, "restart_tolerance must be a fraction"),
        ({"zero_gradient_norm": -1.0}, "zero_gradient_norm must be a number >= 0"),
    ],
)
def test_bad_values_are_rejected_naming_the_parameter(changes, message):
    with pytest.raises(ValueError, match=message):
        validate_attacks(_params(**changes))
