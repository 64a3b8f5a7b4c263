import numpy as np
import pytest
import torch
from torch.nn import functional as F

from lazy_artist.models import build_model
from lazy_artist.sae.activations import (
    AGGREGATIONS,
    Config,
    Standardiser,
    all_configs,
    collect_vectors,
    discover_sites,
    get_site,
    resolve_configs,
)


def test_sites_are_discovered_not_listed():
    cheater = build_model("cheater_cnn", width=4)
    lenet = build_model("lenet_cnn", width=4, hidden=16)
    assert list(discover_sites(cheater)) == ["conv1", "conv2", "conv3", "features"]
    assert list(discover_sites(lenet)) == ["conv1", "conv2", "conv3", "conv4", "features"]
    # Each conv block is read after its ReLU; the penultimate vector is the head's input.
    assert discover_sites(cheater)["conv2"].module == "relu2"
    assert discover_sites(lenet)["features"].module == "fc"
    assert get_site(cheater, "last_conv").name == "conv3"
    assert get_site(lenet, "last_conv").name == "conv4"
    with pytest.raises(KeyError, match="no layer 'conv9'"):
        get_site(cheater, "conv9")


def test_all_configs_cover_every_conv_aggregation_and_the_vector(backbone):
    configs = all_configs(backbone)
    n_conv = sum(1 for site in discover_sites(backbone).values() if site.kind == "conv")
    assert len(configs) == 2 * n_conv + 1
    assert configs[-1] == Config("features", "vector")


def test_resolve_configs_drops_missing_layers_and_expands_last_conv():
    cheater = build_model("cheater_cnn", width=4)
    resolved = resolve_configs(
        "conv4:spatial_mean,last_conv:per_position,conv3:per_position", cheater
    )
    assert resolved == [Config("conv3", "per_position")]  # conv4 absent; the alias repeats conv3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("conv1", "must be 'layer:aggregation'"),
        ("conv1:max", "must be 'layer:aggregation'"),
        ("features:spatial_mean", "takes aggregation vector"),
        ("conv2:vector", "spatial_mean or per_position"),
    ],
)
def test_bad_configurations_are_named(text, message):
    with pytest.raises(ValueError, match=message):
        Config.parse(text)


def _block_outputs(model, x):
    """conv1..conv3 block outputs and the penultimate vector, computed without hooks."""
    a1 = F.relu(model.conv1(x))
    a2 = F.relu(model.conv2(model.pool1(a1)))
    a3 = F.relu(model.conv3(model.pool2(a2)))
    return {"conv1": a1, "conv2": a2, "conv3": a3, "features": model.features(x)}


def test_collected_vectors_match_an_independent_forward(images):
    torch.manual_seed(0)
    model = build_model("cheater_cnn", width=4).eval()
    configs = all_configs(model)
    vectors = collect_vectors(model, images, configs, batch_size=5)
    with torch.no_grad():
        expected = _block_outputs(model, torch.as_tensor(images))
    for config in configs:
        act = expected[config.layer]
        if config.aggregation == "spatial_mean":
            want = act.mean(dim=(2, 3))
        elif config.aggregation == "per_position":
            want = act.permute(0, 2, 3, 1).reshape(-1, act.shape[1])
        else:
            want = act
        np.testing.assert_allclose(vectors[config], want.numpy(), rtol=1e-5, atol=1e-6)


def test_per_position_sampling_keeps_rows_of_each_image(images):
    torch.manual_seed(0)
    model = build_model("cheater_cnn", width=4).eval()
    config = Config("conv2", "per_position")
    every = collect_vectors(model, images, [config])[config].reshape(len(images), 14 * 14, -1)
    sampled = collect_vectors(model, images, [config], positions_per_image=3, seed=1)[config]
    assert sampled.shape == (len(images) * 3, 8)
    for i, rows in enumerate(sampled.reshape(len(images), 3, -1)):
        for row in rows:  # every sampled row is one of that image's own positions
            assert np.isclose(every[i], row, atol=1e-6).all(axis=1).any()


@pytest.mark.parametrize("name", list(AGGREGATIONS))
def test_apply_delta_changes_the_vectors_by_exactly_delta(name):
    agg = AGGREGATIONS[name]
    shape = (3, 5) if agg.applies_to == "vector" else (3, 5, 4, 4)
    activation = torch.randn(shape)
    delta = torch.randn(agg.vectors(activation).shape)
    moved = agg.vectors(agg.apply_delta(activation, delta))
    torch.testing.assert_close(moved, agg.vectors(activation) + delta)


def test_standardiser_is_fitted_on_its_data_and_floors_constant_dimensions():
    rng = np.random.default_rng(0)
    train = np.column_stack([rng.normal(3, 2, 1000), rng.normal(-1, 0.5, 1000), np.zeros(1000)])
    std = Standardiser.fit(train)
    z = std.transform(train)
    np.testing.assert_allclose(z[:, :2].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z[:, :2].std(0), 1, atol=1e-4)
    # A dead dimension is not blown up: its scale is a tenth of the mean scale, not ~0.
    assert std.scale[2] == pytest.approx(0.1 * np.mean([train[:, 0].std(), train[:, 1].std(), 0]))
    np.testing.assert_allclose(std.inverse(z), train, atol=1e-4)
    delta = torch.ones(1, 3)
    torch.testing.assert_close(std.delta_to_raw(delta), torch.as_tensor(std.scale)[None])
