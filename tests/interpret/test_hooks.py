import numpy as np
import pytest
import torch

from lazy_artist.interpret.hooks import (
    PENULTIMATE,
    conv_layer_names,
    layer_activations,
    layer_output,
    probe_layer_names,
)
from lazy_artist.models import build_model


@pytest.mark.parametrize(
    ("name", "convs"),
    [
        ("cheater_cnn", ["conv1", "conv2", "conv3"]),
        ("lenet_cnn", ["conv1", "conv2", "conv3", "conv4"]),
    ],
)
def test_conv_layers_are_discovered_for_both_study_backbones(name, convs):
    model = build_model(name, in_channels=3, width=4).eval()
    assert conv_layer_names(model) == convs
    assert probe_layer_names(model) == [*convs, PENULTIMATE]
    images = torch.rand(5, 3, 28, 28)
    for layer in convs:
        full = layer_activations(model, layer, images, reduce="none", batch_size=2)
        expected = getattr(model, layer).weight.shape[0]
        assert full.ndim == 4 and full.shape[:2] == (5, expected)
        means = layer_activations(model, layer, images, batch_size=2)
        np.testing.assert_allclose(means, full.mean(axis=(2, 3)), rtol=1e-5, atol=1e-6)
    vector = layer_activations(model, PENULTIMATE, images)
    np.testing.assert_allclose(vector, model.features(images).detach().numpy(), rtol=1e-5)


def test_layer_output_keeps_the_graph_and_hooks_are_removed():
    model = build_model("cheater_cnn", in_channels=3, width=4).eval()
    x = torch.rand(2, 3, 28, 28, requires_grad=True)
    out = layer_output(model, "conv2", x)
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert not model.conv2._forward_hooks


def test_unknown_layer_and_reduction_are_rejected():
    model = build_model("cheater_cnn", in_channels=3, width=4).eval()
    with pytest.raises(KeyError, match="conv layers are conv1, conv2, conv3"):
        layer_activations(model, "conv7", torch.rand(1, 3, 28, 28))
    with pytest.raises(ValueError, match="reduce must be"):
        layer_activations(model, "conv1", torch.rand(1, 3, 28, 28), reduce="max")
