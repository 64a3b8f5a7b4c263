import numpy as np
import pytest
import torch

from lazy_artist.sae.autoencoder import (
    DeadFeatureTracker,
    SaeSettings,
    SparseAutoencoder,
    encode_all,
    reconstruct_all,
    train_sae,
)
from lazy_artist.sae.metrics import fraction_variance_explained, l0


def _planted_sparse(n: int = 3000, dim: int = 8, atoms: int = 16, active: int = 2, seed: int = 0):
    """Vectors that are sums of ``active`` of ``atoms`` unit directions with positive weights."""
    rng = np.random.default_rng(seed)
    dictionary = rng.normal(size=(atoms, dim))
    dictionary /= np.linalg.norm(dictionary, axis=1, keepdims=True)
    codes = np.zeros((n, atoms))
    for row in codes:
        row[rng.choice(atoms, active, replace=False)] = rng.uniform(1, 3, active)
    return (codes @ dictionary).astype(np.float32)


def test_decoder_columns_stay_at_unit_norm_through_training():
    run = train_sae(
        _planted_sparse(),
        SaeSettings(expansion=4, l1_coefficient=0.5, epochs=3, steps_per_epoch=40),
    )
    norms = run.sae.W_dec.detach().norm(dim=0)
    assert torch.all((norms - 1).abs() < 1e-6), norms


def test_normalise_decoder_fixes_every_column():
    sae = SparseAutoencoder(5, 12)
    with torch.no_grad():
        sae.W_dec.mul_(torch.linspace(0.1, 7, 12))
    sae.normalise_decoder()
    torch.testing.assert_close(sae.W_dec.norm(dim=0), torch.ones(12), atol=1e-6, rtol=0)


def test_training_recovers_a_planted_sparse_code():
    x = _planted_sparse()
    run = train_sae(
        x, SaeSettings(expansion=2, l1_coefficient=0.3, epochs=8, steps_per_epoch=150, lr=3e-3)
    )
    codes = encode_all(run.sae, x)
    assert fraction_variance_explained(x, reconstruct_all(run.sae, x)) > 0.9
    assert l0(codes) < 8  # sparser than the 8-dimensional input itself
    assert run.history[-1]["loss"] < run.history[0]["loss"]


def test_same_seed_same_sae():
    x = _planted_sparse(n=500)
    settings = SaeSettings(epochs=2, steps_per_epoch=20)
    a, b = train_sae(x, settings), train_sae(x, settings)
    assert torch.equal(a.sae.W_dec, b.sae.W_dec) and torch.equal(a.sae.W_enc, b.sae.W_enc)


def test_dead_feature_tracker_counts_vectors_since_last_firing():
    tracker = DeadFeatureTracker(3, window=10)
    tracker.update(torch.tensor([[1.0, 0.0, 0.0]] * 6))
    assert tracker.dead().tolist() == [False, False, False]  # 6 < 10 vectors of silence
    tracker.update(torch.tensor([[0.0, 2.0, 0.0]] * 4))
    assert tracker.dead().tolist() == [False, False, True]  # feature 2 silent for 10
    assert tracker.dead_fraction() == pytest.approx(1 / 3)


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="non-empty"):
        train_sae(np.zeros((0, 3), np.float32), SaeSettings(epochs=1))
    with pytest.raises(ValueError, match="must be >= 1"):
        SparseAutoencoder(0, 4)
