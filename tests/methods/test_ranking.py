from types import SimpleNamespace

import pytest

from lazy_artist.methods.algorithms import ALGORITHMS
from lazy_artist.methods.ranking import (
    best_method,
    epochs_to_reach,
    mean_std,
    resolve_method_names,
    sweep_method_names,
    unconverged_runs,
)


def row(conflict, easy, hard):
    return {
        "conflict_val_acc_mean": conflict,
        "easy_val_acc_mean": easy,
        "hard_test_acc_mean": hard,
    }


def test_the_winner_is_chosen_on_validation_not_on_the_hard_test_set():
    per_method = {
        "erm": row(0.10, 0.96, 0.10),
        "cf_invar": row(0.90, 0.97, 0.80),  # best on conflict validation
        "colour_aug": row(0.85, 0.97, 0.99),  # best on hard test: must not win
        "gray_oracle": row(0.99, 0.99, 0.99),  # the ceiling, never "the best method"
    }
    assert best_method(per_method) == "cf_invar"


def test_epochs_to_reach_averages_the_seeds_that_reach_it():
    history = [{"epoch": 1, "acc": 0.5}, {"epoch": 2, "acc": 0.75}, {"epoch": 3, "acc": 0.8}]
    late = [{"epoch": 1, "acc": 0.1}, {"epoch": 2, "acc": 0.2}, {"epoch": 3, "acc": 0.71}]
    assert epochs_to_reach([history, late], "acc", 0.7) == 2.5
    assert epochs_to_reach([late], "acc", 0.9) is None


def test_mean_std_uses_the_sample_deviation():
    assert mean_std([1.0]) == (1.0, 0.0)
    mean, std = mean_std([1.0, 3.0])
    assert mean == 2.0 and std == pytest.approx(2**0.5)


def test_method_names_resolve_or_fail_clearly():
    assert resolve_method_names("all") == list(ALGORITHMS)
    assert resolve_method_names("erm, cf_invar") == ["erm", "cf_invar"]
    with pytest.raises(ValueError, match="unknown method\\(s\\) 'magic'.*choose from"):
        resolve_method_names("erm,magic")
    assert sweep_method_names("erm,best,gray_oracle", "cf_invar", ["erm", "cf_invar"]) == [
        "erm",
        "cf_invar",
    ]


def test_unconverged_runs_are_the_ones_that_never_learned_easy_validation():
    def run(easy_val, first_loss):
        return SimpleNamespace(
            selected={"val": easy_val, "conflict_val": 0.1, "hard_test": 0.1},
            history=[{"epoch": 1, "losses": {"loss": first_loss}}],
        )

    runs = {("dann", 0): run(0.27, 330.8), ("dann", 1): run(0.97, 3.7), ("erm", 0): run(0.98, 0.3)}
    found = unconverged_runs(runs, min_easy_val=0.9)
    assert found == [
        {"method": "dann", "seed": 0, "easy_val_acc": 0.27, "first_epoch_losses": {"loss": 330.8}}
    ]
    assert unconverged_runs(runs, min_easy_val=0.2) == []
