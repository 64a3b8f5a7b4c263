import numpy as np
import pytest
import torch

from lazy_artist.interpret.activation_max import (
    OBJECTIVES,
    ActMaxConfig,
    get_objective,
    objective_tables,
    objective_values,
    total_variation,
    visualise_channels,
)
from lazy_artist.interpret.hooks import PENULTIMATE

from .conftest import square_images

CONFIG = ActMaxConfig(steps=96, lr=0.05, seed=0)


def test_objectives_on_a_known_map():
    acts = torch.zeros(1, 2, 3, 3)
    acts[0, 0] = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [0.0, 0.0, 9.0]])
    assert get_objective("channel_max")(acts, 2)[0, 0] == 9.0
    assert get_objective("channel_mean")(acts, 2)[0, 0] == pytest.approx(15 / 9)
    assert get_objective("topk_mean")(acts, 2)[0, 0] == 6.0
    # A vector layer: every objective is the unit's value.
    vector = torch.tensor([[4.0, -1.0]])
    for objective in OBJECTIVES.values():
        assert objective(vector, 8).tolist() == [[4.0, -1.0]]
    with pytest.raises(ValueError, match="unknown objective 'channel_median'"):
        get_objective("channel_median")


@pytest.mark.parametrize("objective", list(OBJECTIVES))
@pytest.mark.parametrize("layer", ["conv1", "conv2", PENULTIMATE])
def test_prototype_beats_the_best_dataset_exemplar(trained_tiny, objective, layer):
    model, _, _, _ = trained_tiny
    dataset = square_images(256, seed=5)[0]
    channels = [0, 1, 2, 3, 4, 5]
    found = visualise_channels(model, layer, channels, objective, CONFIG)
    best_real = objective_values(model, layer, objective, dataset, channels).max(axis=0)
    assert found.images.shape == (6, 3, 28, 28)
    assert found.images.min() >= 0 and found.images.max() <= 1
    # At least as high as every real image, and higher for most channels: a conv1 channel's
    # single strongest position saturates at pixel values a real image can also have.
    assert np.all(found.values >= best_real - 1e-4 * np.abs(best_real)), (found.values, best_real)
    assert np.mean(found.values > best_real + 1e-4 * np.abs(best_real)) >= 0.5


def test_seeded_and_penalties_shape_the_result(trained_tiny):
    model, _, _, _ = trained_tiny
    first = visualise_channels(model, "conv2", [0, 1], "channel_mean", CONFIG)
    again = visualise_channels(model, "conv2", [0, 1], "channel_mean", CONFIG)
    np.testing.assert_array_equal(first.images, again.images)
    rough = ActMaxConfig(steps=96, tv=0.0, blur_every=0, jitter=0, seed=0)
    smooth = ActMaxConfig(steps=96, tv=1.0, seed=0)
    tv = [
        total_variation(
            torch.as_tensor(visualise_channels(model, "conv2", [0, 1], "channel_max", c).images)
        ).mean()
        for c in (rough, smooth)
    ]
    assert tv[1] < tv[0]


def test_one_batch_equals_separate_runs(trained_tiny):
    # Channels are optimised together; each image must only see its own channel's gradient.
    model, _, _, _ = trained_tiny
    config = ActMaxConfig(steps=20, jitter=0, seed=3)
    together = visualise_channels(model, "conv1", [0, 1], "channel_mean", config)
    alone = visualise_channels(model, "conv1", [0], "channel_mean", config)
    np.testing.assert_allclose(together.images[0], alone.images[0], atol=1e-5)


def test_bad_configuration_is_rejected():
    with pytest.raises(ValueError, match="steps"):
        ActMaxConfig(steps=0)
    with pytest.raises(ValueError, match="must be >= 0"):
        ActMaxConfig(tv=-1.0)


def test_redirected_relu_revives_units_silent_on_the_starting_noise(trained_tiny):
    model, _, _, _ = trained_tiny
    channels = list(range(6))
    plain = visualise_channels(
        model, PENULTIMATE, channels, "channel_mean", ActMaxConfig(steps=96, redirect_steps=0)
    )
    redirected = visualise_channels(model, PENULTIMATE, channels, "channel_mean", CONFIG)
    stuck = plain.values <= 0
    assert stuck.any(), "this model has a unit that is silent on gray noise"
    assert np.all(redirected.values[stuck] > 0)
    assert not any(m._forward_hooks for m in model.modules()), "hooks are removed afterwards"


def test_objective_tables_equal_objective_values_layer_by_layer(trained_tiny):
    model, images, _, _ = trained_tiny
    layers = ["conv1", "conv2", PENULTIMATE]
    table = objective_tables(model, layers, list(OBJECTIVES), images, topk=4, batch_size=20)
    assert table.positions == {"conv1": 28 * 28, "conv2": 14 * 14, PENULTIMATE: 1}
    for layer in layers:
        for objective in OBJECTIVES:
            expected = objective_values(model, layer, objective, images, topk=4)
            assert table.scores[layer][objective].shape == expected.shape
            np.testing.assert_allclose(table.scores[layer][objective], expected, rtol=1e-5)


def test_objective_tables_reach_a_layer_features_does_not_run():
    class HeadConv(torch.nn.Module):
        """A conv layer only ``forward`` runs, after ``features``."""

        def __init__(self) -> None:
            super().__init__()
            self.conv1 = torch.nn.Conv2d(3, 2, 3, padding=1)
            self.head = torch.nn.Conv2d(2, 2, 1)

        def features(self, x):
            return self.conv1(x)

        def forward(self, x):
            return self.head(self.features(x)).mean(dim=(2, 3))

    model = HeadConv().eval()
    images = torch.rand(5, 3, 8, 8)
    table = objective_tables(model, ["head"], ["channel_mean"], images)
    np.testing.assert_allclose(
        table.scores["head"]["channel_mean"], model(images).detach().numpy(), rtol=1e-5
    )
    with pytest.raises(KeyError, match="no layer 'conv9'"):
        objective_tables(model, ["conv9"], ["channel_mean"], images)
