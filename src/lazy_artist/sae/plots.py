"""T6 figures: feature selectivity, top-activating images, intervention effects, a worked example.

Sized for the PDF page like :mod:`lazy_artist.plots` (whose fonts and per-model colours they
share); every function draws only the numbers it is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from lazy_artist.data.canvas import COLOUR_NAMES
from lazy_artist.plots import PAGE_WIDTH_IN, model_colour

MARKERS = ("o", "x", "^", "s")  # per model, so that models with similar colours stay apart


def selectivity_scatter(
    points: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray]]], columns: int = 3
) -> Figure:
    """One panel per configuration: each live feature at (digit, colour) selectivity, one
    colour per model. ``points[config][model] = (colour_scores, digit_scores)``."""
    configs = list(points)
    rows = int(np.ceil(len(configs) / columns))
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(PAGE_WIDTH_IN, 2.2 * rows + 0.5),
        squeeze=False,
        sharex=True,
        sharey=True,
    )
    models = list(dict.fromkeys(model for per_model in points.values() for model in per_model))
    for ax, config in zip(axes.flat, configs, strict=False):
        for model, (colour, digit) in points[config].items():
            ax.scatter(
                digit,
                colour,
                s=12,
                alpha=0.6,
                color=model_colour(model),
                marker=MARKERS[models.index(model) % len(MARKERS)],
                label=model,
            )
        ax.plot([0, 1], [0, 1], color="0.6", linewidth=0.8, linestyle="--")
        ax.set_title(config, fontsize=9)
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(configs) :]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("colour selectivity")
    for index, ax in enumerate(axes.flat[: len(configs)]):
        if index + columns >= len(configs):  # the lowest panel of its column
            ax.xaxis.set_tick_params(labelbottom=True)
            ax.set_xlabel("digit selectivity")
    handles = [
        plt.Line2D(
            [], [], marker=MARKERS[k % len(MARKERS)], linestyle="", color=model_colour(m), label=m
        )
        for k, m in enumerate(models)
    ]
    fig.legend(handles=handles, loc="upper center", ncol=len(models), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    return fig


@dataclass
class FeatureRow:
    label: str  # e.g. "colour #12"
    colour_score: float
    digit_score: float
    image_indices: np.ndarray  # top-activating images, largest first


def top_feature_images(
    images: np.ndarray,
    labels: np.ndarray,
    colours: np.ndarray,
    rows: Sequence[FeatureRow],
    title: str = "",
) -> Figure:
    """One row per feature: its top-activating images, each marked with digit and colour."""
    n_images = max((len(row.image_indices) for row in rows), default=1)
    fig, axes = plt.subplots(
        len(rows),
        n_images,
        figsize=(PAGE_WIDTH_IN, 0.95 * len(rows) + 0.4),
        squeeze=False,
    )
    for r, row in enumerate(rows):
        for c in range(n_images):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(row.image_indices):
                ax.axis("off")
                continue
            i = int(row.image_indices[c])
            picture = np.asarray(images[i]).transpose(1, 2, 0)
            if picture.shape[-1] == 1:
                ax.imshow(picture[..., 0], cmap="gray", vmin=0, vmax=1)
            else:
                ax.imshow(picture, vmin=0, vmax=1)
            ax.set_xlabel(
                f"{int(labels[i])}, {COLOUR_NAMES[int(colours[i])]}", fontsize=7, labelpad=1
            )
        axes[r, 0].set_ylabel(
            f"{row.label}\ncol {row.colour_score:.2f}\ndig {row.digit_score:.2f}",
            fontsize=8,
            rotation=0,
            ha="right",
            va="center",
            labelpad=4,
        )
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(pad=0.3, h_pad=0.5, w_pad=0.2)
    return fig


def ablation_comparison(
    results: Mapping[str, Mapping[str, dict[str, float]]],
) -> Figure:
    """Per model, per configuration: hard-set flip rate when the top colour features are
    ablated, beside random feature sets of the same size (mean, error bar = std over draws).
    ``results[model][config] = {"colour": r, "random_mean": m, "random_std": s}``."""
    models = list(results)
    fig, axes = plt.subplots(
        1,
        len(models),
        figsize=(PAGE_WIDTH_IN, 3.3),
        squeeze=False,
        sharey=True,
    )
    for ax, model in zip(axes[0], models, strict=True):
        configs = list(results[model])
        x = np.arange(len(configs))
        colour = [results[model][c]["colour"] for c in configs]
        mean = [results[model][c]["random_mean"] for c in configs]
        std = [results[model][c]["random_std"] for c in configs]
        ax.bar(x - 0.2, colour, 0.4, color=model_colour(model), label="top colour features")
        ax.bar(x + 0.2, mean, 0.4, yerr=std, color="0.75", capsize=2, label="random features")
        ax.set_xticks(x, configs, rotation=45, ha="right", fontsize=8)
        ax.set_title(model)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
        ax.grid(axis="y", alpha=0.3)
    axes[0, 0].set_ylabel("hard-set predictions changed")
    axes[0, -1].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def worked_example(
    image: np.ndarray,
    logits: Mapping[str, np.ndarray],
    title: str,
) -> Figure:
    """The image, and its logits per class under each condition (grouped bars)."""
    fig, (ax_image, ax_bars) = plt.subplots(
        1, 2, figsize=(PAGE_WIDTH_IN, 2.6), gridspec_kw={"width_ratios": [1, 4]}
    )
    picture = np.asarray(image).transpose(1, 2, 0)
    ax_image.imshow(picture[..., 0] if picture.shape[-1] == 1 else picture, vmin=0, vmax=1)
    ax_image.set_xticks([])
    ax_image.set_yticks([])
    ax_image.set_title(title, fontsize=9)
    conditions = list(logits)
    width = 0.8 / len(conditions)
    shades = plt.get_cmap("viridis")(np.linspace(0.15, 0.85, len(conditions)))
    classes = np.arange(len(next(iter(logits.values()))))
    for k, name in enumerate(conditions):
        values = logits[name]
        ax_bars.bar(
            classes + (k - (len(conditions) - 1) / 2) * width,
            values,
            width,
            color=shades[k],
            label=f"{name} (predicts {int(np.argmax(values))})",
        )
    ax_bars.axhline(0, color="0.4", linewidth=0.8)
    ax_bars.set_xticks(classes)
    ax_bars.set_xlabel("class")
    ax_bars.set_ylabel("logit")
    ax_bars.grid(axis="y", alpha=0.3)
    ax_bars.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig
