"""Training loop: learning happens, selection never uses a hard split, checkpoints round-trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lazy_artist.data.canvas import PALETTE
from lazy_artist.inference import predict
from lazy_artist.models import build_model
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


def _train(epochs: int = 5, seed: int = 0, **kwargs):
    seed_everything(seed)
    model = build_model("cheater_cnn", width=8)
    train, val = _toy(512, 1), _toy(256, 2)
    return train_classifier(
        model,
        train,
        {"val": val},
        epochs=epochs,
        batch_size=32,
        lr=1e-2,
        seed=seed,
        progress=False,
        **kwargs,
    )


def test_training_reduces_the_loss_and_learns():
    result = _train()
    losses = [row["train_loss"] for row in result.history]
    assert losses[-1] < 0.5 * losses[0]
    assert max(row["acc_val"] for row in result.history) > 0.9
    assert len(result.history) == 5
    assert result.selected_score == max(row["acc_val"] for row in result.history)
    assert result.history[result.selected_epoch - 1]["acc_val"] == result.selected_score
    assert "val" in result.selection_rule and "hard" in result.selection_rule


def test_same_seed_same_history():
    first, second = _train(epochs=2), _train(epochs=2)
    assert first.history == second.history


def test_cosine_schedule_runs():
    assert len(_train(epochs=1, schedule="cosine").history) == 1
    with pytest.raises(ValueError, match="schedule"):
        _train(epochs=1, schedule="warp")


@pytest.mark.parametrize("select_on", ["hard_test", "HARD", "val_hard"])
def test_selection_on_a_hard_split_is_refused(select_on):
    model = build_model("cheater_cnn", width=2)
    data = _toy(8, 0)
    with pytest.raises(ValueError, match="hard"):
        train_classifier(model, data, {select_on: data}, 1, 4, 1e-3, 0, select_on=select_on)


def test_selection_on_a_missing_set_is_refused():
    data = _toy(8, 0)
    with pytest.raises(ValueError, match="not one of the eval sets"):
        train_classifier(
            build_model("cheater_cnn", width=2),
            data,
            {"val": data},
            1,
            4,
            1e-3,
            0,
            select_on="vali",
        )


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
