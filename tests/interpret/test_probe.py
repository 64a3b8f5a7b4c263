import numpy as np
import pytest

from lazy_artist.interpret.activation_max import ActMaxConfig, objective_values, visualise_channels
from lazy_artist.interpret.probe import (
    LayerProbe,
    kind_label,
    layer_selectivity,
    margins_against,
    pooled_share,
    probe_activations,
    prototype_vs_exemplar,
    representative_channels,
)
from lazy_artist.interpret.selectivity import Selectivity

from .conftest import RedDeadGreen, square_images


def test_silent_units_are_left_out_of_the_share():
    rng = np.random.default_rng(0)
    n = 200
    colours, digits = rng.integers(0, 10, n), rng.integers(0, 10, n)
    images = np.zeros((n, 3, 4, 4), np.float32)
    images[:, 0] = (colours / 9.0)[:, None, None]  # red plane: a function of the colour
    images[:, 1] = rng.random((n, 4, 4))  # noise, unrelated to either factor
    probes = layer_selectivity(RedDeadGreen().eval(), images, colours, digits)
    assert list(probes) == ["conv1", "features"]
    features = probes["features"]
    assert features.active.tolist() == [True, False, True]
    assert features.n_silent == 1
    assert kind_label(features, 0) == "colour" and kind_label(features, 1) == "silent"
    # Of the two active units, one is colour-dominated (the silent one would drag it to 1/3).
    assert features.selectivity.colour[0] == pytest.approx(1.0)
    assert features.colour_dominated_share() == pytest.approx(
        (1 + int(kind_label(features, 2) == "colour")) / 2
    )
    assert 0.5 <= pooled_share(probes) <= 1.0


def test_representative_channels_alternate_colour_and_digit_leaning():
    probe = LayerProbe(
        Selectivity(
            colour=np.array([0.9, 0.1, 0.5, 0.0, 0.8]), digit=np.array([0.0, 0.7, 0.5, 0.0, 0.1])
        ),
        active=np.array([True, True, True, False, True]),
    )
    assert representative_channels(probe, 2) == [0, 1]
    assert representative_channels(probe, 4) == [0, 1, 4, 2]
    assert representative_channels(probe, 5) == [0, 1, 4, 2, 3], "silent channels come last"


def test_prototype_vs_exemplar_is_non_negative_after_optimising(trained_tiny):
    model, _, _, _ = trained_tiny
    found = visualise_channels(model, "conv2", [0, 1, 2], "channel_mean", ActMaxConfig(steps=64))
    margins = prototype_vs_exemplar(model, found, square_images(128, seed=9)[0], topk=8)
    assert margins.shape == (3,) and np.all(margins > 0)


def test_probe_activations_and_margins_against_precomputed_scores(trained_tiny):
    model, _, _, _ = trained_tiny
    rng = np.random.default_rng(1)
    colours = rng.integers(0, 4, 300)
    acts = np.stack([colours * 1.0, rng.random(300), np.zeros(300)], axis=1)
    probe = probe_activations(acts, colours, rng.integers(0, 4, 300))
    assert probe.active.tolist() == [True, True, False]
    assert probe.selectivity.colour[0] == pytest.approx(1.0)
    found = visualise_channels(model, "conv2", [1, 3], "channel_max", ActMaxConfig(steps=8))
    images = square_images(32, seed=4)[0]
    real = objective_values(model, "conv2", "channel_max", images)  # every channel
    np.testing.assert_allclose(
        margins_against(found, real),
        prototype_vs_exemplar(model, found, images, topk=8),
        atol=1e-6,
    )
