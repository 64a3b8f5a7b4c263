"""The one training loop: batch order from the generator alone, epoch means from the steps'
(sum, count) contributions, and per rule the best evaluated epoch (earliest on ties) with a
copy of the weights then."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lazy_artist.loop import epoch_batches, refuse_hard_test, run_epochs, selection_rule_text


def _run(scores_by_epoch, evaluated=lambda epoch: True, epochs=4):
    network = nn.Linear(2, 1, bias=False)
    seen: list[list[int]] = []

    def step(idx, epoch):
        seen.append(idx.tolist())
        with torch.no_grad():
            network.weight.fill_(float(epoch))  # the weights say which epoch they are from
        return {"loss": (float(len(idx)) * epoch, len(idx)), "batches": (1.0, 1)}

    def evaluate(epoch, row):
        if not evaluated(epoch):
            return False
        row["acc_val"] = scores_by_epoch[epoch - 1]
        return True

    result = run_epochs(
        network,
        n=10,
        batch_size=4,
        epochs=epochs,
        generator=torch.Generator().manual_seed(7),
        step=step,
        evaluate=evaluate,
        rules={"val": lambda row: row["acc_val"], "negated": lambda row: -row["acc_val"]},
        train_mode=network.train,
        progress=False,
    )
    return result, seen


def test_each_rule_keeps_its_best_evaluated_epoch_earliest_on_ties_with_its_weights():
    result, _ = _run([0.5, 0.9, 0.9, 0.2])
    assert result.kept["val"].epoch == 2  # tie with epoch 3: the earlier one
    assert result.kept["negated"].epoch == 4
    assert float(result.kept["val"].state["weight"][0, 0]) == 2.0  # a copy, not a live view
    assert float(result.kept["negated"].state["weight"][0, 0]) == 4.0


def test_only_evaluated_epochs_compete():
    result, _ = _run([0.9, 0.1, 0.5, 0.3], evaluated=lambda epoch: epoch >= 3)
    assert result.kept["val"].epoch == 3 and result.kept["negated"].epoch == 4
    assert "acc_val" not in result.history[0] and result.history[2]["acc_val"] == 0.5


def test_epoch_means_weight_the_steps_contributions_and_batches_follow_the_generator():
    result, seen = _run([0.1] * 2, epochs=2)
    assert [row["losses"] for row in result.history] == [
        {"loss": 1.0, "batches": 1.0},
        {"loss": 2.0, "batches": 1.0},
    ]
    generator = torch.Generator().manual_seed(7)
    expected = [b.tolist() for _ in range(2) for b in epoch_batches(10, 4, generator)]
    assert seen == expected and [len(b) for b in seen[:3]] == [4, 4, 2]
    assert result.train_seconds >= 0 and all("seconds" in row for row in result.history)


@pytest.mark.parametrize("splits", [["hard_test"], ["val", "Hard_Test"]])
def test_a_rule_naming_the_hard_test_is_refused_with_what_was_asked(splits):
    with pytest.raises(ValueError, match=r"select_on='x'.*hard test set must never"):
        refuse_hard_test(splits, "select_on='x'")


def test_validation_splits_pass_the_hard_test_guard():
    refuse_hard_test(["val", "conflict_val"], "selection")  # no error


def test_one_sentence_per_rule_for_both_trainers():
    assert selection_rule_text(["val"]) == (
        "epoch with the highest accuracy on 'val' (earliest on ties); "
        "the hard test set is never used for selection"
    )
    assert selection_rule_text(("val", "conflict_val")).startswith(
        "epoch with the highest mean accuracy on 'val' and 'conflict_val'"
    )
    assert selection_rule_text(["val"], every_epoch=False).startswith("last epoch")
