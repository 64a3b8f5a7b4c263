import re

import pytest

from lazy_artist.builder.params import (
    BuildInputError,
    check_params,
    check_profile,
    parse_overrides,
    resolve_params,
)
from lazy_artist.builder.tasks import PROFILES
from lazy_artist.study import STUDY_TASKS


def test_profile_then_override_order():
    t7 = STUDY_TASKS["t7"]
    assert resolve_params(t7, "full")["epochs"] == t7.params["epochs"]
    assert resolve_params(t7, "quick")["epochs"] == t7.profiles["quick"]["epochs"]
    overrides = parse_overrides(STUDY_TASKS, ["t7.epochs=7", "t7.lr=0.01", "t0.n_train=100"])
    assert resolve_params(t7, "quick", overrides)["epochs"] == 7
    assert resolve_params(t7, "quick", overrides)["lr"] == 0.01
    assert resolve_params(STUDY_TASKS["t0"], "full", overrides)["n_train"] == 100


def test_ints_are_accepted_where_floats_are_expected():
    assert parse_overrides(STUDY_TASKS, ["t7.lr=1"]) == {"t7": {"lr": 1.0}}


def test_a_text_parameter_takes_a_bare_word_as_written():
    # The README's own example: `true` is the word "true" for a text parameter, not a bool.
    assert parse_overrides(STUDY_TASKS, ["t3.ratio_target=true"]) == {
        "t3": {"ratio_target": "true"}
    }


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("t7.epochs", "write it as TASK.NAME=VALUE"),
        ("epochs=3", "write it as TASK.NAME=VALUE"),
        ("t9.epochs=3", "unknown task 't9'"),
        ("t7.epoch=3", "has no parameter 'epoch'"),
        ("t7.epochs=three", "expected int"),
        ("t7.epochs=2.5", "expected int"),
        ("t7.epochs=true", "expected int"),
        ("t7.lr=fast", "expected float"),
        ("t7.lr=NaN", "t7.lr must be a finite number"),
        ("t7.lr=Infinity", "t7.lr must be a finite number"),
        ("t7.lr=-Infinity", "t7.lr must be a finite number"),
        ("t5.epsilons=[0.1, NaN]", r"t5.epsilons\[1\] must be a finite number"),
    ],
)
def test_bad_overrides_are_rejected_with_the_reason(assignment, message):
    with pytest.raises(BuildInputError, match=message):
        parse_overrides(STUDY_TASKS, [assignment])


def check(assignments, profile="quick"):
    """Parse, resolve and validate every task, as a build does before any work."""
    overrides = parse_overrides(STUDY_TASKS, assignments)
    params = {task.name: resolve_params(task, profile, overrides) for task in STUDY_TASKS}
    check_params(STUDY_TASKS, STUDY_TASKS.names(), params)


@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_profile_s_defaults_validate(profile):
    check([], profile)


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        # true/false are not integers (bool is an int in Python): t0.n_train=true once built
        # and cached a one-image canvas.
        (
            "t0.n_train=true",
            "task t0: n_train must be null (every training image not held out) or an integer >= 1",
        ),
        ("t0.n_test=false", "task t0: n_test must be null (every test image) or an integer >= 1"),
        (
            "t6.n_hard_images=true",
            "task t6: n_hard_images must be null (the whole hard test set) or an integer",
        ),
        (
            "t3.gradcam_digits=[true, 3]",
            "gradcam_digits must be a non-empty list of integers in [0, 9]",
        ),
        ("t3.attack_source=true", "expected int"),  # typed int: caught when parsed
        ("t0.bias=true", "expected float"),
        # sizes above the data
        ("t0.n_train=59500", "n_train must be <= 59000 (60000 training images minus n_val=1000)"),
        (
            "t0.n_test=10001",
            "n_test must be null (every test image) or an integer >= 1 and <= 10000",
        ),
        ("t0.n_val=60000", "n_val must be an integer >= 1 and <= 59999"),
        (
            "t7.n_train=60000",
            "n_train must be null (every training image not held out) or an integer >= 1 and <= 59999",
        ),
        (
            "t4.train_subset=60001",
            "train_subset must be null (all of T0's training images) or an integer >= 1 and <= 60000",
        ),
        ("t4.probe_images=20000", "probe_images must be an integer >= 1 and <= 10000"),
        (
            "t6.n_train_images=70000",
            "n_train_images must be null (every training image) or an integer >= 2 and <= 60000",
        ),
        (
            "t2.n_images=10001",
            "n_images must be null (the whole split) or an integer >= 20 and <= 10000",
        ),
        ("t5.n_samples=10001", "n_samples must be an integer >= 1 and <= 10000"),
        # negative seeds, on every task
        ("t0.seed=-1", "task t0: seed must be an integer >= 0"),
        ("t6.seed=-3", "task t6: seed must be an integer >= 0"),
        ("t7.seed=true", "expected int"),
        # unknown choices
        (
            "t5.schedule=zigzag",
            'schedule must be one of "constant", "cosine", "halving", got "zigzag"',
        ),
        ("t3.ratio_target=maybe", 'ratio_target must be one of "predicted", "true"'),
        # thresholds outside [0, 1]
        ("t0.bias=1.5", "bias must be a fraction in [0, 1]"),
        ("t2.min_prototype_win_share=-0.1", "min_prototype_win_share must be a fraction"),
        ("t6.min_fve=2", "min_fve must be a fraction in [0, 1]"),
        ("t7.fc_scramble_tolerance=1.01", "fc_scramble_tolerance must be a fraction"),
        ("t5.strength_tolerance=-1", "strength_tolerance must be a fraction"),
        ("t4.min_best_hard_acc=1.2", "min_best_hard_acc must be a fraction in [0, 1]"),
        # learning rates
        ("t6.lr=0", "lr must be a number > 0,"),
        ("t7.lr=-0.1", "lr must be a number > 0,"),
        ("t2.actmax_lr=0", "actmax_lr must be a number > 0,"),
    ],
)
def test_bad_values_are_rejected_naming_the_parameter_and_the_range(assignment, message):
    with pytest.raises(BuildInputError, match=re.escape(message)):
        check([assignment])


@pytest.mark.parametrize(
    "assignment",
    ["t3.ratio_target=true", "t3.ratio_target=predicted", "t0.n_train=59000", "t0.seed=0"],
)
def test_good_values_pass(assignment):
    check([assignment])


def test_unknown_profile_names_the_known_ones():
    with pytest.raises(BuildInputError, match="unknown profile 'huge': choose one of quick, full"):
        check_profile("huge")


def test_a_mapping_override_merges_with_the_profile_instead_of_replacing_it():
    from lazy_artist.study import STUDY_TASKS

    t4 = STUDY_TASKS["t4"]
    profile = resolve_params(t4, "quick")["hparams"]
    assert profile, "the quick profile overrides some method's hparams"
    resolved = resolve_params(t4, "quick", {"t4": {"hparams": {"cf_invar": {"lambda_cf": 2.0}}}})
    assert resolved["hparams"] == {**profile, "cf_invar": {"lambda_cf": 2.0}}
    nested = resolve_params(t4, "quick", {"t4": {"recipes": {"lenet_cnn": {"epochs": 6}}}})[
        "recipes"
    ]
    assert nested["lenet_cnn"]["epochs"] == 6
    assert resolve_params(t4, "quick", {"t4": {"seed": 3}})["seed"] == 3  # scalars replace
