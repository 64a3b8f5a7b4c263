import numpy as np
import pytest
import torch
from torch.nn import functional as F

from lazy_artist.models import build_model
from lazy_artist.sae.activations import Config, Standardiser, all_configs, collect_vectors
from lazy_artist.sae.autoencoder import SparseAutoencoder
from lazy_artist.sae.interventions import (
    Intervention,
    LayerSae,
    intervention_delta,
    random_feature_sets,
    top_activating,
)


def _random_sae(model, config, images, seed=0) -> LayerSae:
    """An untrained 4x SAE with non-zero biases: its reconstruction error is large, so only an
    exactly added-back error term can make a no-op reproduce the logits."""
    vectors = collect_vectors(model, images, [config])[config]
    torch.manual_seed(seed)
    sae = SparseAutoencoder.overcomplete(vectors.shape[1], 4)
    with torch.no_grad():
        sae.b_enc.normal_(0, 0.5)
        sae.b_dec.normal_(0, 0.5)
    return LayerSae(model, config, sae.eval(), Standardiser.fit(vectors))


def test_noop_reproduces_the_original_logits_exactly(backbone, images):
    for config in all_configs(backbone):
        bound = _random_sae(backbone, config, images)
        original = bound.logits(images)
        everything = tuple(range(bound.sae.n_features))
        for noop in (Intervention("scale", everything, 1.0), Intervention("add", everything, 0.0)):
            assert np.array_equal(bound.logits(images, bound.intervention_edit(noop)), original)
        # Without the error term the same SAE does change the logits: the test can fail.
        assert not np.allclose(bound.logits(images, bound.reconstruction_edit()), original)


def test_ablating_an_inactive_feature_changes_nothing(backbone, images):
    for config in (Config("conv1", "per_position"), Config("features", "vector")):
        bound = _random_sae(backbone, config, images)
        with torch.no_grad():
            bound.sae.b_enc[3] = -1e4  # feature 3 is now 0 on every row of every input
        codes = bound.image_codes(images)
        assert np.all(codes[:, 3] == 0)
        original = bound.logits(images)
        ablated = bound.logits(images, bound.intervention_edit(Intervention("ablate", (3,))))
        assert np.array_equal(ablated, original)
        active = int(np.argmax(codes.sum(0)))
        changed = bound.logits(images, bound.intervention_edit(Intervention("ablate", (active,))))
        assert not np.array_equal(changed, original)


def test_ablation_leaves_images_where_the_feature_is_silent_untouched(images):
    torch.manual_seed(0)
    model = build_model("cheater_cnn", width=4).eval()
    bound = _random_sae(model, Config("features", "vector"), images)
    codes = bound.image_codes(images)
    feature = int(np.argmax((codes > 0).sum(0) * ((codes == 0).sum(0) > 0)))  # active on some only
    silent = codes[:, feature] == 0
    assert silent.any() and (~silent).any()
    original = bound.logits(images)
    ablated = bound.logits(images, bound.intervention_edit(Intervention("ablate", (feature,))))
    assert np.array_equal(ablated[silent], original[silent])
    assert not np.allclose(ablated[~silent], original[~silent])


def test_edits_are_spliced_where_an_independent_forward_puts_them(images):
    torch.manual_seed(0)
    model = build_model("cheater_cnn", width=4).eval()
    x = torch.as_tensor(images)
    add = Intervention("add", (0, 5), 2.0)
    for config in (Config("conv3", "spatial_mean"), Config("features", "vector")):
        bound = _random_sae(model, config, images)
        got = bound.logits(images, bound.intervention_edit(add))
        with torch.no_grad():
            a3 = F.relu(
                model.conv3(model.pool2(F.relu(model.conv2(model.pool1(F.relu(model.conv1(x)))))))
            )
            rows = a3.mean(dim=(2, 3)) if config.layer == "conv3" else model.features(x)
            delta = bound.standardiser.delta_to_raw(
                intervention_delta(bound.sae, bound.standardiser.transform(rows), add)
            )
            if config.layer == "conv3":
                pooled = torch.flatten(model.gap(model.pool3(a3 + delta[:, :, None, None])), 1)
                want = model.fc(pooled)
            else:
                want = model.fc(rows + delta)
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-5)


def test_add_moves_every_row_along_the_feature_decoder_direction():
    sae = SparseAutoencoder(4, 8)
    x = torch.randn(5, 4)
    delta = intervention_delta(sae, x, Intervention("add", (2,), 1.5))
    torch.testing.assert_close(delta, 1.5 * sae.W_dec[:, 2].detach().expand(5, 4))


def test_interventions_edit_only_the_chosen_features():
    z = torch.tensor([[1.0, 2.0, 3.0]])
    assert Intervention("ablate", (1,)).apply(z).tolist() == [[1.0, 0.0, 3.0]]
    assert Intervention("scale", (0, 2), 2.0).apply(z).tolist() == [[2.0, 2.0, 6.0]]
    assert Intervention("add", (2,), -1.0).apply(z).tolist() == [[1.0, 2.0, 2.0]]
    assert z.tolist() == [[1.0, 2.0, 3.0]]  # the input is not modified
    with pytest.raises(ValueError, match="unknown intervention 'zap'"):
        Intervention("zap", (0,))


def test_random_feature_sets_and_top_activating():
    sets = random_feature_sets([4, 7, 9, 11, 12], size=3, draws=6, seed=0)
    assert len(sets) == 6 and all(len(set(s)) == 3 and set(s) <= {4, 7, 9, 11, 12} for s in sets)
    assert sets == random_feature_sets([4, 7, 9, 11, 12], size=3, draws=6, seed=0)
    codes = np.array([[0.1, 5.0], [0.9, 1.0], [0.5, 3.0]])
    assert top_activating(codes, 0, 2).tolist() == [1, 2]


@pytest.mark.parametrize(
    "intervention",
    [
        Intervention("ablate", (1, 6)),
        Intervention("scale", (0, 3, 7), 3.0),
        Intervention("add", (2,), -0.7),
    ],
)
def test_delta_equals_decoding_the_edited_code_minus_the_original(intervention):
    torch.manual_seed(1)
    sae = SparseAutoencoder(4, 8)
    with torch.no_grad():
        sae.b_enc.normal_(0, 0.5)
        sae.b_dec.normal_(0, 0.5)
    x = torch.randn(50, 4)
    z = sae.encode(x)
    expected = sae.decode(intervention.apply(z)) - sae.decode(z)
    torch.testing.assert_close(
        intervention_delta(sae, x, intervention), expected, atol=1e-6, rtol=1e-5
    )
