import numpy as np
import pytest
import torch

from lazy_artist.interpret.selectivity import colour_digit_selectivity
from lazy_artist.models import build_model
from lazy_artist.sae.activations import Config, collect_vectors
from lazy_artist.sae.autoencoder import SaeSettings, encode_all
from lazy_artist.sae.study import (
    InterventionSettings,
    Split,
    analyse_config,
    pick_worked_example,
    rank_features,
)


def test_sae_feature_selectivity_is_one_for_colour_alone_and_about_zero_for_noise(identity_sae):
    rng = np.random.default_rng(0)
    n = 4000
    colours, digits = rng.integers(0, 10, n), rng.integers(0, 10, n)
    table = rng.uniform(0.5, 2.0, 10)  # positive: the +x feature carries it all
    x = np.column_stack([table[colours], rng.normal(size=(n, 3))]).astype(np.float32)
    codes = encode_all(identity_sae(4), x)  # features: +x0..+x3, then -x0..-x3
    sel = colour_digit_selectivity(codes, colours, digits)
    assert sel.colour[0] == pytest.approx(1.0, abs=1e-9)
    assert sel.digit[0] < 0.01
    noise = [1, 2, 3, 5, 6, 7]
    assert np.all(sel.colour[noise] < 0.01) and np.all(sel.digit[noise] < 0.01)
    assert sel.colour[4] == 0.0  # -x0 never fires: no variance, no selectivity


def test_rank_features_skips_dead_ones():
    scores = np.array([0.9, 0.1, 0.8, 0.95])
    live = np.array([True, True, True, False])
    assert rank_features(scores, live, 2) == [0, 2]


def _split(images, seed):
    rng = np.random.default_rng(seed)
    return Split(images, rng.integers(0, 10, len(images)), rng.integers(0, 10, len(images)))


def test_analyse_config_end_to_end_on_a_tiny_model():
    torch.manual_seed(0)
    model = build_model("cheater_cnn", width=4).eval()
    rng = np.random.default_rng(0)
    train, val, conflict, hard = (
        rng.random((n, 3, 28, 28), dtype=np.float32) for n in (60, 20, 30, 25)
    )
    config = Config("conv2", "per_position")
    train_vectors = collect_vectors(model, train, [config], positions_per_image=4)[config]
    val_vectors = collect_vectors(model, val, [config], positions_per_image=4, seed=1)[config]
    result = analyse_config(
        "tiny",
        model,
        config,
        train_vectors,
        val_vectors,
        _split(val, 1),
        _split(conflict, 2),
        _split(hard, 3),
        SaeSettings(expansion=2, epochs=2, steps_per_epoch=10, batch_size=32),
        InterventionSettings(n_ablate=3, n_random_draws=4, amplify_factor=3.0),
    )
    assert result.key == "tiny/conv2:per_position"
    assert result.codes.shape == (30, 16)
    assert len(result.top_colour) == 3 and all(result.live[i] for i in result.top_colour)
    assert len(result.random_effects) == 4
    assert result.logits["before"].shape == (25, 10)
    summary = result.summary()
    for key in ("fve", "l0", "dead_fraction", "max_color_selectivity", "max_digit_selectivity"):
        assert summary[key] is not None
    assert 0.0 <= summary["ablation_flip_rate"] <= 1.0


def test_worked_example_follows_its_stated_rule():
    eye = np.eye(3)
    before = eye[[0, 1, 2, 2]]  # predictions 0, 1, 2, 2
    ablated = eye[[1, 1, 0, 0]]  # images 0, 2 and 3 change
    assert pick_worked_example(before, ablated, colours=[1, 0, 0, 2])[0] == 3  # reads colour 2
    index, rule = pick_worked_example(before, ablated, colours=[1, 0, 0, 0])
    assert index == 0 and "no image read as its colour's digit changes" in rule
    assert pick_worked_example(before, before, colours=[0, 1, 2, 2])[0] == 0
