"""Training loop: learning happens, selection never uses a hard split, checkpoints round-trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lazy_artist.data.canvas import PALETTE
from lazy_artist.inference import predict
from lazy_artist.methods.algorithms import build_algorithm
from lazy_artist.models.checkpoints import checkpoint_extra, load_checkpoint, save_checkpoint
from lazy_artist.runtime import seed_everything
from lazy_artist.training import train_classifier


def _toy(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Class k is a square painted palette colour k: learnable by the cheater in a few steps."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n)
    images = rng.uniform(0.3, 0.6, size=(n, 3, 28, 28)).astype(np.float32)
    images[:, :, 8:20, 8:20] = PALETTE[labels][:, :, None, None]
    return images, labels


def _erm(batch_size: int = 32, schedule: str = "constant", width: int = 8, seed: int = 0):
    hparams = {"lr": 1e-2, "batch_size": batch_size, "weight_decay": 0.0, "schedule": schedule}
    return build_algorithm("erm", hparams, backbone_kwargs={"width": width}, seed=seed)


def _train(epochs: int = 5, seed: int = 0, schedule: str = "constant", **kwargs):
    seed_everything(seed)
    train, val = _toy(512, 1), _toy(256, 2)
    return train_classifier(
        _erm(schedule=schedule, seed=seed),
        train,
        {"val": val},
        epochs=epochs,
        seed=seed,
        progress=False,
        **kwargs,
    )


def test_training_reduces_the_loss_and_learns():
    result = _train()
    losses = [row["train_loss"] for row in result.history]  # ERM's update reports "loss"
    assert losses[-1] < 0.5 * losses[0]
    assert max(row["acc_val"] for row in result.history) > 0.9
    assert len(result.history) == 5
    assert result.selected_score == max(row["acc_val"] for row in result.history)
    assert result.history[result.selected_epoch - 1]["acc_val"] == result.selected_score
    assert "val" in result.selection_rule and "hard" in result.selection_rule


def test_same_seed_same_history():
    first, second = _train(epochs=2), _train(epochs=2)
    assert first.history == second.history


def test_cosine_schedule_runs_and_differs_from_constant():
    cosine, constant = _train(epochs=2, schedule="cosine"), _train(epochs=2)
    assert len(cosine.history) == 2 and cosine.history != constant.history
    with pytest.raises(ValueError, match="schedule"):
        _erm(schedule="warp")


def test_gray_input_algorithms_read_the_gray_field():
    # T7's classifiers: the gray-input ERM trains on 1-channel arrays (batch.gray).
    images, labels = _toy(128, 4)
    gray = images.mean(axis=1, keepdims=True)
    hparams = {"lr": 1e-2, "batch_size": 32, "weight_decay": 0.0, "schedule": "constant"}
    algorithm = build_algorithm("gray_oracle", hparams, backbone_kwargs={"width": 4})
    result = train_classifier(
        algorithm, (gray, labels), {"val": (gray, labels)}, 1, 0, progress=False
    )
    assert result.model is algorithm.network and result.history[0]["train_loss"] > 0


@pytest.mark.parametrize("select_on", ["hard_test", "HARD", "val_hard"])
def test_selection_on_a_hard_split_is_refused(select_on):
    data = _toy(8, 0)
    with pytest.raises(ValueError, match="hard"):
        train_classifier(_erm(4, width=2), data, {select_on: data}, 1, 0, select_on=select_on)


def test_selection_on_a_missing_set_is_refused():
    data = _toy(8, 0)
    with pytest.raises(ValueError, match="not one of the eval sets"):
        train_classifier(_erm(4, width=2), data, {"val": data}, 1, 0, select_on="vali")


def test_predict_and_checkpoint_roundtrip(tmp_path):
    result = _train(epochs=1)
    images, _ = _toy(64, 3)
    preds, probs = predict(result.model, images, batch_size=16)
    assert preds.shape == (64,) and probs.shape == (64, 10)
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-5) and np.array_equal(preds, probs.argmax(1))
    path = save_checkpoint(
        tmp_path / "model.pt", "cheater_cnn", result.model, extra={"selected_epoch": 1}
    )
    restored = load_checkpoint(path)
    assert not restored.training
    again, again_probs = predict(restored, torch.as_tensor(images))
    assert np.array_equal(again, preds) and np.allclose(again_probs, probs)
    assert checkpoint_extra(path) == {"selected_epoch": 1}


def test_erm_through_train_classifier_is_a_plain_pytorch_loop():
    """Independent reference: Adam + cross-entropy over the same seeded randperm batches,
    written out by hand, reaches the same weights as ERM's update run by the shared loop (both
    channels-last, the layout the loop trains in, so the kernels match)."""
    import copy

    from lazy_artist.loop import epoch_batches

    train, val = _toy(128, 1), _toy(64, 2)
    algorithm = _erm(batch_size=32, seed=3)
    reference = copy.deepcopy(algorithm.network)
    result = train_classifier(algorithm, train, {"val": val}, epochs=2, seed=5, progress=False)
    reference = reference.to(memory_format=torch.channels_last)
    x = torch.as_tensor(train[0]).contiguous(memory_format=torch.channels_last)
    y = torch.as_tensor(train[1])
    optimiser = torch.optim.Adam(reference.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(5)
    kept = {}
    for epoch in (1, 2):
        for idx in epoch_batches(len(y), 32, generator):
            loss = torch.nn.functional.cross_entropy(reference(x[idx]), y[idx])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        kept[epoch] = copy.deepcopy(reference.state_dict())
    expected = kept[result.selected_epoch]
    for name, value in result.model.state_dict().items():
        assert torch.allclose(value, expected[name], atol=1e-5), name
