import numpy as np
import pytest
import torch

from lazy_artist.sae.activations import Config, Standardiser, collect_vectors
from lazy_artist.sae.autoencoder import SparseAutoencoder
from lazy_artist.sae.interventions import LayerSae
from lazy_artist.sae.metrics import (
    dead_fraction,
    fraction_variance_explained,
    intervention_effect,
    l0,
    sae_quality,
    spliced_accuracy,
)


def test_identity_sae_explains_everything_with_l0_equal_to_the_input_width(identity_sae):
    x = np.random.default_rng(0).normal(size=(500, 6)).astype(np.float32)
    quality = sae_quality(identity_sae(6), x)
    assert quality.fve == pytest.approx(1.0, abs=1e-7)
    assert quality.l0 == 6.0
    assert quality.dead_fraction == 0.0


def test_fve_matches_the_variance_weighted_r2():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 4)) * [1, 2, 3, 4]
    x_hat = x + rng.normal(scale=0.5, size=x.shape)
    # Independently: 1 - mean squared error / mean per-dimension variance.
    expected = 1 - np.mean((x - x_hat) ** 2) / np.mean(np.var(x, axis=0))
    assert fraction_variance_explained(x, x_hat) == pytest.approx(expected)
    assert fraction_variance_explained(x, np.broadcast_to(x.mean(0), x.shape)) == pytest.approx(0)
    with pytest.raises(ValueError, match="do not vary"):
        fraction_variance_explained(np.ones((5, 2)), np.ones((5, 2)))


def test_l0_and_dead_fraction_count_active_features():
    codes = np.array([[0.0, 1.0, 0.0, 2.0], [0.0, 0.5, 0.0, 0.0]])
    assert l0(codes) == 1.5
    assert dead_fraction(codes) == 0.5


def test_identity_sae_spliced_in_keeps_the_classifier_accuracy(backbone, images, identity_sae):
    labels = np.arange(len(images)) % 10
    for config in (Config("conv1", "per_position"), Config("features", "vector")):
        vectors = collect_vectors(backbone, images, [config])[config]
        bound = LayerSae(
            backbone, config, identity_sae(vectors.shape[1]), Standardiser.fit(vectors)
        )
        original = bound.logits(images)
        spliced = bound.logits(images, bound.reconstruction_edit())
        np.testing.assert_allclose(spliced, original, atol=1e-4)
        assert spliced_accuracy(bound, images, labels) == np.mean(original.argmax(1) == labels)


def test_a_poor_sae_spliced_in_changes_the_logits(backbone, images):
    config = Config("features", "vector")
    vectors = collect_vectors(backbone, images, [config])[config]
    torch.manual_seed(0)
    bound = LayerSae(
        backbone, config, SparseAutoencoder(vectors.shape[1], 2), Standardiser.fit(vectors)
    )
    assert not np.allclose(bound.logits(images, bound.reconstruction_edit()), bound.logits(images))


def test_intervention_effect_on_hand_made_logits():
    before = np.array([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 1.0]])
    after = np.array([[0.0, 2.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 1.0]])
    effect = intervention_effect(before, after, labels=[1, 1, 0], colours=[0, 0, 2])
    assert effect.flip_rate == pytest.approx(1 / 3)
    assert effect.accuracy_before == pytest.approx(1 / 3)
    assert effect.accuracy_after == pytest.approx(2 / 3)
    assert effect.colour_following_before == pytest.approx(2 / 3)
    assert effect.colour_following_after == pytest.approx(1 / 3)
    p_top = np.exp(2) / (np.exp(2) + 2)
    assert effect.confidence_change == pytest.approx((1 / (np.exp(2) + 2) - p_top) / 3)
    assert effect.colour_prob_after < effect.colour_prob_before
