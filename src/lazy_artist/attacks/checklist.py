"""T5's robustness-evaluation checklist (Carlini et al. 2019, "On Evaluating Adversarial
Robustness"): the checks beyond the basic sanity ones, and the checklist table.

- **loss choice**: the targeted search runs with the cross-entropy and the Carlini-Wagner
  margin; each sample's minimum epsilon is the lower of the two. If the second loss lowers the
  median by more than a tolerance, a single loss was not enough and a third might find more.
- **many restarts**: at the report's epsilon, ``restart_factor`` x the restarts on a
  subsample; the success rate must not rise by more than a tolerance declared beforehand.
- **gradient-free attack**: Square Attack (:mod:`lazy_artist.attacks.square`) at the report's
  epsilon on the same subsample; any sample it breaks where PGD failed flags gradient masking.
- **transfer vs white box**: on every target model the white-box attack must succeed at least
  as often as examples transferred from any other model (else the white-box gradient misleads).
- **convergence**: the strength check at a bounded number of budget doublings
  (:mod:`lazy_artist.attacks.battery`); a model none of them agrees on is "not converged".

Each check returns a :class:`lazy_artist.attacks.sanity.SanityCheck` with a short figure and
threshold; :func:`checklist_rows` folds the per-model checks into one row per item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lazy_artist.attacks.sanity import SanityCheck


def _median(values: np.ndarray) -> float:
    return float(np.quantile(np.asarray(values, dtype=float), 0.5, method="inverted_cdf"))


def loss_choice_agrees(
    per_loss: Mapping[str, np.ndarray],
    wins: Mapping[str, int],
    primary: str,
    tolerance: float,
    below: Sequence[str] = (),
) -> SanityCheck:
    """The per-sample lowest of all losses must not lower the primary loss's median minimum
    epsilon by more than ``tolerance`` (relative). ``below``: losses asked only at and below
    the primary's minima (what they found there, not minima of their own: no median shown)."""
    if primary not in per_loss:
        raise ValueError(f"primary loss {primary!r} is not among {list(per_loss)}")
    lowest = np.min(np.stack([np.asarray(v, dtype=float) for v in per_loss.values()]), axis=0)
    base, joined = _median(per_loss[primary]), _median(lowest)
    threshold = f"median drop <= {tolerance:.0%}"
    won = ", ".join(f"{loss} lower on {count}" for loss, count in wins.items())
    if not np.isfinite(base):
        passed = not np.isfinite(joined)
        return SanityCheck(
            passed,
            f"{primary} broke fewer than half the samples"
            + ("" if passed else f"; the lowest of all losses has median {joined:.4f}")
            + f" ({won})",
            None,
            f"{primary} median unbroken; {won}",
            threshold,
        )
    drop = (base - joined) / base if base > 0 else 0.0
    medians = ", ".join(
        f"{loss} {_median(v):.4f}" for loss, v in per_loss.items() if loss not in below
    )
    if below:
        medians += f" ({', '.join(below)} asked at and below it)"
    return SanityCheck(
        drop <= tolerance,
        f"median minimum epsilon {medians}; lowest per sample {joined:.4f} ({-drop:+.1%} vs "
        f"{primary}; at most {tolerance:.0%} allowed); {won}",
        float(drop),
        f"{base:.4f} -> {joined:.4f} ({-drop:+.1%}); {won}",
        threshold,
    )


def many_restarts_agree(
    base_success: np.ndarray,
    many_success: np.ndarray,
    tolerance: float,
    restarts: int,
    many_restarts: int,
    epsilon: float,
) -> SanityCheck:
    """Success at ``epsilon`` with ``many_restarts`` must not exceed the base attack's (same
    samples) by more than ``tolerance`` (absolute share)."""
    base, many = np.asarray(base_success, bool), np.asarray(many_success, bool)
    if base.shape != many.shape or base.size == 0:
        raise ValueError("many_restarts_agree needs the same, non-empty samples for both")
    rise = float(many.mean() - base.mean())
    return SanityCheck(
        rise <= tolerance,
        f"success at epsilon {epsilon:g} on {base.size} samples: {base.mean():.0%} with "
        f"{restarts} restarts, {many.mean():.0%} with {many_restarts} (rise {rise:+.1%}; at "
        f"most {tolerance:.0%} allowed)",
        rise,
        f"{base.mean():.0%} -> {many.mean():.0%} ({many_restarts} restarts)",
        f"rise <= {tolerance:.0%}",
    )


def no_gradient_masking(
    pgd_success: np.ndarray, square_success: np.ndarray, queries: int, epsilon: float
) -> SanityCheck:
    """Fails when the gradient-free attack breaks any sample PGD did not (same budget)."""
    pgd_ok, square_ok = np.asarray(pgd_success, bool), np.asarray(square_success, bool)
    if pgd_ok.shape != square_ok.shape or pgd_ok.size == 0:
        raise ValueError("no_gradient_masking needs the same, non-empty samples for both")
    only = int((square_ok & ~pgd_ok).sum())
    return SanityCheck(
        only == 0,
        f"at epsilon {epsilon:g} on {pgd_ok.size} samples: Square Attack ({queries} queries) "
        f"{square_ok.mean():.0%}, PGD {pgd_ok.mean():.0%}; broken by Square only: {only}"
        + (" (gradient masking)" if only else ""),
        float(only),
        f"Square {square_ok.mean():.0%} vs PGD {pgd_ok.mean():.0%}, Square only {only}",
        "Square only = 0",
    )


def white_box_beats_transfer(
    names: Sequence[str], success: np.ndarray, tolerance: float = 1e-9
) -> dict[str, SanityCheck]:
    """Per target model (column of the transfer matrix; rows: the model the examples were made
    on): the white-box success (diagonal) must be >= every transferred success."""
    matrix = np.asarray(success, dtype=float)
    if matrix.shape != (len(names), len(names)):
        raise ValueError(f"transfer matrix of shape {matrix.shape} for {len(names)} models")
    checks = {}
    for j, target in enumerate(names):
        others = [i for i in range(len(names)) if i != j]
        if not others:
            continue
        best = max(others, key=lambda i: matrix[i, j])
        gap = float(matrix[best, j] - matrix[j, j])
        checks[target] = SanityCheck(
            gap <= tolerance,
            f"white box {matrix[j, j]:.0%}; best transfer {matrix[best, j]:.0%} "
            f"(from {names[best]})",
            gap,
            f"white {matrix[j, j]:.0%} vs transfer {matrix[best, j]:.0%} ({names[best]})",
            "white box >= every transfer",
        )
    return checks


def converged_levels(levels: Sequence[Mapping[str, Any]], factor: int) -> SanityCheck:
    """The strength check over the budget doublings the battery tried (each level's record:
    steps, restarts, median_base, median_stronger, passed): held if one of them agreed."""
    if not levels:
        raise ValueError("no strength level was run")
    held = [level for level in levels if level["passed"]]
    last = held[0] if held else levels[-1]
    text = "; ".join(
        f"{lv['steps']} steps x {lv['restarts']} restarts: {_eps(lv['median_base'])} -> "
        f"{_eps(lv['median_stronger'])} with {factor}x ({'agrees' if lv['passed'] else 'drops'})"
        for lv in levels
    )
    figure = (
        f"converged at {last['steps']}x{last['restarts']}"
        if held
        else f"not converged by {last['steps'] * factor}x{last['restarts'] * factor}"
    )
    return SanityCheck(
        bool(held),
        text,
        float(len(levels)),
        figure,
        f"{factor}x budget agrees within {len(levels)} level(s)",
    )


def _eps(value: float | None) -> str:
    return "unbroken" if value is None or not np.isfinite(value) else f"{value:.4f}"


CHECKLIST_COLUMNS = [
    "item",
    "models held",
    "figure (first failure, else first model)",
    "threshold",
    "verdict",
]


def checklist_rows(checks: Mapping[str, SanityCheck]) -> tuple[list[str], list[list[Any]]]:
    """One row per item from flat ``"<item> [<model>]"`` checks: how many models hold it, the
    figure of the first model that fails it (else of the first model), its threshold, and
    "held" or "failed (models)"."""
    items: dict[str, list[tuple[str, SanityCheck]]] = {}
    for title, check in checks.items():
        item, _, model = title.rpartition(" [")
        if not item:
            item, model = title, ""
        items.setdefault(item, []).append((model.rstrip("]"), check))
    rows = []
    for item, entries in items.items():
        failed = [(model, check) for model, check in entries if not check.passed]
        model, shown = failed[0] if failed else entries[0]
        figure = shown.figure or shown.detail
        rows.append(
            [
                item,
                f"{len(entries) - len(failed)}/{len(entries)}",
                f"{figure} ({model})" if model else figure,
                shown.threshold,
                "held" if not failed else "failed: " + ", ".join(m or item for m, _ in failed),
            ]
        )
    return list(CHECKLIST_COLUMNS), rows


def all_converged(models: Sequence[str], converged: Mapping[str, bool | None]) -> bool:
    """True only when every one of ``models`` was checked and converged (unchecked: False)."""
    return bool(models) and all(converged.get(name) is True for name in models)
