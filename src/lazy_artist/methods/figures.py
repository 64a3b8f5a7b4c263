"""T4's figure and table layouts that carry intervals (the notebook only calls them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from lazy_artist.methods.names import METHOD_NAMES
from lazy_artist.plots import PAGE_WIDTH_IN, name_colour


def bias_sweep_intervals(sweep: Mapping[str, Any]) -> Figure:
    """Hard-test accuracy against the training canvas's bias fraction: the mean over seeds per
    method with its 95% interval as error bars (none with a single seed). Bias-independent
    methods (``sweep["flat"]``, trained on the comparison canvas only) are a dashed line with
    their interval as a band."""
    biases = sweep["bias"]
    flat = set(sweep.get("flat", ()))
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN * 0.7, 3.2))
    positions = np.arange(len(biases))  # evenly spaced: the interesting values crowd near 1
    swept = [name for name in sweep["hard_test_acc"] if name not in flat]
    for name, points in sweep["hard_test_acc"].items():
        means = np.array([p["mean"] for p in points])
        lo = np.array([p["mean"] if p["ci95"][0] is None else p["ci95"][0] for p in points])
        hi = np.array([p["mean"] if p["ci95"][1] is None else p["ci95"][1] for p in points])
        if name in flat:
            span = (positions[0] - 0.3, positions[-1] + 0.3)
            ax.hlines(means[0], *span, colors=model_colour(name), linestyles="--", label=name)
            ax.fill_between(span, lo[0], hi[0], color=model_colour(name), alpha=0.15, lw=0)
            continue
        offset = swept.index(name)
        shift = (offset - (len(swept) - 1) / 2) * 0.06  # keep bars apart
        ax.errorbar(
            positions + shift,
            means,
            yerr=np.vstack([means - lo, hi - means]),
            marker="o",
            capsize=3,
            color=model_colour(name),
            label=name,
        )
    ax.set_xticks(positions, [f"{bias:g}" for bias in biases])
    ax.set_xlabel("bias fraction of the training canvas")
    ax.set_ylabel("hard-test accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def interval_text(point: Mapping[str, Any]) -> str:
    """``"97.4 [96.9, 97.9]"`` (percent) or just the mean when there is no interval."""
    lo, hi = point["ci95"]
    if point["mean"] is None:
        return "n/a"
    if lo is None:
        return f"{100 * point['mean']:.1f}"
    return f"{100 * point['mean']:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"


def per_colour_table(per_colour: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[list[Any]]:
    """Rows: stroke colour, its number of hard-test images, then each method's hard accuracy on
    the digits painted that colour (palette order, as :func:`grid.per_colour_hard` gives)."""
    if not per_colour:
        return []
    first = next(iter(per_colour.values()))
    return [
        [row["colour"], row["images"], *(interval_text(rows[i]) for rows in per_colour.values())]
        for i, row in enumerate(first)
    ]


def model_colour(name: str) -> tuple[float, float, float]:
    """One colour per method, the same in every figure: by registry order, so it never depends
    on which methods a run happened to include."""
    return name_colour(name, list(METHOD_NAMES))


def method_learning_curves(histories: dict[str, list[list[dict[str, float]]]]) -> Figure:
    """Mean over seeds of conflict-validation (left) and hard-test (right) accuracy per epoch."""
    fig, axes = plt.subplots(1, 2, figsize=(PAGE_WIDTH_IN, 3.4), sharey=True)
    for ax, key, title in zip(
        axes,
        ("acc_conflict_val", "acc_hard_test"),
        ("conflict validation (selection)", "hard test (reported only)"),
        strict=True,
    ):
        for name, runs in histories.items():
            epochs = [row["epoch"] for row in runs[0]]
            mean = np.mean([[row[key] for row in run] for run in runs], axis=0)
            ax.plot(epochs, mean, marker="o", markersize=3, color=model_colour(name), label=name)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_xticks(epochs)
        ax.set_ylim(-0.02, 1.02)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy")
    axes[1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    fig.tight_layout()
    return fig
