import math

import numpy as np
import pytest
import torch
from torch import nn

from lazy_artist.data.canvas import CanvasSplit
from lazy_artist.interpret.activation_max import ActMaxConfig, objective_tables, visualise_channels
from lazy_artist.interpret.hooks import PENULTIMATE, probe_layer_names
from lazy_artist.interpret.probe import prototype_vs_exemplar
from lazy_artist.interpret.prober_study import (
    MEAN,
    SELECTIVITY_COLUMNS,
    ProbedModel,
    PrototypeSet,
    deciding_layers,
    exemplar_rows,
    figure_key,
    group_by_backbone,
    optimise_prototypes,
    pair_model_names,
    probe_model,
    probe_study_model,
    selectivity_rows,
)
from lazy_artist.zoo import MatchedPair, StudyModel

from .conftest import RedDeadGreen, TinyCNN, square_images


class NoConv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)[:, :4]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def _split(images: np.ndarray, labels: np.ndarray, colours: np.ndarray) -> CanvasSplit:
    n = len(labels)
    return CanvasSplit(
        images=images.astype(np.float32),
        gray=images.mean(axis=1, keepdims=True).astype(np.float32),
        labels=np.asarray(labels, np.int64),
        colours=np.asarray(colours, np.int64),
        digits=np.zeros((n, 28, 28), np.uint8),
        source_index=np.arange(n),
    )


def _colour_split(n: int = 200, seed: int = 0) -> CanvasSplit:
    """Red a function of the colour, green of the digit: what :class:`RedDeadGreen` reads."""
    rng = np.random.default_rng(seed)
    colours, digits = rng.integers(0, 10, n), rng.integers(0, 10, n)
    images = np.zeros((n, 3, 28, 28), np.float32)
    images[:, 0] = (colours / 9.0)[:, None, None]
    images[:, 1] = (digits / 9.0)[:, None, None] + 0.01 * rng.random((n, 28, 28))
    return _split(images, digits, colours)


def _study_model(network: nn.Module, method="erm", backbone="cheater_cnn", seed=0) -> StudyModel:
    return StudyModel(
        name=f"{method}@{backbone}#{seed}:easy_val",
        network=network.eval(),
        input_kind="colour",
        source="t4",
        meta={},
        backbone=backbone,
        method=method,
        seed=seed,
        rule="easy_val",
    )


def test_the_deciding_layers_are_the_deepest_conv_and_the_penultimate():
    assert deciding_layers(TinyCNN()) == ["conv2", "features"]
    assert deciding_layers(NoConv()) == ["features"]


def test_model_probe_reports_shares_silent_units_and_means():
    probe = probe_model(RedDeadGreen().eval(), _colour_split().images, _colour_split())
    assert list(probe.layers) == ["conv1", "features"]
    assert probe.deciding == ["conv1", "features"]
    assert probe.silent() == {"conv1": 1, "features": 1}
    # Channel 0 follows colour, channel 2 the digit: one of the two active units.
    assert probe.shares() == {"conv1": pytest.approx(0.5), "features": pytest.approx(0.5)}
    assert probe.share("features") == pytest.approx(0.5)
    assert math.isnan(probe.share("conv9")), "a layer the model lacks has no share"
    assert probe.pooled() == pytest.approx(0.5)
    means = probe.mean_selectivity()["features"]
    selectivity = probe.layers["features"].selectivity
    assert selectivity.colour[0] == pytest.approx(1.0) and selectivity.digit[2] > 0.99
    assert means["colour"] == pytest.approx((1.0 + selectivity.colour[2]) / 2)
    assert means["digit"] == pytest.approx((selectivity.digit[0] + selectivity.digit[2]) / 2)
    colour, digit = probe.scatter()["features"]
    assert colour.shape == digit.shape == (2,), "silent channels are not drawn"


def test_mean_selectivity_of_an_all_silent_layer_is_none():
    split = _colour_split()
    split.images[:] = 0.0  # nothing varies: every unit is silent
    probe = probe_model(RedDeadGreen().eval(), split.images, split)
    assert probe.mean_selectivity()["conv1"] == {"colour": None, "digit": None}
    assert math.isnan(probe.shares()["conv1"])


def test_win_share_counts_ties_and_is_nan_without_prototypes():
    found = PrototypeSet(margins=[np.array([-1e-5, -1.0]), np.array([0.5])])
    assert found.n_pairs == 3
    assert found.win_share() == pytest.approx(2 / 3)
    assert found.win_share(tolerance=0.0) == pytest.approx(1 / 3)
    assert math.isnan(PrototypeSet().win_share())


def _tiny_study(trained_tiny, objectives):
    model, images, labels, _ = trained_tiny
    data = _split(images.numpy(), labels.numpy(), labels.numpy())
    table = objective_tables(
        model, probe_layer_names(model), list(dict.fromkeys([*objectives, MEAN])), data.images
    )
    return model, data, table, probe_model(model, data.images, data, table)


def test_prototypes_cover_every_channel_or_only_the_shown_ones(trained_tiny):
    model, data, table, probe = _tiny_study(trained_tiny, ["channel_mean", "channel_max"])
    config = ActMaxConfig(steps=24)
    shape = (3, 28, 28)
    shown = optimise_prototypes(model, probe, table, ["channel_mean"], config, 2, False, shape)
    assert all(len(c) == 2 for c in shown.shown.values())
    assert shown.n_pairs == 2 * len(probe.layers)
    both = ["channel_mean", "channel_max"]
    every = optimise_prototypes(model, probe, table, both, config, 2, True, shape)
    width = len(probe.layers["conv1"].active)
    # conv1 and conv2 once per objective; the penultimate vector once for both.
    assert every.n_pairs == width * (2 + 2 + 1)
    assert every.by_layer["conv2"]["channel_max"].channels == list(range(width))
    vector = every.by_layer[PENULTIMATE]
    assert vector["channel_max"].objective == "channel_max"
    np.testing.assert_array_equal(vector["channel_max"].images, vector["channel_mean"].images)
    images_grid, labels_grid = every.grid(probe)
    assert images_grid["conv2"]["channel_mean"].shape == (2, 3, 28, 28), "only the shown ones"
    assert labels_grid["conv2"][0].startswith(f"ch {every.shown['conv2'][0]} · ")
    # Margins in layer then objective order; conv2 channel_max is the fourth. They equal what
    # prototype_vs_exemplar computes by running the model again.
    found = every.by_layer["conv2"]["channel_max"]
    np.testing.assert_allclose(
        every.margins[3], prototype_vs_exemplar(model, found, data.images, config.topk), atol=1e-5
    )
    assert 0.0 <= every.win_share() <= 1.0


def test_the_vector_layer_optimised_once_equals_optimising_each_objective(trained_tiny):
    model, _, _, _ = trained_tiny
    config = ActMaxConfig(steps=16)
    mean = visualise_channels(model, PENULTIMATE, [0, 1], "channel_mean", config)
    top = visualise_channels(model, PENULTIMATE, [0, 1], "topk_mean", config)
    np.testing.assert_allclose(mean.images, top.images, atol=1e-6)
    np.testing.assert_allclose(mean.values, top.values, atol=1e-6)


def test_exemplar_rows_show_the_colour_images_that_excite_each_channel_most(trained_tiny):
    model, data, table, probe = _tiny_study(trained_tiny, ["channel_mean"])
    config = ActMaxConfig(steps=8)
    prototypes = optimise_prototypes(
        model, probe, table, ["channel_mean"], config, 2, False, (3, 28, 28)
    )
    means = {layer: per[MEAN] for layer, per in table.scores.items()}
    probed = ProbedModel({}, probe, prototypes, 0.0, means)
    rows = exemplar_rows(probed, data, "channel_mean", 3)
    assert list(rows) == list(probe.layers)
    strip = rows["features"][0]
    channel = prototypes.shown["features"][0]
    acts = model.features(torch.as_tensor(data.images)).detach().numpy()[:, channel]
    top = np.argsort(-acts, kind="stable")[:3]
    np.testing.assert_array_equal(strip.images, data.images[top])
    assert strip.digits == data.labels[top].tolist()
    assert strip.prototype.shape == (3, 28, 28)


def test_selectivity_rows_name_method_backbone_and_seed():
    split = _colour_split()
    probe = probe_model(RedDeadGreen().eval(), split.images, split)
    record = {"name": "x", "method": "cf_invar", "backbone": "lenet_cnn", "seed": 2, "rule": "r"}
    rows = selectivity_rows([record], [probe])
    assert len(rows) == 2 and all(len(row) == len(SELECTIVITY_COLUMNS) for row in rows)
    assert rows[0][:6] == ["cf_invar", "lenet_cnn", 2, "conv1", 3, 1]
    assert rows[1][6] == pytest.approx(0.5)


def test_probe_study_model_keeps_the_record_and_a_file_safe_key():
    images, labels, _ = square_images(40, seed=3)
    data = _split(images.numpy(), labels.numpy(), labels.numpy())
    model = _study_model(TinyCNN(), "cf_invar", "lenet_cnn", 1)
    probed = probe_study_model(model, data, ["channel_mean"], ActMaxConfig(steps=4), 1, False)
    assert probed.record == model.record()
    assert probed.key == "cf_invar_lenet_cnn_s1" == figure_key(probed.record)
    assert probed.seconds > 0 and probed.prototypes.n_pairs == len(probed.probe.layers)


def _pair(backbone: str, seed: int, method: str = "cf_invar") -> MatchedPair:
    return MatchedPair(
        backbone,
        seed,
        "easy_val",
        method,
        f"erm@{backbone}#{seed}:easy_val",
        f"{method}@{backbone}#{seed}:easy_val",
    )


def test_pair_model_names_and_same_backbone_groups():
    pairs = [_pair("cheater_cnn", 0), _pair("lenet_cnn", 0), _pair("lenet_cnn", 1)]
    names = pair_model_names([*pairs, pairs[0]])
    assert names == [name for pair in pairs for name in pair.names], "each once, in order"
    probed = {
        pair.names[k]: ProbedModel(
            {"method": ("erm", pair.method)[k], "seed": pair.seed}, None, PrototypeSet()
        )
        for pair in pairs
        for k in (0, 1)
    }
    groups = group_by_backbone(pairs, probed)
    assert list(groups) == ["cheater_cnn", "lenet_cnn"]
    assert list(groups["cheater_cnn"]) == ["erm", "cf_invar"], "one seed: the method alone"
    assert list(groups["lenet_cnn"]) == ["erm#0", "cf_invar#0", "erm#1", "cf_invar#1"]
