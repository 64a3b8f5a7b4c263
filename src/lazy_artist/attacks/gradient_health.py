"""Gradient health along the attack path: the input-gradient norms PGD actually stepped with.

A sign step with an all-zero (or vanishing) gradient does not move: a model whose gradient
vanishes on the way (saturated softmax, dead ReLUs, a quantising input layer) looks robust to
PGD without being robust. Clean inputs almost never have an exactly zero gradient, so the
check reads every iterate of the search instead: the share of steps whose gradient's L1 norm
is ~zero (at most ``zero_norm``) and the median norm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lazy_artist.attacks.sanity import SanityCheck


class GradientNorms:
    """A :data:`lazy_artist.attacks.pgd.GradientCallback` that keeps the L1 norm of every
    per-sample input gradient it is shown."""

    def __init__(self) -> None:
        self._norms: list[np.ndarray] = []

    def __call__(self, restart: int, step: int, idx: torch.Tensor, grad: torch.Tensor) -> None:
        self._norms.append(grad.detach().flatten(1).abs().sum(dim=1).double().cpu().numpy())

    def values(self) -> np.ndarray:
        return np.concatenate(self._norms) if self._norms else np.zeros(0)


@dataclass(frozen=True)
class GradientHealth:
    n_steps: int
    zero_share: float  # share of steps with norm <= zero_norm (NaN without steps)
    median: float
    q10: float
    q90: float
    zero_norm: float

    def record(self) -> dict[str, float | int]:
        return {
            "n_steps": self.n_steps,
            "zero_share": self.zero_share,
            "median_norm": self.median,
            "q10_norm": self.q10,
            "q90_norm": self.q90,
            "zero_norm": self.zero_norm,
        }


def gradient_health(norms: np.ndarray, zero_norm: float) -> GradientHealth:
    """Summary of the norms of one model's attack path."""
    norms = np.asarray(norms, dtype=np.float64)
    if zero_norm < 0:
        raise ValueError(f"zero_norm must be >= 0, got {zero_norm!r}")
    if not len(norms):
        return GradientHealth(0, float("nan"), float("nan"), float("nan"), float("nan"), zero_norm)
    q10, median, q90 = np.quantile(norms, [0.1, 0.5, 0.9])
    return GradientHealth(
        len(norms), float((norms <= zero_norm).mean()), float(median), float(q10), float(q90),
        zero_norm,
    )  # fmt: skip


def healthy_gradients(health: GradientHealth, max_zero_share: float) -> SanityCheck:
    """Fails when more than ``max_zero_share`` of the steps had a ~zero gradient, or when no
    step was taken at all (nothing to judge: no pass unearned)."""
    threshold = f"<= {max_zero_share:.0%} of steps with norm <= {health.zero_norm:g}"
    if health.n_steps == 0:
        return SanityCheck(False, "no PGD step was taken", None, "no steps", threshold)
    figure = f"{health.zero_share:.1%} ~zero, median {health.median:.3g}"
    return SanityCheck(
        health.zero_share <= max_zero_share,
        f"{health.zero_share:.1%} of {health.n_steps} PGD steps had an input-gradient L1 norm "
        f"<= {health.zero_norm:g} (allowed {max_zero_share:.0%}); median norm "
        f"{health.median:.3g} [10%: {health.q10:.3g}, 90%: {health.q90:.3g}]",
        health.zero_share,
        figure,
        threshold,
    )
