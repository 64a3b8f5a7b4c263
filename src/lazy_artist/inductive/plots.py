"""Figures of T7 (inductive bias), sized for a PDF page like every figure of the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from lazy_artist.plots import PAGE_WIDTH_IN, name_colour, plt

VARIANT_STYLE = {"clean": "-", "scrambled": "--"}


def clean_and_scrambled_examples(
    examples: Mapping[str, tuple[np.ndarray, np.ndarray, Sequence[str]]], per_dataset: int = 4
) -> Figure:
    """Per data set, a row of images and the same images with the pixels permuted.
    ``examples``: title -> (clean (k, 1, 28, 28), scrambled (k, 1, 28, 28), class names (k,))."""
    rows = 2 * len(examples)
    fig, axes = plt.subplots(
        rows, per_dataset, figsize=(PAGE_WIDTH_IN * 0.62, 1.1 * rows + 0.2), squeeze=False
    )
    for d, (title, (clean, scrambled, names)) in enumerate(examples.items()):
        for k in range(per_dataset):
            for r, (images, label) in enumerate(((clean, "clean"), (scrambled, "scrambled"))):
                ax = axes[2 * d + r, k]
                ax.imshow(images[k, 0], cmap="gray", vmin=0, vmax=1)
                ax.set_xticks([])
                ax.set_yticks([])
                if r == 0:
                    ax.set_title(names[k], fontsize=8, pad=2)
                if k == 0:
                    ax.set_ylabel(f"{title}\n{label}", fontsize=8)
    fig.tight_layout(pad=0.3, h_pad=0.4, w_pad=0.2)
    return fig


def accuracy_bars(accuracy: Mapping[str, Mapping[str, Mapping[str, float]]]) -> Figure:
    """``accuracy[dataset][architecture][variant]``: grouped bars, clean solid, scrambled hatched,
    annotated with the value."""
    datasets = list(accuracy)
    fig, axes = plt.subplots(
        1, len(datasets), figsize=(PAGE_WIDTH_IN, 2.9), sharey=True, squeeze=False
    )
    for ax, dataset in zip(axes[0], datasets, strict=True):
        architectures = list(accuracy[dataset])
        width = 0.38
        for a, arch in enumerate(architectures):
            for v, variant in enumerate(("clean", "scrambled")):
                value = accuracy[dataset][arch][variant]
                x = a + (v - 0.5) * width
                ax.bar(
                    x,
                    value,
                    width * 0.95,
                    color=name_colour(arch),
                    hatch="//" if variant == "scrambled" else None,
                    edgecolor="white" if variant == "scrambled" else None,
                    alpha=1.0 if variant == "clean" else 0.75,
                    label=variant if a == 0 else None,
                )
                ax.text(x, value + 0.01, f"{value:.1%}", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(len(architectures)), architectures)
        ax.set_title(dataset)
        ax.set_ylim(0, 1.12)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.grid(alpha=0.3, axis="y")
    axes[0, 0].set_ylabel("test accuracy")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=2, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def fgsm_curves(
    epsilons: Sequence[float], accuracy: Mapping[str, Mapping[str, Mapping[str, Sequence[float]]]]
) -> Figure:
    """``accuracy[dataset][architecture][variant]`` per epsilon: one panel per data set, one
    colour per architecture, solid clean, dashed scrambled."""
    datasets = list(accuracy)
    fig, axes = plt.subplots(
        1, len(datasets), figsize=(PAGE_WIDTH_IN, 3.1), sharey=True, squeeze=False
    )
    for ax, dataset in zip(axes[0], datasets, strict=True):
        for arch, variants in accuracy[dataset].items():
            for variant, values in variants.items():
                ax.plot(
                    epsilons,
                    values,
                    VARIANT_STYLE[variant],
                    marker="o",
                    markersize=3,
                    color=name_colour(arch),
                    label=f"{arch}, {variant}",
                )
        ax.set_title(dataset)
        ax.set_xlabel("FGSM epsilon (L-inf)")
        ax.set_ylim(-0.02, 1.02)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("test accuracy under FGSM")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=4, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig
