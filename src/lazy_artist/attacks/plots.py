"""Figures of the adversarial-robustness task (T5), sized for a PDF page like every figure.

Each function shows only the numbers and images it is given; every per-model line or bar takes
its method's colour (:func:`method_colour`, i.e. :func:`lazy_artist.methods.figures.model_colour` of the
method), so a method has one colour throughout the report and matched panels of different
backbones read alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import (
    FixedFormatter,
    FixedLocator,
    FormatStrFormatter,
    NullFormatter,
    PercentFormatter,
)

from lazy_artist.methods.figures import model_colour
from lazy_artist.plots import PAGE_WIDTH_IN, plt

_NAME_END = re.compile(r"[@#: ]")

# Readable ticks for log-scaled epsilon axes (plain decimals, not powers of ten).
NICE_EPSILONS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def _log_ticks(axis, low: float, high: float) -> None:
    ticks = [t for t in NICE_EPSILONS if low <= t <= high]
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FormatStrFormatter("%g"))
    axis.set_minor_formatter(NullFormatter())


def _epsilon_axis(ax, epsilons: Sequence[float], report_epsilon: float | None) -> None:
    positive = [e for e in epsilons if e > 0]
    low, high = min(positive) * 0.8, max(positive) * 1.25
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    _log_ticks(ax.xaxis, low, high)
    ax.set_xlabel("epsilon (L-inf, pixels in [0, 1])")
    if report_epsilon is not None:
        ax.axvline(report_epsilon, color="0.4", linestyle=":", linewidth=1)
    ax.grid(alpha=0.3, which="both")


def _share_axis(ax, label: str) -> None:
    ax.set_ylim(-0.03, 1.03)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel(label)


def method_colour(label: str) -> tuple[float, float, float]:
    """One colour per method, whatever the backbone, seed or rule in the label
    (``cf_invar@cheater_cnn#1`` -> cf_invar's colour), so matched panels read alike."""
    return model_colour(_NAME_END.split(label, maxsplit=1)[0])


def _panel_grid(rows: int, columns: int, height: float) -> tuple[Figure, np.ndarray]:
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(PAGE_WIDTH_IN, height * rows + 0.6),
        sharey=True,
        squeeze=False,
    )
    return fig, axes


# Cross-model reference rows (the gray oracle): one neutral dotted style in every panel.
EXTRA_STYLE = {"color": "0.45", "linestyle": ":", "linewidth": 1.2}


def backbone_success_curves(
    epsilons: Sequence[float],
    pooled: Mapping[str, Mapping[str, object]],
    panels: Mapping[str, Sequence[str]],
    extras: Sequence[str],
    report_epsilon: float,
    goal: str,
) -> Figure:
    """One column per backbone (its groups, e.g. ERM and the best debiasing method; the
    ``extras`` in every column, dotted gray, as cross-model references). Top: success of
    fixed-budget PGD (solid) and FGSM (dashed), mean over seeds. Bottom: share of samples
    (pooled over seeds) whose minimum epsilon is at most epsilon."""
    fig, axes = _panel_grid(2, len(panels), 2.6)
    for column, (backbone, names) in enumerate(panels.items()):
        top, bottom = axes[0, column], axes[1, column]
        for group in [*names, *extras]:
            curves = pooled[group]
            style = (
                EXTRA_STYLE
                if group in extras
                else {"color": method_colour(group), "linewidth": 1.5}
            )
            label = f"{group} ({curves['seeds']} seed{'s' if curves['seeds'] != 1 else ''})"
            top.plot(
                epsilons, curves["pgd_success"], marker="o", markersize=3, label=label, **style
            )
            if group not in extras:
                top.plot(
                    epsilons,
                    curves["fgsm_success"],
                    linestyle="--",
                    linewidth=1,
                    color=style["color"],
                )
            found = np.sort(np.asarray(curves["min_epsilon"], dtype=float))
            shares = np.arange(1, len(found) + 1) / max(len(found), 1)
            finite = np.isfinite(found)
            bottom.step(found[finite], shares[finite], where="post", **style)
        top.set_title(f"{backbone}: fixed budget", fontsize=9)
        bottom.set_title(f"{backbone}: minimum epsilon per sample", fontsize=9)
        for ax in (top, bottom):
            _epsilon_axis(ax, epsilons, report_epsilon)
        top.legend(fontsize=7, loc="upper left", frameon=False)
    _share_axis(axes[0, 0], f"share with {goal}")
    _share_axis(axes[1, 0], "share broken at <= epsilon")
    fig.tight_layout()
    return fig


def backbone_untargeted_curves(
    epsilons: Sequence[float],
    pooled: Mapping[str, Mapping[str, object]],
    panels: Mapping[str, Sequence[str]],
    extras: Sequence[str],
) -> Figure:
    """One row per backbone: accuracy under untargeted FGSM (left) and PGD (right) against
    epsilon, mean over seeds; extras dotted gray."""
    fig, axes = _panel_grid(len(panels), 2, 2.3)
    for row, (backbone, names) in enumerate(panels.items()):
        for group in [*names, *extras]:
            curves = pooled[group]
            style = (
                EXTRA_STYLE
                if group in extras
                else {"color": method_colour(group), "linewidth": 1.5}
            )
            axes[row, 0].plot(
                epsilons, curves["fgsm_untargeted"], marker="o", markersize=3, label=group, **style
            )
            axes[row, 1].plot(
                epsilons,
                curves["pgd_untargeted"],
                marker="o",
                markersize=3,
                label=f"{group} ({curves['seeds']} seed{'s' if curves['seeds'] != 1 else ''})",
                **style,
            )
        axes[row, 0].set_title(f"{backbone}: FGSM (one step)", fontsize=9)
        axes[row, 1].set_title(f"{backbone}: PGD", fontsize=9)
        for ax in axes[row]:
            ax.set_xlabel("epsilon (L-inf)")
            ax.grid(alpha=0.3)
        axes[row, 1].legend(fontsize=7, frameon=False, loc="best")
        _share_axis(axes[row, 0], "accuracy under attack")
    fig.tight_layout()
    return fig


def paired_min_epsilon(
    panels: Mapping[str, tuple[Sequence[np.ndarray], Sequence[np.ndarray], Sequence[int], str]],
    censor_at: float,
    report_epsilon: float,
) -> Figure:
    """Per backbone, every image's minimum epsilon on the reference (x) against the candidate
    (y), one colour per seed; above the diagonal the candidate is harder to attack. Unbroken
    samples sit on the censoring line. ``panels``: backbone -> (reference arrays per seed,
    candidate arrays per seed, seeds, title)."""
    fig, axes = plt.subplots(
        1, len(panels), figsize=(PAGE_WIDTH_IN, 3.3), squeeze=False, layout="constrained"
    )
    seed_colours = plt.get_cmap("tab10")
    for ax, (backbone, (reference, candidate, seeds, title)) in zip(
        axes[0], panels.items(), strict=True
    ):
        values = np.concatenate([*reference, *candidate]).astype(float)
        low = min(float(np.min(values[np.isfinite(values)], initial=censor_at)), report_epsilon)
        low *= 0.7
        for k, (ref, cand, seed) in enumerate(zip(reference, candidate, seeds, strict=True)):
            x = np.where(np.isfinite(ref), ref, censor_at)
            y = np.where(np.isfinite(cand), cand, censor_at)
            ax.scatter(x, y, s=9, alpha=0.6, color=seed_colours(k % 10), label=f"seed {seed}")
        ax.plot([low, censor_at * 1.2], [low, censor_at * 1.2], color="0.3", linewidth=0.8)
        ax.axhline(censor_at, color="0.6", linestyle="--", linewidth=0.8)
        ax.axvline(censor_at, color="0.6", linestyle="--", linewidth=0.8)
        ax.axhline(report_epsilon, color="0.4", linestyle=":", linewidth=0.8)
        ax.axvline(report_epsilon, color="0.4", linestyle=":", linewidth=0.8)
        for axis_setter in (ax.set_xscale, ax.set_yscale):
            axis_setter("log")
        ax.set_xlim(low, censor_at * 1.2)
        ax.set_ylim(low, censor_at * 1.2)
        ticks = [t for t in NICE_EPSILONS if low <= t < censor_at] + [censor_at]
        labels = [f"{t:g}" for t in ticks[:-1]] + ["unbroken"]
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(FixedLocator(ticks))
            axis.set_major_formatter(FixedFormatter(labels))
            axis.set_minor_formatter(NullFormatter())
        ax.set_title(title, fontsize=8)
        ax.set_xlabel(f"{backbone}: reference (ERM) minimum epsilon", fontsize=8)
        ax.set_ylabel("candidate minimum epsilon", fontsize=8)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    return fig


def min_epsilon_distribution(
    min_epsilons: Mapping[str, np.ndarray], report_epsilon: float
) -> Figure:
    """Box plot plus every sample's minimum epsilon per model (log scale); a model with unbroken
    samples gets a triangle at the top and their count under its name."""
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN, 3.6))
    names = list(min_epsilons)
    labels = list(names)
    finite_max = max(
        (float(np.max(v[np.isfinite(v)])) for v in min_epsilons.values() if np.isfinite(v).any()),
        default=1.0,
    )
    rng = np.random.default_rng(0)  # horizontal jitter only
    for position, name in enumerate(names):
        values = np.asarray(min_epsilons[name], dtype=float)
        finite = values[np.isfinite(values)]
        colour = method_colour(name)
        if len(finite):
            ax.boxplot(
                finite,
                positions=[position],
                widths=0.5,
                showfliers=False,
                medianprops={"color": "black"},
            )
            jitter = rng.uniform(-0.15, 0.15, len(finite))
            ax.scatter(position + jitter, finite, s=8, color=colour, alpha=0.7, zorder=3)
        n_inf = int((~np.isfinite(values)).sum())
        if n_inf:
            ax.scatter([position], [finite_max * 1.5], marker="^", color=colour, zorder=3)
            labels[position] = f"{name}\n({n_inf} unbroken)"
    ax.axhline(report_epsilon, color="0.4", linestyle=":", linewidth=1)
    ax.set_yscale("log")
    low, high = ax.get_ylim()
    _log_ticks(ax.yaxis, low, high)
    ax.set_xticks(range(len(names)), labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("minimum epsilon")
    ax.grid(alpha=0.3, axis="y", which="both")
    fig.tight_layout()
    return fig


def transfer_heatmaps(
    names: Sequence[str], success: np.ndarray, accuracy: np.ndarray, goal: str
) -> Figure:
    """Rows: model the examples were made on; columns: model scoring them."""
    size = max(2.6, 0.75 * len(names) + 1.2)
    fig, axes = plt.subplots(1, 2, figsize=(PAGE_WIDTH_IN, size), layout="constrained", sharey=True)
    for ax, values, title, cmap in (
        (axes[0], success, goal, "Reds"),
        (axes[1], accuracy, "still read as the true digit", "Greens"),
    ):
        image = ax.imshow(values, cmap=cmap, vmin=0, vmax=1)
        for (row, col), value in np.ndenumerate(values):
            shade = image.cmap(image.norm(value))
            light = 0.299 * shade[0] + 0.587 * shade[1] + 0.114 * shade[2] > 0.5
            ax.text(
                col,
                row,
                f"{value:.0%}",
                ha="center",
                va="center",
                fontsize=9,
                color="black" if light else "white",
            )
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
        ax.set_yticks(range(len(names)), names)
        ax.set_xlabel("scored on")
        ax.set_title(title)
    axes[0].set_ylabel("made on")
    return fig


def _show(ax, image: np.ndarray, title: str = "") -> None:
    picture = np.asarray(image, dtype=float)
    if picture.shape[0] == 1:
        ax.imshow(picture[0], cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(picture.transpose(1, 2, 0).clip(0, 1))
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8, pad=2)


def amplified(delta: np.ndarray) -> np.ndarray:
    """A perturbation made visible: 0.5 + delta / (2 max|delta|), so gray = unchanged."""
    scale = float(np.abs(delta).max())
    return 0.5 + delta / (2.0 * scale) if scale > 0 else np.full_like(delta, 0.5)


def perturbation_pictures(
    panels: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    samples: int,
    target_name: str,
) -> Figure:
    """``panels``: (model, originals (k, C, H, W), adversarials, per-sample epsilons (k,),
    per-sample target probabilities (k,)) per model. One row per model (named on the left);
    each sample gets three columns: original, amplified perturbation, adversarial. A sample
    no budget broke shows its original and "not broken"."""
    fig, axes = plt.subplots(
        len(panels),
        3 * samples,
        figsize=(PAGE_WIDTH_IN, 1.05 * len(panels) + 0.5),
        squeeze=False,
    )
    for row, (name, originals, adversarials, epsilons, probabilities) in enumerate(panels):
        for k in range(samples):
            cells = axes[row, 3 * k : 3 * k + 3]
            if k >= len(originals):
                for ax in cells:
                    ax.axis("off")
                continue
            _show(cells[0], originals[k])
            if not np.isfinite(epsilons[k]):
                for ax in cells[1:]:
                    ax.axis("off")
                note = cells[1].text(
                    1.0,
                    0.5,
                    "not broken\nat any budget",
                    ha="center",
                    va="center",
                    fontsize=7,
                    transform=cells[1].transAxes,
                )
                note.set_in_layout(False)  # text must not squeeze the pictures
                continue
            _show(cells[1], amplified(adversarials[k] - originals[k]), f"eps {epsilons[k]:.3f}")
            _show(cells[2], adversarials[k], f"P({target_name}) {probabilities[k]:.2f}")
        axes[row, 0].axis("on")
        axes[row, 0].set_xticks([])
        axes[row, 0].set_yticks([])
        axes[row, 0].set_ylabel(stacked_label(name), fontsize=7)
    for k in range(samples):
        for offset, label in enumerate(("original", "perturbation", "adversarial")):
            axes[-1, 3 * k + offset].set_xlabel(label, fontsize=7)
    fig.tight_layout(pad=0.3, h_pad=0.4, w_pad=0.2)
    return fig


def visible_attack(
    rows: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]], target_name: str
) -> Figure:
    """``rows``: (model, originals (k, C, H, W), adversarials, target probabilities (k,)). Each
    model's row alternates original and adversarial for k samples."""
    k = max(len(row[1]) for row in rows)
    fig, axes = plt.subplots(
        len(rows), 2 * k, figsize=(PAGE_WIDTH_IN, 1.2 * len(rows) + 0.3), squeeze=False
    )
    for r, (name, originals, adversarials, probabilities) in enumerate(rows):
        for s in range(k):
            if s >= len(originals):
                axes[r, 2 * s].axis("off")
                axes[r, 2 * s + 1].axis("off")
                continue
            _show(axes[r, 2 * s], originals[s], "original")
            _show(axes[r, 2 * s + 1], adversarials[s], f"P({target_name}) {probabilities[s]:.2f}")
        axes[r, 0].set_ylabel(stacked_label(name), fontsize=8)
    fig.tight_layout(pad=0.3, h_pad=0.5, w_pad=0.2)
    return fig


def stacked_label(name: str) -> str:
    """``method@backbone`` on two lines: a row label must fit the row's height (at 1.2 in a row,
    ``colour_aug@cheater_cnn`` on one line ran into the next row's label)."""
    return name.replace("@", "\n@", 1)
