"""Figures of the adversarial-robustness task (T5), sized for a PDF page like every figure.

Each function shows only the numbers and images it is given; every per-model line or bar uses
:func:`lazy_artist.plots.model_colour` so a model has one colour throughout the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullFormatter, PercentFormatter

from lazy_artist.plots import PAGE_WIDTH_IN, model_colour, plt

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


def _legend_below(fig: Figure, axes, ncols: int) -> None:
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=ncols, frameon=False)


def targeted_success_curves(
    epsilons: Sequence[float],
    pgd_success: Mapping[str, Sequence[float]],
    fgsm_success: Mapping[str, Sequence[float]],
    min_epsilons: Mapping[str, np.ndarray],
    report_epsilon: float,
    goal: str,
) -> Figure:
    """Left: success of fixed-budget PGD (solid) and FGSM (dashed) per epsilon. Right: share of
    samples whose minimum epsilon is at most epsilon (from the bisection search)."""
    fig, axes = plt.subplots(1, 2, figsize=(PAGE_WIDTH_IN, 3.4), sharey=True)
    for name, rates in pgd_success.items():
        colour = model_colour(name)
        axes[0].plot(epsilons, rates, marker="o", markersize=3, color=colour, label=name)
        axes[0].plot(epsilons, fgsm_success[name], linestyle="--", linewidth=1, color=colour)
        found = np.sort(np.asarray(min_epsilons[name], dtype=float))
        shares = np.arange(1, len(found) + 1) / max(len(found), 1)
        finite = np.isfinite(found)
        axes[1].step(found[finite], shares[finite], where="post", color=colour, label=name)
    axes[0].set_title("fixed budget: PGD (solid), FGSM (dashed)")
    axes[1].set_title("minimum epsilon per sample (search)")
    for ax in axes:
        _epsilon_axis(ax, epsilons, report_epsilon)
    _share_axis(axes[0], f"share with {goal}")
    _legend_below(fig, axes, ncols=min(len(pgd_success), 4))
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def untargeted_accuracy_curves(
    epsilons: Sequence[float],
    fgsm_accuracy: Mapping[str, Sequence[float]],
    pgd_accuracy: Mapping[str, Sequence[float]],
) -> Figure:
    """Accuracy under untargeted FGSM (left) and PGD (right) against epsilon, per model."""
    fig, axes = plt.subplots(1, 2, figsize=(PAGE_WIDTH_IN, 3.2), sharey=True)
    for ax, curves, title in (
        (axes[0], fgsm_accuracy, "FGSM (one step)"),
        (axes[1], pgd_accuracy, "PGD"),
    ):
        for name, values in curves.items():
            ax.plot(
                epsilons, values, marker="o", markersize=3, color=model_colour(name), label=name
            )
        ax.set_title(title)
        ax.set_xlabel("epsilon (L-inf)")
        ax.grid(alpha=0.3)
    _share_axis(axes[0], "accuracy under attack")
    _legend_below(fig, axes, ncols=min(len(fgsm_accuracy), 4))
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def min_epsilon_distribution(
    min_epsilons: Mapping[str, np.ndarray], report_epsilon: float
) -> Figure:
    """Box plot plus every sample's minimum epsilon per model (log scale); a model with unbroken
    samples gets a triangle at the top and their count under its name."""
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN * 0.75, 3.2))
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
        colour = model_colour(name)
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
    ax.set_xticks(range(len(names)), labels)
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
    panels: Sequence[tuple[str, np.ndarray, np.ndarray, float, float]],
    samples: int,
    target_name: str,
) -> Figure:
    """``panels``: (model, originals (k, C, H, W), adversarials, per-sample epsilons (k,),
    per-sample target probabilities (k,)) per model. Rows are samples; each model gets three
    columns: original, amplified perturbation, adversarial."""
    models = len(panels)
    fig, axes = plt.subplots(
        samples, 3 * models, figsize=(PAGE_WIDTH_IN, 1.25 * samples + 0.5), squeeze=False
    )
    for m, (name, originals, adversarials, epsilons, probabilities) in enumerate(panels):
        for row in range(samples):
            base = 3 * m
            if row >= len(originals) or not np.isfinite(epsilons[row]):
                for col in range(3):
                    axes[row, base + col].axis("off")
                if row < len(originals):
                    axes[row, base + 1].text(
                        0.5,
                        0.5,
                        f"{name}:\nnot broken\nat any budget",
                        ha="center",
                        va="center",
                        fontsize=8,
                        transform=axes[row, base + 1].transAxes,
                    )
                continue
            delta = adversarials[row] - originals[row]
            _show(axes[row, base], originals[row], f"{name}" if row == 0 else "")
            _show(axes[row, base + 1], amplified(delta), f"eps {epsilons[row]:.3f}")
            _show(
                axes[row, base + 2],
                adversarials[row],
                f"P({target_name}) {probabilities[row]:.2f}",
            )
    for m in range(models):
        axes[-1, 3 * m].set_xlabel("original", fontsize=8)
        axes[-1, 3 * m + 1].set_xlabel("perturbation", fontsize=8)
        axes[-1, 3 * m + 2].set_xlabel("adversarial", fontsize=8)
    fig.tight_layout(pad=0.3, h_pad=0.6, w_pad=0.3)
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
        axes[r, 0].set_ylabel(name, fontsize=9)
    fig.tight_layout(pad=0.3, h_pad=0.5, w_pad=0.2)
    return fig
