"""The model registry and the cheater CNN's interface."""

from __future__ import annotations

import pytest
import torch

from lazy_artist.models import MODELS, build_model, register_model


def test_unknown_model_is_rejected_with_the_known_names():
    with pytest.raises(KeyError) as caught:
        build_model("resnet_9000")
    assert "resnet_9000" in str(caught.value) and "cheater_cnn" in str(caught.value)


def test_a_name_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="already registered"):
        register_model("cheater_cnn")(lambda: torch.nn.Identity())
    assert "cheater_cnn" in MODELS


@pytest.mark.parametrize("in_channels", [1, 3])
def test_cheater_cnn_shapes_and_named_layers(in_channels):
    torch.manual_seed(0)
    model = build_model("cheater_cnn", in_channels=in_channels, width=4)
    x = torch.rand(5, in_channels, 28, 28)
    assert model(x).shape == (5, 10)
    assert model.features(x).shape == (5, 8)
    names = dict(model.named_children())
    for layer in ("conv1", "conv2", "conv3", "relu3", "gap", "fc"):
        assert layer in names
    assert isinstance(model.conv3, torch.nn.Conv2d)
    assert model.config == {"in_channels": in_channels, "width": 4, "num_classes": 10}


@pytest.mark.parametrize("in_channels", [1, 3])
def test_lenet_cnn_shapes_config_and_features_feed_the_head(in_channels):
    torch.manual_seed(0)
    model = build_model("lenet_cnn", in_channels=in_channels, width=4, hidden=32)
    x = torch.rand(5, in_channels, 28, 28)
    assert model(x).shape == (5, 10)
    assert model.features(x).shape == (5, 32)
    # forward is exactly the linear head on features(): methods rely on that split.
    assert torch.allclose(model(x), model.fc(model.features(x)))
    assert {"conv1", "conv2", "conv3", "conv4", "fc1", "fc"} <= set(dict(model.named_children()))
    rebuilt = build_model("lenet_cnn", **model.config)
    rebuilt.load_state_dict(model.state_dict())
    assert torch.equal(rebuilt(x), model(x))
