"""The method trainer: selection on validation only, per-epoch records, checkpoints, seeding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lazy_artist.methods import trainer
from lazy_artist.methods.algorithms import build_algorithm
from lazy_artist.methods.trainer import (
    evaluate,
    parse_selection,
    selection_score,
    train_algorithm,
)
from tests.methods.test_algorithms import TINY, tiny_canvas


@pytest.fixture(scope="module")
def canvas():
    return tiny_canvas(n_train=256)


def _train(canvas, name="erm", epochs=2, seed=0, **kwargs):
    algorithm = build_algorithm(name, {"batch_size": 64}, backbone_kwargs=TINY, seed=seed)
    return algorithm, train_algorithm(
        algorithm, canvas, epochs=epochs, seed=seed, progress=False, **kwargs
    )


@pytest.mark.parametrize("selection", ["hard_test", "val+hard_test", "HARD", "easy_test", "train"])
def test_selection_refuses_anything_but_validation(canvas, selection):
    with pytest.raises(ValueError, match="hard test set must never|not allowed"):
        parse_selection(selection)
    algorithm = build_algorithm("erm", backbone_kwargs=TINY)
    before = [p.clone() for p in algorithm.parameters()]
    with pytest.raises(ValueError):
        train_algorithm(algorithm, canvas, epochs=1, seed=0, selection=selection, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, algorithm.parameters(), strict=True))


def test_selection_score_never_reads_hard_accuracy():
    class Guarded(dict):
        def __getitem__(self, key):
            if "hard" in key:
                raise AssertionError(f"selection read {key}")
            return super().__getitem__(key)

    row = Guarded(acc_val=0.9, acc_conflict_val=0.5, acc_hard_test=0.99)
    assert selection_score(row, parse_selection("val+conflict_val")) == pytest.approx(0.7)
    assert selection_score(row, parse_selection("conflict_val")) == pytest.approx(0.5)


def test_selected_epoch_follows_validation_not_hard(canvas, monkeypatch):
    # Scripted accuracies: validation peaks at epoch 2, the hard test set at epoch 3.
    script = {
        "val": [0.5, 0.9, 0.8, 0.7],
        "conflict_val": [0.2, 0.6, 0.5, 0.4],
        "hard_test": [0.1, 0.2, 0.99, 0.3],
    }
    calls = {name: 0 for name in script}
    split_names = {id(canvas[name]): name for name in script}
    states = []

    def scripted(model, split, input_kind=None, device="cpu", batch_size=1024):
        name = split_names[id(split)]
        calls[name] += 1
        if name == "val":  # one snapshot per epoch, to check which weights are kept
            states.append({k: v.clone() for k, v in model.network.state_dict().items()})
        return script[name][calls[name] - 1]

    monkeypatch.setattr(trainer, "evaluate", scripted)
    algorithm, result = _train(canvas, epochs=4)
    assert result.selected_epoch == 2
    assert result.selected == {"val": 0.9, "conflict_val": 0.6, "hard_test": 0.2}
    assert result.selected_score == pytest.approx(0.75)
    assert [row["acc_hard_test"] for row in result.history] == script["hard_test"]  # recorded
    for key, value in algorithm.network.state_dict().items():
        assert torch.equal(value, states[1][key])  # epoch 2's weights, not the last epoch's
    assert "'val' and 'conflict_val'" in result.selection_rule
    assert "never used for selection" in result.selection_rule


def test_result_records_every_epoch(canvas):
    algorithm, result = _train(canvas, name="cf_invar", epochs=2)
    assert len(result.history) == 2
    for row in result.history:
        assert {"acc_val", "acc_conflict_val", "acc_hard_test", "seconds", "losses"} <= set(row)
        assert {"loss", "ce", "ce_cf", "sym_kl"} <= set(row["losses"])
        assert all(np.isfinite(v) for v in row["losses"].values())
    n_train = len(canvas["train"])
    assert result.steps == 2 * int(np.ceil(n_train / 64))
    assert result.images_seen == 2 * n_train
    assert result.seconds >= result.train_seconds > 0
    assert result.method == "cf_invar" and result.hparams["lambda_cf"] == 1.0
    assert result.as_dict()["selected_epoch"] == result.selected_epoch


def test_without_per_epoch_evaluation_the_last_epoch_is_kept(canvas):
    _, result = _train(canvas, epochs=2, eval_every_epoch=False)
    assert "acc_val" not in result.history[0] and "acc_val" in result.history[1]
    assert result.selected_epoch == 2 and "last epoch" in result.selection_rule


def test_same_seed_same_run(canvas):
    first = _train(canvas, name="colour_aug", epochs=1, seed=3)[1]
    again = _train(canvas, name="colour_aug", epochs=1, seed=3)[1]
    other = _train(canvas, name="colour_aug", epochs=1, seed=4)[1]
    strip = lambda r: [{k: v for k, v in row.items() if "seconds" not in k} for row in r.history]  # noqa: E731
    assert strip(first) == strip(again)
    assert strip(first) != strip(other)


def test_training_learns_the_tiny_task(canvas):
    # ERM picks up the colour cue of the tiny canvas (90% of digits in their own colour).
    algorithm = build_algorithm("erm", {"lr": 1e-2, "batch_size": 32}, backbone_kwargs={"width": 8})
    result = train_algorithm(algorithm, canvas, epochs=5, seed=0, progress=False)
    losses = [row["losses"]["loss"] for row in result.history]
    assert losses[-1] < 0.85 * losses[0]
    assert max(row["acc_val"] for row in result.history) > 0.3  # chance is 0.1


def test_evaluate_uses_the_input_kind(canvas):
    oracle = build_algorithm("gray_oracle", backbone_kwargs=TINY)
    split = canvas["val"]
    acc = evaluate(oracle, split)  # gray input taken from the algorithm
    assert acc == evaluate(oracle.network, split, input_kind="gray")
    preds = oracle.network(torch.from_numpy(split.gray)).argmax(1).numpy()
    assert acc == pytest.approx(np.mean(preds == split.labels))
    with pytest.raises(RuntimeError):  # a gray network cannot read colour images
        evaluate(oracle.network, split, input_kind="colour")
    with pytest.raises(ValueError, match="input_kind"):
        evaluate(oracle, split, input_kind="rgb")


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_both_precisions_train_and_leave_an_ordinary_network(canvas, precision):
    algorithm, result = _train(canvas, epochs=1, precision=precision)
    assert result.extra["precision"] == precision
    assert all(np.isfinite(v) for v in result.history[0]["losses"].values())
    # The loop held the weights channels-last; hooks, checkpoints and later tasks get them back
    # in the default layout, with the selected epoch's values.
    assert all(p.is_contiguous() for p in algorithm.network.parameters())


def test_an_unknown_precision_is_refused_before_training(canvas):
    algorithm = build_algorithm("erm", backbone_kwargs=TINY)
    before = [p.clone() for p in algorithm.parameters()]
    with pytest.raises(ValueError, match="precision must be one of"):
        train_algorithm(algorithm, canvas, epochs=1, seed=0, precision="fp16", progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, algorithm.parameters(), strict=True))
