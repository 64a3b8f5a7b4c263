import pytest

from lazy_artist.builder.params import (
    BuildInputError,
    check_profile,
    parse_overrides,
    resolve_params,
)
from lazy_artist.builder.tasks import STUDY_TASKS


def test_profile_then_override_order():
    t1 = STUDY_TASKS["t1"]
    assert resolve_params(t1, "full")["epochs"] == t1.params["epochs"]
    assert resolve_params(t1, "quick")["epochs"] == t1.profiles["quick"]["epochs"]
    overrides = parse_overrides(STUDY_TASKS, ["t1.epochs=7", "t1.lr=0.01", "t0.n_train=100"])
    assert resolve_params(t1, "quick", overrides)["epochs"] == 7
    assert resolve_params(t1, "quick", overrides)["lr"] == 0.01
    assert resolve_params(STUDY_TASKS["t0"], "full", overrides)["n_train"] == 100


def test_ints_are_accepted_where_floats_are_expected():
    assert parse_overrides(STUDY_TASKS, ["t1.lr=1"]) == {"t1": {"lr": 1.0}}


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("t1.epochs", "write it as TASK.NAME=VALUE"),
        ("epochs=3", "write it as TASK.NAME=VALUE"),
        ("t9.epochs=3", "unknown task 't9'"),
        ("t1.epoch=3", "has no parameter 'epoch'"),
        ("t1.epochs=three", "expected int"),
        ("t1.epochs=2.5", "expected int"),
        ("t1.epochs=true", "expected int"),
        ("t1.lr=fast", "expected float"),
    ],
)
def test_bad_overrides_are_rejected_with_the_reason(assignment, message):
    with pytest.raises(BuildInputError, match=message):
        parse_overrides(STUDY_TASKS, [assignment])


def test_unknown_profile_names_the_known_ones():
    with pytest.raises(BuildInputError, match="unknown profile 'huge': choose one of quick, full"):
        check_profile("huge")
