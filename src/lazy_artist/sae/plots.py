"""T6 figures: feature selectivity, top-activating images, intervention effects, a worked example.

Sized for the PDF page like :mod:`lazy_artist.plots` (whose fonts and per-model colours they
share); every function draws only the numbers it is given.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from lazy_artist.data.canvas import COLOUR_NAMES
from lazy_artist.methods.figures import model_colour
from lazy_artist.plots import PAGE_WIDTH_IN
from lazy_artist.sae.compare import MeasureComparison
from lazy_artist.sae.interventions import top_activating
from lazy_artist.sae.study import ModelAnalysis

MARKERS = ("o", "x", "^", "s")  # per model, so that models with similar colours stay apart


def selectivity_points(
    analyses: Sequence[ModelAnalysis],
) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """``[config][model label]`` -> (colour, digit) selectivity of every live feature."""
    points: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for analysis in analyses:
        for r in analysis.results.values():
            points.setdefault(r.config.label, {})[f"{analysis.method} #{analysis.seed}"] = (
                r.selectivity.colour[r.live],
                r.selectivity.digit[r.live],
            )
    return points


def selectivity_scatter(
    points: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray]]],
    columns: int = 3,
) -> Figure:
    """One panel per configuration: each live feature at (digit, colour) selectivity, one
    colour per model. ``points[config][model] = (colour_scores, digit_scores)``; a label
    ``"<method> #<seed>"`` takes its method's colour."""
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
                color=model_colour(model.split(" #")[0]),
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
            [],
            [],
            marker=MARKERS[k % len(MARKERS)],
            linestyle="",
            color=model_colour(m.split(" #")[0]),
            label=m,
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


def feature_rows(analysis: ModelAnalysis, n_features: int, n_images: int) -> list[FeatureRow]:
    """At the focus configuration: the top colour features, then the top digit features, each
    with its ``n_images`` top-activating conflict-validation images."""
    r = analysis.focus_result
    return [
        FeatureRow(
            f"{kind} #{feature}",
            float(r.selectivity.colour[feature]),
            float(r.selectivity.digit[feature]),
            top_activating(r.codes, feature, n_images),
        )
        for kind, features in (("colour", r.top_colour), ("digit", r.top_digit))
        for feature in features[:n_features]
    ]


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


def ablation_data(
    analyses: Sequence[ModelAnalysis],
) -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, str]]:
    """:func:`ablation_comparison`'s input for these models (each panel titled with the
    model's backbone, method and seed), and each panel's colour key (its method)."""
    results = {
        a.label: {
            r.config.label: {
                "colour": r.effects["ablate"].flip_rate,
                "random_mean": float(r.random_flip_rates().mean()),
                "random_std": float(r.random_flip_rates().std(ddof=1))
                if len(r.random_flip_rates()) > 1
                else 0.0,
            }
            for r in a.results.values()
        }
        for a in analyses
    }
    return results, {a.label: a.method for a in analyses}


def ablation_comparison(
    results: Mapping[str, Mapping[str, dict[str, float]]],
    colour_keys: Mapping[str, str] | None = None,
) -> Figure:
    """Per model, per configuration: hard-set flip rate when the top colour features are
    ablated, beside random feature sets of the same size (mean, error bar = std over draws).
    ``results[model][config] = {"colour": r, "random_mean": m, "random_std": s}``; a panel's
    colour is its model's, or that of ``colour_keys[model]`` (e.g. the method) when given."""
    models = list(results)
    columns = min(len(models), 2)  # two panels a row: a model's configuration names stay legible
    rows = int(np.ceil(len(models) / columns))
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(PAGE_WIDTH_IN, 3.0 * rows),
        squeeze=False,
        sharey=True,
    )
    for ax, model in zip(axes.flat, models, strict=False):
        configs = list(results[model])
        x = np.arange(len(configs))
        colour = [results[model][c]["colour"] for c in configs]
        mean = [results[model][c]["random_mean"] for c in configs]
        std = [results[model][c]["random_std"] for c in configs]
        shade = model_colour((colour_keys or {}).get(model, model))
        ax.bar(x - 0.2, colour, 0.4, color=shade, label="top colour features")
        ax.bar(x + 0.2, mean, 0.4, yerr=std, color="0.75", capsize=2, label="random features")
        ax.set_xticks(x, configs, rotation=35, ha="right", fontsize=7)
        ax.set_title(model, fontsize=9)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
        ax.grid(axis="y", alpha=0.3)
    for ax in axes.flat[len(models) :]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("hard-set predictions changed", fontsize=8)
    handles = [
        Patch(color="0.35", label="top colour features (in the model's colour)"),
        Patch(color="0.75", label="random live features (mean, bar: std over draws)"),
    ]
    fig.legend(handles=handles, loc="upper center", ncol=2, frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.25 / (3.0 * rows)))
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


def seed_comparison(panels: Mapping[str, Sequence[MeasureComparison]]) -> Figure:
    """One panel per measure: per backbone, ERM and the debiasing method side by side, each a
    bar at the mean over seeds with its 95% interval, every seed a dot, a seed's two models
    joined by a line (the pairing the test uses). ``panels[measure] = [comparison per
    backbone]``."""
    fig, axes = plt.subplots(
        1, len(panels), figsize=(PAGE_WIDTH_IN, 3.6), squeeze=False, constrained_layout=True
    )
    for ax, (title, comparisons) in zip(axes[0], panels.items(), strict=True):
        ticks, labels = [], []
        for group, c in enumerate(comparisons):
            x = (3 * group, 3 * group + 1)
            bars = (("erm", c.reference_interval), (c.method, c.candidate_interval))
            for position, (method, interval) in zip(x, bars, strict=True):
                error = None
                if interval.lo is not None and interval.hi is not None:
                    error = [[interval.mean - interval.lo], [interval.hi - interval.mean]]
                ax.bar(position, interval.mean, 0.8, color=model_colour(method), alpha=0.7)
                ax.errorbar(position, interval.mean, yerr=error, color="0.2", capsize=3)
                ticks.append(position)
                labels.append(method)
            ax.plot(
                np.tile(np.asarray(x, float)[:, None], len(c.seeds)),
                np.vstack([c.reference, c.candidate]),
                color="0.3",
                marker="o",
                markersize=3,
                linewidth=0.7,
            )
            # The backbone under its two bars: models are only ever compared within one.
            ax.annotate(
                c.backbone,
                xy=(3 * group + 0.5, 0),
                xycoords=("data", "axes fraction"),
                xytext=(0, -44),
                textcoords="offset points",
                ha="center",
                fontsize=7,
                fontweight="bold",
            )
        ax.set_xticks(ticks, labels, fontsize=7, rotation=35, ha="right")
        ax.set_xlim(-0.8, 3 * len(comparisons) - 1.2)
        ax.axhline(0, color="0.5", linewidth=0.7)
        ax.set_title(textwrap.fill(title, 24), fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
        if comparisons and comparisons[0].measure.percent:
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
        ax.grid(axis="y", alpha=0.3)
    return fig
