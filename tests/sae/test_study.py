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
    all_summaries,
    analyse_config,
    analyse_model,
    model_splits,
    noop_gap,
    pick_worked_example,
    plan_configs,
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


def test_plan_configs_sweeps_or_keeps_the_focus_only():
    torch.manual_seed(0)
    cheater = build_model("cheater_cnn", width=4).eval()
    focus = "last_conv:spatial_mean"
    swept = plan_configs(cheater, "conv2:per_position,conv3:spatial_mean", focus, True)
    assert [c.label for c in swept] == ["conv2:per_position", "conv3:spatial_mean"]  # no repeat
    assert [c.label for c in plan_configs(cheater, "features:vector", focus, True)] == [
        "features:vector",
        "conv3:spatial_mean",  # the focus is analysed even when the list leaves it out
    ]
    assert [c.label for c in plan_configs(cheater, "all", focus, False)] == ["conv3:spatial_mean"]
    lenet = build_model("lenet_cnn", width=4, hidden=16).eval()
    assert [c.label for c in plan_configs(lenet, "all", focus, False)] == ["conv4:spatial_mean"]


def test_analyse_model_runs_every_planned_config_and_says_whose_it_is():
    torch.manual_seed(0)
    model = build_model("cheater_cnn", width=4).eval()
    rng = np.random.default_rng(0)
    train, val, conflict, hard = (
        rng.random((n, 3, 28, 28), dtype=np.float32) for n in (60, 20, 30, 25)
    )
    splits = {"val": _split(val, 1), "conflict": _split(conflict, 2), "hard": _split(hard, 3)}
    record = {"name": "erm@cheater_cnn#0:easy_val", "method": "erm", "backbone": "cheater_cnn"}
    record |= {"seed": 0, "rule": "easy_val"}
    settings = (
        SaeSettings(expansion=2, epochs=1, steps_per_epoch=5, batch_size=32),
        InterventionSettings(n_ablate=2, n_random_draws=2),
    )
    args = (train, splits, 4, *settings)
    full = analyse_model(
        record, "reference", model, "conv2:per_position", "last_conv:spatial_mean", True, *args
    )
    assert list(full.results) == ["conv2:per_position", "conv3:spatial_mean"]
    assert full.focus == "conv3:spatial_mean" and full.full_sweep
    assert full.focus_result is full.results["conv3:spatial_mean"]
    summaries = full.summaries()
    entry = summaries["erm@cheater_cnn#0:easy_val/conv3:spatial_mean"]
    assert (entry["backbone"], entry["seed"], entry["role"]) == ("cheater_cnn", 0, "reference")
    assert full.focus_record()["config"] == "conv3:spatial_mean"
    assert full.label == "cheater_cnn: erm #0"
    assert len(full.describe().splitlines()) == 2
    focus_only = analyse_model(
        record | {"name": "other", "seed": 1}, "candidate", model, "all", "last_conv:spatial_mean",
        False, *args,
    )  # fmt: skip
    assert list(focus_only.results) == ["conv3:spatial_mean"] and not focus_only.full_sweep
    assert len(all_summaries([full, focus_only])) == 3
    # The error term makes an edit that changes nothing change nothing, on the real model.
    assert noop_gap(full.focus_result, hard) == 0.0


def test_model_splits_give_each_model_the_images_it_reads():
    from lazy_artist.data.canvas import CanvasSplit
    from lazy_artist.zoo import StudyModel

    n = 3
    split = CanvasSplit(
        np.zeros((n, 3, 28, 28), np.float32),
        np.ones((n, 1, 28, 28), np.float32),
        np.arange(n),
        np.arange(n)[::-1].copy(),
        np.zeros((n, 28, 28), np.uint8),
        np.arange(n),
    )
    gray = StudyModel("gray_oracle", None, "gray", "t4", {})
    colour = StudyModel("erm", None, "colour", "t4", {})
    assert model_splits(gray, {"hard": split})["hard"].images.shape[1] == 1
    out = model_splits(colour, {"hard": split})["hard"]
    assert out.images.shape[1] == 3 and list(out.colours) == [2, 1, 0]
