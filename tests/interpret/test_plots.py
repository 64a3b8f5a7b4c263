"""The figure functions draw what they are given, at page width, for any number of rows."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from lazy_artist.interpret.plots import (
    Cell,
    ExemplarStrip,
    exemplar_strips,
    map_grid,
    prototype_grid,
    ratio_distributions,
    selectivity_figure,
)
from lazy_artist.plots import PAGE_WIDTH_IN, plt

RNG = np.random.default_rng(0)


def _images(n: int, channels: int = 3) -> np.ndarray:
    return RNG.random((n, channels, 28, 28)).astype(np.float32)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _check(fig: Figure, n_images: int) -> None:
    assert isinstance(fig, Figure)
    assert fig.get_figwidth() == pytest.approx(PAGE_WIDTH_IN)
    assert sum(bool(ax.get_images()) for ax in fig.axes) >= n_images


def test_prototype_grid_has_a_thumbnail_per_layer_objective_and_channel():
    images = {
        layer: {objective: _images(2) for objective in ("channel_max", "channel_mean")}
        for layer in ("conv1", "conv2", "features")
    }
    labels = {layer: ["ch 0 · colour", "ch 1 · digit"] for layer in images}
    _check(prototype_grid(images, labels, "title"), 3 * 2 * 2)


def test_exemplar_strips_and_gray_inputs():
    strip = ExemplarStrip(
        "ch 3 · colour", _images(1, 1)[0], _images(4, 1), [1, 2, 3, 4], [0, 5, 8, 9]
    )
    _check(exemplar_strips({"conv1": [strip, strip], "features": [strip]}, ["a", "b"], "t"), 15)


def test_selectivity_map_grid_and_ratio_figures():
    shares = {"cheater": {"conv1": 1.0, "features": 0.8}, "erm": {"conv1": 0.9, "conv2": 0.5}}
    scores = {
        model: {layer: (RNG.random(4), RNG.random(4)) for layer in per_layer}
        for model, per_layer in shares.items()
    }
    assert isinstance(selectivity_figure(shares, scores), Figure)
    cells = [[Cell(_images(1)[0], RNG.random((28, 28)), "pred 3\nused colour") for _ in range(3)]]
    _check(map_grid(cells * 2, ["cheater", "erm"], ["a", "b", "c"], colourbar_label="x"), 6)
    ratios = {"cheater": {"aligned": RNG.random(50), "conflicting": np.r_[RNG.random(49), np.inf]}}
    fig = ratio_distributions(ratios, {"cheater": {"aligned": 0.5, "conflicting": 0.6}})
    assert isinstance(fig, Figure)


def test_layers_of_models_of_different_depth_are_ordered_shallow_to_deep():
    shares = {
        "cheater": {"conv1": 1.0, "conv2": 1.0, "conv3": 1.0, "features": 1.0},
        "best": {"conv1": 1.0, "conv2": 0.9, "conv3": 0.8, "conv4": 0.5, "features": 0.1},
    }
    scores = {m: {la: (np.ones(2), np.zeros(2)) for la in p} for m, p in shares.items()}
    fig = selectivity_figure(shares, scores)
    ticks = [label.get_text() for label in fig.axes[0].get_xticklabels()]
    assert ticks == ["conv1", "conv2", "conv3", "conv4", "features"]


def test_a_heavy_tailed_model_does_not_flatten_the_other_models_boxes():
    # The full run's cf_invar had almost half of its maps off the stroke (ratio +inf) and finite
    # ratios in the thousands; the cheater's boxes (0.4..0.7) must still span a visible height.
    tail = np.r_[RNG.uniform(0.2, 0.8, 500), RNG.uniform(1e3, 3e4, 30), np.full(470, np.inf)]
    ratios = {
        "cheater": {
            "aligned": RNG.uniform(0.4, 0.66, 1000),
            "conflicting": RNG.uniform(0.4, 0.9, 1000),
        },
        "cf_invar": {"aligned": tail, "conflicting": tail},
    }
    pooled = {
        "cheater": {"aligned": 0.54, "conflicting": 0.59},
        "cf_invar": {"aligned": 0.52, "conflicting": 0.47},
    }
    fig = ratio_distributions(ratios, pooled)
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    assert ax.get_yscale() == "log"
    span = np.log(high) - np.log(low)
    cheater_box = np.log(0.66 / 0.4)
    assert cheater_box / span > 0.05, "the cheater's box is a visible share of the axis"
    labels = [text.get_text() for text in ax.texts]
    assert any(label.startswith("500/1000") for label in labels), labels  # 30 finite + 470 inf


def test_ratio_panels_draw_one_panel_per_backbone_with_every_seed():
    from lazy_artist.interpret.plots import ratio_panels

    def panel(title):
        ratios = {
            m: {g: RNG.uniform(0.2, 2.0, 60) for g in ("aligned", "conflicting")}
            for m in ("erm", "cf_invar")
        }
        return {
            "title": title,
            "ratios": ratios,
            "pooled": {m: {"aligned": 0.5, "conflicting": 0.9} for m in ratios},
            "per_seed": {
                m: {"aligned": [0.4, 0.5, 0.6], "conflicting": [0.8, 0.9, np.inf]} for m in ratios
            },
        }

    fig = ratio_panels({"cheater_cnn": panel("cheater_cnn: conv3, 7×7"), "lenet_cnn": panel("b")})
    assert fig.get_figwidth() == pytest.approx(PAGE_WIDTH_IN)
    assert [ax.get_title() for ax in fig.axes] == ["cheater_cnn: conv3, 7×7", "b"]
    assert fig.axes[0].get_ylim() == fig.axes[1].get_ylim(), "one shared axis"
    dots = [c for c in fig.axes[0].collections if c.get_label() == "one seed"]
    assert len(dots) == 1 and len(dots[0].get_offsets()) == 2 * 2 * 3 - 2  # inf left out
