"""T5's figures draw what they are given, unbroken samples and all (a smoke test each: the
layout, not the pixels)."""

from __future__ import annotations

import math

import numpy as np

from lazy_artist.attacks.plots import (
    backbone_success_curves,
    backbone_untargeted_curves,
    method_colour,
    min_epsilon_distribution,
    paired_min_epsilon,
    perturbation_pictures,
)
from lazy_artist.methods.figures import model_colour
from lazy_artist.plots import plt  # headless (Agg) on import

GRID = [0.05, 0.1, 0.5, 1.0]
UNTARGETED = [0.0, 0.1, 0.5]


def _pooled(scale: float) -> dict:
    return {
        "seeds": 2,
        "pgd_success": np.array([0.1, 0.4, 0.9, 1.0]) * scale,
        "fgsm_success": np.array([0.05, 0.2, 0.5, 0.7]) * scale,
        "min_epsilon": np.array([0.06, 0.2, math.inf, 0.4]),
        "fgsm_untargeted": np.array([1.0, 0.5, 0.1]),
        "pgd_untargeted": np.array([1.0, 0.2, 0.0]),
    }


POOLED = {
    "erm@cheater_cnn": _pooled(1.0),
    "cf_invar@cheater_cnn": _pooled(0.5),
    "erm@lenet_cnn": _pooled(0.8),
    "lff@lenet_cnn": _pooled(0.7),
    "gray_oracle@lenet_cnn (cross-model)": _pooled(0.2),
}
PANELS = {
    "cheater_cnn": ["erm@cheater_cnn", "cf_invar@cheater_cnn"],
    "lenet_cnn": ["erm@lenet_cnn", "lff@lenet_cnn"],
}
EXTRAS = ["gray_oracle@lenet_cnn (cross-model)"]


def test_a_method_has_one_colour_on_every_backbone_seed_and_rule():
    assert method_colour("cf_invar@cheater_cnn#1:easy_val") == model_colour("cf_invar")
    assert method_colour("cf_invar") == method_colour("cf_invar@lenet_cnn (cross-model)")


def test_the_curves_have_one_column_or_row_per_backbone():
    fig = backbone_success_curves(GRID, POOLED, PANELS, EXTRAS, 0.05, "P(3) >= 0.9")
    assert len(fig.axes) == 4 and "cheater_cnn" in fig.axes[0].get_title()
    labels = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert labels[-1].startswith("gray_oracle@lenet_cnn (cross-model)")
    plt.close(fig)
    fig = backbone_untargeted_curves(UNTARGETED, POOLED, PANELS, EXTRAS)
    assert len(fig.axes) == 4 and fig.axes[2].get_title() == "lenet_cnn: FGSM (one step)"
    plt.close(fig)


def test_the_paired_scatter_places_unbroken_samples_on_the_censoring_line():
    reference = [np.array([0.05, 0.1, math.inf]), np.array([0.06, 0.2, 0.3])]
    candidate = [np.array([0.1, math.inf, math.inf]), np.array([0.2, 0.4, 0.5])]
    fig = paired_min_epsilon({"cheater_cnn": (reference, candidate, [0, 1], "t")}, 2.0, 0.05)
    ax = fig.axes[0]
    points = np.concatenate([collection.get_offsets() for collection in ax.collections])
    assert len(points) == 6 and points.max() == 2.0
    assert ax.get_xticklabels()[-1].get_text() == "unbroken"
    plt.close(fig)


def test_distribution_and_pictures_survive_unbroken_samples():
    fig = min_epsilon_distribution({g: c["min_epsilon"] for g, c in POOLED.items()}, 0.05)
    assert "(1 unbroken)" in fig.axes[0].get_xticklabels()[0].get_text()
    plt.close(fig)
    rng = np.random.default_rng(0)
    panels = [
        (name, rng.random((2, 3, 8, 8)), rng.random((2, 3, 8, 8)), np.array([0.1, math.inf]),
         np.array([0.9, 0.2]))
        for name in ("cheater", "cf_invar@cheater_cnn")
    ]  # fmt: skip
    fig = perturbation_pictures(panels, 2, "3")
    assert len(fig.axes) == 2 * 6
    assert fig.axes[0].get_ylabel() == "cheater"
    plt.close(fig)


def test_row_labels_put_the_backbone_on_its_own_line():
    from lazy_artist.attacks.plots import stacked_label

    assert stacked_label("colour_aug@cheater_cnn") == "colour_aug\n@cheater_cnn"
    assert stacked_label("cheater") == "cheater"
