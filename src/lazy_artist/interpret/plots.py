"""Figures of T2 (prototypes, exemplars, selectivity) and T3 (saliency grids, attention ratios),
drawn at the width of a PDF page like ``lazy_artist.plots``; per-model colours come from
``lazy_artist.methods.figures.model_colour`` so a model looks the same in every figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from lazy_artist.data.canvas import COLOUR_NAMES
from lazy_artist.methods.figures import model_colour
from lazy_artist.plots import PAGE_WIDTH_IN, plt

SMALL_FONT = 7.5  # captions under thumbnails
HEATMAP = "jet"


def _picture(image: np.ndarray) -> np.ndarray:
    """(C, H, W) in [0, 1] -> what imshow takes: (H, W, 3) or (H, W) for one channel."""
    image = np.asarray(image)
    return image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)


def _show(ax, image: np.ndarray) -> None:
    picture = _picture(image)
    ax.imshow(picture, cmap="gray" if picture.ndim == 2 else None, vmin=0, vmax=1)
    _bare(ax)


def _bare(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.4)


def _luminance(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.shape[0] == 1:
        return image[0]
    return 0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2]


def _overlay(ax, image: np.ndarray, heat: np.ndarray) -> None:
    """The heatmap (0..1) over a dimmed gray version of the image, so the stroke shows through
    without its colour competing with the heatmap's."""
    ax.imshow(_luminance(image), cmap="gray", vmin=0, vmax=1)
    ax.imshow(heat, cmap=HEATMAP, vmin=0, vmax=1, alpha=0.55)
    _bare(ax)


# --- T2 ---------------------------------------------------------------------------------------


def prototype_grid(
    images: Mapping[str, Mapping[str, np.ndarray]],
    labels: Mapping[str, Sequence[str]],
    title: str,
) -> Figure:
    """Rows = layers, column groups = objectives; ``images[layer][objective]`` is (K, C, H, W),
    one prototype per shown channel, and ``labels[layer]`` names those K channels."""
    layers = list(images)
    objectives = list(next(iter(images.values())))
    per_group = max(len(next(iter(images[layer].values()))) for layer in layers)
    n_cols = len(objectives) * per_group + len(objectives) - 1  # a thin spacer between groups
    widths = ([1.0] * per_group + [0.25]) * len(objectives)
    cell = min(0.72, (PAGE_WIDTH_IN - 0.6) / sum(widths[:n_cols]))
    fig, axes = plt.subplots(
        len(layers),
        n_cols,
        figsize=(PAGE_WIDTH_IN, len(layers) * (cell + 0.5) + 0.55),
        gridspec_kw={"width_ratios": widths[:n_cols]},
        squeeze=False,
    )
    for row, layer in enumerate(layers):
        for group, objective in enumerate(objectives):
            shown = images[layer][objective]
            for k in range(per_group):
                ax = axes[row, group * (per_group + 1) + k]
                if k >= len(shown):
                    ax.axis("off")
                    continue
                _show(ax, shown[k])
                ax.set_xlabel(
                    labels[layer][k].replace(" · ", "\n"), fontsize=SMALL_FONT, labelpad=1
                )
                if row == 0 and k == 0:
                    ax.set_title(objective, fontsize=9, loc="left")
            if group < len(objectives) - 1:
                axes[row, group * (per_group + 1) + per_group].axis("off")
        axes[row, 0].set_ylabel(layer, fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(pad=0.3, h_pad=0.3, w_pad=0.1)
    return fig


@dataclass
class ExemplarStrip:
    label: str  # e.g. "ch 5, colour"
    prototype: np.ndarray  # (C, H, W)
    images: np.ndarray  # (k, C, H, W) the channel's top dataset images
    digits: Sequence[int]
    colours: Sequence[int]


def exemplar_strips(
    rows: Mapping[str, Sequence[ExemplarStrip]], titles: Sequence[str], title: str
) -> Figure:
    """One figure row per layer (``rows[layer]``), holding strips side by side: a channel's
    prototype, then its top dataset images captioned with their digit and stroke colour."""
    per_row = max(len(strips) for strips in rows.values())
    k = max(len(strip.images) for strips in rows.values() for strip in strips)
    # Column layout of one strip: prototype, gap, k images; strips separated by a wider gap.
    widths = ([1.0, 0.2] + [1.0] * k + [0.45]) * per_row
    widths = widths[:-1]
    label_in, caption_in, title_in = 0.35, 0.36, 0.55
    cell = (PAGE_WIDTH_IN - label_in - 0.1) / sum(widths)
    row_in = cell + caption_in + 0.08
    height = title_in + len(rows) * row_in
    fig = plt.figure(figsize=(PAGE_WIDTH_IN, height))
    fig.suptitle(title, fontsize=10, y=1 - 0.12 / height)
    lefts = label_in + np.concatenate([[0.0], np.cumsum(widths)[:-1]]) * cell
    stride = k + 3
    for r, (layer, strips) in enumerate(rows.items()):
        top = title_in + r * row_in  # inches from the top of the figure
        bottom = height - top - cell
        for s_index, strip in enumerate(strips):
            base = s_index * stride
            axes = []
            for j in range(1 + len(strip.images)):
                column = base + (0 if j == 0 else j + 1)
                axes.append(
                    fig.add_axes(
                        (
                            lefts[column] / PAGE_WIDTH_IN,
                            bottom / height,
                            0.94 * cell / PAGE_WIDTH_IN,  # a hairline gap between thumbnails
                            cell / height,
                        )
                    )
                )
            _show(axes[0], strip.prototype)
            axes[0].set_xlabel(strip.label.replace(" · ", "\n"), fontsize=SMALL_FONT, labelpad=1)
            if s_index == 0:
                axes[0].set_ylabel(layer, fontsize=9)
            if r == 0:
                axes[0].set_title("prototype", fontsize=SMALL_FONT)
                if s_index < len(titles):
                    axes[1].set_title(titles[s_index], fontsize=8, loc="left")
            for ax, image, digit, colour in zip(
                axes[1:], strip.images, strip.digits, strip.colours, strict=True
            ):
                _show(ax, image)
                ax.set_xlabel(
                    f"{digit}\n{COLOUR_NAMES[int(colour)]}", fontsize=SMALL_FONT, labelpad=1
                )
    return fig


def _merged_layer_order(orders: Sequence[Sequence[str]]) -> list[str]:
    """One shallow-to-deep order for models of different depths: start from the deepest model's
    layers and put any other layer right after the layer that precedes it in its own model."""
    merged = list(max(orders, key=len, default=[]))
    for order in orders:
        for position, layer in enumerate(order):
            if layer not in merged:
                before = order[position - 1] if position else None
                merged.insert(merged.index(before) + 1 if before in merged else 0, layer)
    return merged


def selectivity_figure(
    shares: Mapping[str, Mapping[str, float]],
    scores: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray]]],
) -> Figure:
    """Left: share of colour-dominated channels per layer, one bar per model. Right: every
    channel's colour vs digit selectivity (eta^2), coloured by model."""
    fig, (ax_bar, ax_dot) = plt.subplots(
        1, 2, figsize=(PAGE_WIDTH_IN, 3.3), gridspec_kw={"width_ratios": [1.25, 1.0]}
    )
    layers = _merged_layer_order([list(per_layer) for per_layer in shares.values()])
    n = len(shares)
    width = 0.8 / max(n, 1)
    for k, (model, per_layer) in enumerate(shares.items()):
        xs = [layers.index(layer) + (k - (n - 1) / 2) * width for layer in per_layer]
        ax_bar.bar(xs, list(per_layer.values()), width, color=model_colour(model), label=model)
    ax_bar.axhline(0.5, color="black", linestyle=":", linewidth=1)
    ax_bar.set_xticks(range(len(layers)), labels=layers)
    ax_bar.set_ylim(0, 1.02)
    ax_bar.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax_bar.set_ylabel("colour-dominated channels")
    ax_bar.set_title("share per layer")
    ax_bar.legend(frameon=False, loc="upper left", bbox_to_anchor=(0.0, -0.12), ncols=2)
    # Models with fewer channels last, so their points are not buried under a wider model's.
    for model, per_layer in sorted(
        scores.items(), key=lambda item: -sum(len(p[0]) for p in item[1].values())
    ):
        colour = np.concatenate([pair[0] for pair in per_layer.values()])
        digit = np.concatenate([pair[1] for pair in per_layer.values()])
        ax_dot.scatter(digit, colour, s=9, alpha=0.6, color=model_colour(model), label=model)
    ax_dot.plot([0, 1], [0, 1], color="black", linestyle=":", linewidth=1)
    ax_dot.set_xlim(-0.02, 1.02)
    ax_dot.set_ylim(-0.02, 1.02)
    ax_dot.set_xlabel("digit selectivity (η²)")
    ax_dot.set_ylabel("colour selectivity (η²)")
    ax_dot.set_title("every channel (above the line: colour)")
    ax_dot.set_aspect("equal")
    fig.tight_layout()
    return fig


# --- T3 ---------------------------------------------------------------------------------------


@dataclass
class Cell:
    image: np.ndarray  # (C, H, W) in [0, 1]
    heat: np.ndarray | None = None  # (H, W) in [0, 1] drawn over the image; None: image only
    caption: str = ""
    caption_colour: str = "black"


def map_grid(
    cells: Sequence[Sequence[Cell]],
    row_labels: Sequence[str],
    column_titles: Sequence[str],
    title: str = "",
    colourbar_label: str | None = None,
) -> Figure:
    """A grid of images and heatmap overlays with captions: the Grad-CAM table, the IG and
    adversarial comparisons."""
    n_rows, n_cols = len(cells), max(len(row) for row in cells)
    cell_in = min(0.95, (PAGE_WIDTH_IN - 0.9) / n_cols)
    caption_lines = max(cell.caption.count("\n") + 1 for row in cells for cell in row)
    title_lines = max((t.count("\n") + 1 for t in column_titles), default=0)
    height = n_rows * (cell_in + 0.14 * caption_lines + 0.08) + 0.16 * title_lines + 0.2
    fig, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(PAGE_WIDTH_IN, height + (0.3 if title else 0.0)),
        squeeze=False,
        layout="constrained",
    )
    for r, row in enumerate(cells):
        for c in range(n_cols):
            ax = axes[r, c]
            if c >= len(row):
                ax.axis("off")
                continue
            cell = row[c]
            if cell.heat is None:
                _show(ax, cell.image)
            else:
                _overlay(ax, cell.image, cell.heat)
            ax.set_xlabel(cell.caption, fontsize=SMALL_FONT, labelpad=1, color=cell.caption_colour)
            if r == 0 and c < len(column_titles):
                ax.set_title(column_titles[c], fontsize=8)
        axes[r, 0].set_ylabel(row_labels[r], fontsize=8)
    if colourbar_label:
        mappable = plt.cm.ScalarMappable(cmap=HEATMAP, norm=plt.Normalize(0, 1))
        bar = fig.colorbar(mappable, ax=axes[:, -1].tolist(), fraction=0.04, pad=0.02)
        bar.set_label(colourbar_label, fontsize=8)
        bar.ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


VERDICT_COLOURS = {"correct": "#1a7f37", "used colour": "#c62828", "other error": "#8a6d00"}


def _ratio_range(
    arrays: Sequence[np.ndarray], pooled_values: Sequence[float]
) -> tuple[float, float]:
    """Log-axis limits from the finite positive ratios (1st..95th percentile), the pooled
    ratios and 1, so one model's heavy tail cannot flatten the others' boxes."""
    finite = np.concatenate([np.ones(0), *(a[np.isfinite(a) & (a > 0)] for a in arrays)])
    finite = finite if len(finite) else np.ones(1)  # nothing finite: an axis around 1
    shown = [v for v in pooled_values if v is not None and np.isfinite(v) and v > 0]
    top = 2.0 * max(float(np.percentile(finite, 95)), *shown, 1.0)
    bottom = 0.5 * min(float(np.percentile(finite, 1)), *shown, 1.0)
    return bottom, top


def _ratio_boxes(
    ax,
    ratios: Mapping[str, Mapping[str, np.ndarray]],
    pooled: Mapping[str, Mapping[str, float]],
    groups: Sequence[str],
    limits: tuple[float, float],
    per_seed: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
) -> None:
    """One panel: a box per (model, group), the pooled ratio as a white diamond, each seed's
    pooled ratio as a small black dot, and how many ratios lie beyond the top edge."""
    bottom, top = limits
    positions, data, colours, hatches, diamonds, beyond = [], [], [], [], [], []
    for m, (model, per_group) in enumerate(ratios.items()):
        for g, group in enumerate(groups):
            values = np.asarray(per_group[group], float)
            values = values[~np.isnan(values)]
            beyond.append(int((values > top).sum()))
            data.append(np.clip(values, bottom, top) if len(values) else np.ones(0))
            positions.append(m * (len(groups) + 1) + g)
            colours.append(model_colour(model))
            hatches.append("" if g == 0 else "///")
            diamonds.append(pooled[model][group])
    boxes = ax.boxplot(
        data,
        positions=positions,
        widths=0.7,
        patch_artist=True,
        showfliers=False,
        medianprops={"color": "black"},
    )
    for patch, colour, hatch in zip(boxes["boxes"], colours, hatches, strict=True):
        patch.set_facecolor((*colour, 0.55))
        patch.set_hatch(hatch)
    if per_seed:
        xs, ys = [], []
        for position, (model, group) in zip(
            positions, [(m, g) for m in ratios for g in groups], strict=True
        ):
            values = [v for v in per_seed[model][group] if np.isfinite(v)]
            xs += list(position + np.linspace(-0.18, 0.18, len(values)) * (len(values) > 1))
            ys += list(np.clip(values, bottom, top))
        ax.scatter(xs, ys, marker="o", s=9, color="black", zorder=4, label="one seed")
    ax.scatter(
        positions,
        np.clip(np.asarray(diamonds, float), bottom, top),
        marker="D",
        s=28,
        color="white",
        edgecolor="black",
        zorder=3,
        label="pooled ratio",
    )
    centres = [m * (len(groups) + 1) + (len(groups) - 1) / 2 for m in range(len(ratios))]
    ax.set_xticks(centres, labels=list(ratios))
    ax.axhline(1.0, color="black", linestyle=":", linewidth=1)
    for position, count, n in zip(positions, beyond, (len(d) for d in data), strict=True):
        if count:
            ax.annotate(
                f"{count}/{n}\nabove",
                (position, top),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=7,
            )
    ax.set_yscale("log")
    ax.set_ylim(bottom, top * 1.9)
    ax.grid(axis="y", alpha=0.3)


def _group_legend(ax, groups: Sequence[str]) -> None:
    handles = [
        Patch(facecolor="white", edgecolor="black", hatch="" if g == 0 else "///", label=group)
        for g, group in enumerate(groups)
    ]
    handles += [c for c in ax.collections if c.get_label() in ("pooled ratio", "one seed")]
    ax.legend(handles=handles, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def ratio_distributions(
    ratios: Mapping[str, Mapping[str, np.ndarray]],
    pooled: Mapping[str, Mapping[str, float]],
    groups: Sequence[str] = ("aligned", "conflicting"),
) -> Figure:
    """Background/stroke ratio per image: a box (quartiles, whiskers at 1.5 IQR, outliers not
    drawn) per (model, group) on a log axis (ratios are multiplicative: 0.5 and 2 sit equally far
    from 1), with the group's pooled ratio as a white diamond. Maps with nothing on the stroke
    (ratio +inf) and ratios beyond the axis are drawn at its top edge, and each box is labelled
    with how many images that is, so one model's heavy tail cannot flatten the others' boxes."""
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN * 0.8, 3.1))
    arrays = [np.asarray(per[g], float) for per in ratios.values() for g in groups]
    limits = _ratio_range(arrays, [v for per in pooled.values() for v in per.values()])
    _ratio_boxes(ax, ratios, pooled, groups, limits)
    ax.set_ylabel("background / stroke attention (log)")
    _group_legend(ax, groups)
    fig.tight_layout()
    return fig


def ratio_panels(
    panels: Mapping[str, Mapping[str, object]],
    groups: Sequence[str] = ("aligned", "conflicting"),
) -> Figure:
    """:func:`ratio_distributions` side by side, one panel per backbone, on one shared log
    axis: ``panels[backbone]`` holds ``title``, ``ratios[model][group]`` (per-image ratios,
    every seed's images together), ``pooled[model][group]`` (the seed-pooled ratio, a diamond)
    and ``per_seed[model][group]`` (each seed's pooled ratio, a dot). Models are only compared
    within a panel."""
    arrays = [
        np.asarray(per[g], float)
        for panel in panels.values()
        for per in panel["ratios"].values()
        for g in groups
    ]
    pooled_values = [
        v
        for panel in panels.values()
        for per in list(panel["pooled"].values()) + list(panel["per_seed"].values())
        for values in per.values()
        for v in np.atleast_1d(values)
    ]
    limits = _ratio_range(arrays, pooled_values)
    fig, axes = plt.subplots(
        1, max(len(panels), 1), figsize=(PAGE_WIDTH_IN, 3.2), sharey=True, squeeze=False
    )
    for ax, panel in zip(axes[0], panels.values(), strict=False):
        _ratio_boxes(ax, panel["ratios"], panel["pooled"], groups, limits, panel["per_seed"])
        ax.set_title(str(panel["title"]), fontsize=9)
    axes[0, 0].set_ylabel("background / stroke attention (log)")
    _group_legend(axes[0, -1], groups)
    fig.tight_layout()
    return fig
