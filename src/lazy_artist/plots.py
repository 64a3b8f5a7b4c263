"""Figures for the report, sized for a PDF page.

Figures are drawn at about the width of a page's text block (7 inches) so that the fonts
(9-11 pt) keep their size when the report shows them at page width. Every function returns a
matplotlib Figure and shows only the numbers it was given.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # headless: notebooks run under papermill without a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from lazy_artist.data.canvas import COLOUR_NAMES, PALETTE  # noqa: E402

PAGE_WIDTH_IN = 7.0
CELL_FONT = 9  # numbers written inside heatmap cells
plt.rcParams.update(
    {
        "font.size": 10,
        "axes.titlesize": 10,
        "axes.labelsize": 10,
        "xtick.labelsize": 9,
        "ytick.labelsize": 9,
        "legend.fontsize": 9,
        "figure.titlesize": 11,
    }
)
DIGITS = [str(d) for d in range(10)]


def _annotate(ax, shown: np.ndarray, shading: np.ndarray, fmt: str, image) -> None:
    """Write ``shown`` in each cell, black or white by the luminance of the cell's colour."""
    for (row, col), value in np.ndenumerate(shown):
        if not np.isfinite(value):
            ax.text(col, row, "–", ha="center", va="center", fontsize=CELL_FONT, color="0.4")
            continue
        red, green, blue, _ = image.cmap(image.norm(shading[row, col]))
        colour = "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"
        text = format(int(round(value)), "d") if fmt == "d" else format(value, fmt)
        ax.text(col, row, text, ha="center", va="center", fontsize=CELL_FONT, color=colour)


def _grid_panel(
    ax,
    shading: np.ndarray,
    shown: np.ndarray,
    fmt: str,
    title: str,
    xlabel: str,
    ylabel: str,
    colourbar_label: str,
    cmap: str = "Blues",
    xticklabels: Sequence[str] = DIGITS,
    yticklabels: Sequence[str] = DIGITS,
    colourbar: bool = True,
):
    """A 10x10 heatmap coloured by ``shading`` (0..1) and annotated with ``shown``."""
    image = ax.imshow(np.ma.masked_invalid(shading.astype(float)), cmap=cmap, vmin=0, vmax=1)
    _annotate(ax, shown.astype(float), shading.astype(float), fmt, image)
    rotate = max(len(label) for label in xticklabels) > 2
    ax.set_xticks(
        range(shading.shape[1]),
        labels=list(xticklabels),
        rotation=45 if rotate else 0,
        ha="right" if rotate else "center",
    )
    ax.set_yticks(range(shading.shape[0]), labels=list(yticklabels))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if colourbar:
        _colourbar(image, ax, colourbar_label)
    return image


def _colourbar(image, axes, label: str) -> None:
    bar = image.figure.colorbar(image, ax=axes, fraction=0.046, pad=0.03)
    bar.ax.yaxis.set_major_formatter(PercentFormatter(1.0))  # shading is a share in [0, 1]
    bar.set_label(label)


def _swatch_ticklabels(ax, axis: str) -> None:
    """Give colour-name tick labels a light background of their palette colour."""
    labels = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    for label, rgb in zip(labels, PALETTE, strict=False):
        label.set_bbox({"facecolor": tuple(rgb), "edgecolor": "none", "alpha": 0.35, "pad": 1})


def _row_shares(counts: np.ndarray) -> np.ndarray:
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)


def sample_grid(
    images: np.ndarray,
    labels: np.ndarray,
    colours: np.ndarray,
    per_digit: int = 4,
    title: str = "",
    seed: int = 0,
) -> Figure:
    """One column per digit, ``per_digit`` random examples each, labelled with the stroke colour."""
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(
        per_digit, 10, figsize=(PAGE_WIDTH_IN, 0.86 * per_digit + 0.5), squeeze=False
    )
    for digit in range(10):
        members = np.flatnonzero(np.asarray(labels) == digit)
        count = min(per_digit, len(members))
        chosen = rng.choice(members, size=count, replace=False) if count else []
        for row in range(per_digit):
            ax = axes[row, digit]
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(f"digit {digit}", fontsize=10, pad=12)
            if row >= len(chosen):
                ax.axis("off")
                continue
            i = chosen[row]
            picture = np.asarray(images[i]).transpose(1, 2, 0)
            if picture.shape[-1] == 1:
                ax.imshow(picture[..., 0], cmap="gray", vmin=0, vmax=1)
            else:
                ax.imshow(picture, vmin=0, vmax=1)
            ax.set_xlabel(COLOUR_NAMES[int(colours[i])], fontsize=9, labelpad=1)
    if title:
        fig.suptitle(title)
    fig.tight_layout(pad=0.3, h_pad=0.4, w_pad=0.2)
    return fig


def contingency_heatmaps(tables: dict[str, np.ndarray]) -> Figure:
    """(digit x colour) heatmaps per named split, shaded and annotated by the share of the digit."""
    fig, axes = plt.subplots(
        1,
        len(tables),
        figsize=(PAGE_WIDTH_IN * len(tables) / 2, 3.9),
        squeeze=False,
        layout="constrained",
    )
    for ax, (name, table) in zip(axes[0], tables.items(), strict=True):
        shares = _row_shares(table)
        image = _grid_panel(
            ax,
            shares,
            100 * shares,
            ".0f",
            f"{name} (n = {int(table.sum())})",
            "stroke colour",
            "digit",
            "% of the digit's images",
            cmap="viridis",
            xticklabels=COLOUR_NAMES,
            colourbar=False,
        )
        _swatch_ticklabels(ax, "x")
    _colourbar(image, axes[0].tolist(), "% of the digit's images")
    return fig


def dominant_share_bars(shares: dict[str, np.ndarray], bias: float) -> Figure:
    """Per digit, the share painted its own colour, one bar per split, with the bias line."""
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN, 3.0))
    n = len(shares)
    width = 0.8 / max(n, 1)
    for k, (name, values) in enumerate(shares.items()):
        ax.bar(np.arange(10) + (k - (n - 1) / 2) * width, np.nan_to_num(values), width, label=name)
    ax.axhline(bias, color="black", linestyle="--", linewidth=1, label=f"bias {bias:g}")
    ax.set_xticks(range(10), labels=DIGITS)
    ax.set_xlabel("digit")
    ax.set_ylabel("share in its own colour")
    ax.set_ylim(0, 1.05)
    ax.legend(ncols=3, loc="center", bbox_to_anchor=(0.5, 0.45))
    fig.tight_layout()
    return fig


def confusion_matrices(matrices: dict[str, np.ndarray]) -> Figure:
    """Confusion matrices side by side, shaded and annotated by % of the true digit."""
    fig, axes = plt.subplots(
        1,
        len(matrices),
        figsize=(PAGE_WIDTH_IN * len(matrices) / 2, 3.6),
        squeeze=False,
        layout="constrained",
    )
    for ax, (name, matrix) in zip(axes[0], matrices.items(), strict=True):
        rates = _row_shares(matrix)
        accuracy = np.trace(matrix) / max(matrix.sum(), 1)
        image = _grid_panel(
            ax,
            rates,
            100 * rates,
            ".0f",
            f"{name}: {accuracy:.1%} of {int(matrix.sum())}",
            "predicted digit",
            "true digit",
            "% of the true digit",
            colourbar=False,
        )
    _colourbar(image, axes[0].tolist(), "% of the true digit")
    return fig


def accuracy_grid(grid: np.ndarray, title: str) -> Figure:
    """Accuracy (%) per (digit row, colour column) cell; the diagonal is the digit's own colour."""
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN * 0.8, 5.0))
    _grid_panel(
        ax,
        grid,
        100 * grid,
        ".0f",
        title,
        "stroke colour",
        "true digit",
        "accuracy (%)",
        cmap="RdYlGn",
        xticklabels=COLOUR_NAMES,
    )
    _swatch_ticklabels(ax, "x")
    fig.tight_layout()
    return fig


def colour_probe_heatmap(shares: np.ndarray, follows: np.ndarray) -> Figure:
    """Row c: % of predictions per digit when every test digit is painted colour c."""
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN * 0.85, 5.0))
    _grid_panel(
        ax,
        shares,
        100 * shares,
        ".0f",
        "every test digit painted one colour",
        "predicted digit",
        "painted colour (% of other digits read as its digit)",
        "% of predictions",
        cmap="magma_r",
        yticklabels=[f"{name} ({f:.0%})" for name, f in zip(COLOUR_NAMES, follows, strict=True)],
    )
    _swatch_ticklabels(ax, "y")
    fig.tight_layout()
    return fig


_NAME_PALETTE = list(plt.get_cmap("tab10").colors) + list(plt.get_cmap("Dark2").colors)


def name_colour(name: str, order: Sequence[str] = ()) -> tuple[float, float, float]:
    """A fixed colour for ``name``: its place in ``order``, else a digest of its letters (so a
    figure's colours never depend on which names it happens to show)."""
    names = list(order)
    position = names.index(name) if name in names else len(names) + sum(map(ord, name))
    return _NAME_PALETTE[position % len(_NAME_PALETTE)]
