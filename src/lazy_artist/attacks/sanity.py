"""Attack sanity checks: evidence that an attack was strong enough for its table to mean anything.

A weak attack (too few steps, a masked gradient, a bad step size) makes a model *look* robust.
Each function returns a :class:`SanityCheck` (passed + the computed evidence as text), which the
T5 notebook records as a report check (Carlini et al. 2019, "On evaluating adversarial
robustness", lists these as basic tests):

- success never falls as epsilon grows (a larger ball contains the smaller one);
- PGD is at least as strong as FGSM at every epsilon (PGD's first step could be FGSM's);
- at a budget that allows any image, success is total;
- doubling steps and restarts does not find materially smaller minimum epsilons;
- the attack loss has a non-zero input gradient (no gradient masking).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lazy_artist.attacks.pgd import OBJECTIVES


@dataclass(frozen=True)
class SanityCheck:
    passed: bool
    detail: str
    value: float | None = None
    figure: str = ""  # the evidence in a few words (the checklist table's "figure" column)
    threshold: str = ""  # what it had to meet, in a few words


def combine(*checks: SanityCheck, figure: str = "", threshold: str = "") -> SanityCheck:
    """All of ``checks`` must pass; their evidence is joined."""
    return SanityCheck(
        all(c.passed for c in checks),
        "; ".join(c.detail for c in checks),
        None,
        figure or "; ".join(c.figure for c in checks if c.figure),
        threshold or "; ".join(c.threshold for c in checks if c.threshold),
    )


def _largest_step(
    epsilons: Sequence[float], values: Sequence[float], sign: float
) -> tuple[float, str]:
    """Largest move of ``values`` against the expected direction between neighbouring epsilons."""
    values = np.asarray(values, dtype=float)
    moves = sign * (values[:-1] - values[1:])
    if not len(moves) or moves.max() <= 0:
        return 0.0, ""
    k = int(np.argmax(moves))
    return float(moves[k]), f" between epsilon {epsilons[k]:g} and {epsilons[k + 1]:g}"


def never_falls(
    epsilons: Sequence[float], rates: Sequence[float], what: str = "success", tolerance: float = 0.0
) -> SanityCheck:
    """``rates`` (e.g. attack success) must be non-decreasing in epsilon, up to ``tolerance``."""
    worst, where = _largest_step(epsilons, rates, 1.0)
    return SanityCheck(
        worst <= tolerance,
        f"{what} {rates[0]:.0%} at epsilon {epsilons[0]:g} -> {rates[-1]:.0%} at "
        f"{epsilons[-1]:g}, largest drop {worst:.1%}{where}",
        worst,
        f"largest drop {worst:.1%}",
        f"drop <= {tolerance:.0%}",
    )


def never_rises(
    epsilons: Sequence[float],
    accuracies: Sequence[float],
    what: str = "accuracy",
    tolerance: float = 0.0,
) -> SanityCheck:
    """Accuracy under attack must be non-increasing in epsilon, up to ``tolerance``."""
    worst, where = _largest_step(epsilons, accuracies, -1.0)
    return SanityCheck(
        worst <= tolerance,
        f"{what} {accuracies[0]:.0%} at epsilon {epsilons[0]:g} -> {accuracies[-1]:.0%} at "
        f"{epsilons[-1]:g}, largest rise {worst:.1%}{where}",
        worst,
        f"largest rise {worst:.1%}",
        f"rise <= {tolerance:.0%}",
    )


def at_least_as_strong(
    epsilons: Sequence[float],
    strong: Sequence[float],
    weak: Sequence[float],
    higher_is_stronger: bool = True,
    what: str = "success",
    names: tuple[str, str] = ("PGD", "FGSM"),
    tolerance: float = 1e-6,
) -> SanityCheck:
    """``strong`` must match or beat ``weak`` at every epsilon (success: higher; accuracy
    under attack: lower). Gaps up to ``tolerance`` are rounding, not weakness: a share
    computed in float32 (3/10 -> 0.30000001) must not fail against the same share in float64."""
    strong, weak = np.asarray(strong, dtype=float), np.asarray(weak, dtype=float)
    gap = (weak - strong) if higher_is_stronger else (strong - weak)
    worse = [f"{e:g}" for e, g in zip(epsilons, gap, strict=True) if g > tolerance]
    k = int(np.argmax(-gap if len(gap) else [0]))
    lead = (
        f"largest lead {-gap[k]:.0%} at {epsilons[k]:g}"
        if len(gap) and -gap[k] > 0
        else "equal everywhere"
    )
    detail = (
        f"{what}: {names[0]} >= {names[1]} at all {len(gap)} epsilons ({lead})"
        if not worse
        else f"{what}: {names[0]} weaker than {names[1]} at epsilon {', '.join(worse)} "
        f"(by up to {gap.max():.0%})"
    )
    if not higher_is_stronger and not worse:
        detail = detail.replace(">=", "<=")
    largest = float(gap.max()) if len(gap) else 0.0
    return SanityCheck(
        not worse,
        detail,
        largest,
        f"{names[0]} behind by up to {max(largest, 0.0):.0%}",
        f"{names[0]} >= {names[1]} everywhere",
    )


def reaches(
    epsilons: Sequence[float],
    values: Sequence[float],
    at_epsilon: float,
    required: float,
    what: str,
    higher_is_better: bool = True,
) -> SanityCheck:
    """``values`` at ``at_epsilon`` must reach ``required`` (>= or, for accuracy, <=)."""
    positions = [k for k, e in enumerate(epsilons) if np.isclose(e, at_epsilon)]
    if not positions:
        return SanityCheck(False, f"epsilon {at_epsilon:g} was not in the sweep {list(epsilons)}")
    value = float(values[positions[0]])
    passed = value >= required if higher_is_better else value <= required
    sign = ">=" if higher_is_better else "<="
    return SanityCheck(
        passed,
        f"{what} at epsilon {at_epsilon:g}: {value:.1%} (required {sign} {required:.0%})",
        value,
        f"{value:.0%} at {at_epsilon:g}",
        f"{sign} {required:.0%}",
    )


def stronger_attack_agrees(
    median_base: float,
    median_strong: float,
    relative_tolerance: float,
    factor: int = 2,
    n_samples: int | None = None,
) -> SanityCheck:
    """``factor`` x steps and restarts must not lower the median minimum epsilon (over the same
    ``n_samples``) by more than ``relative_tolerance`` (else the base attack was not converged)."""
    over = f" over {n_samples} samples" if n_samples is not None else ""
    threshold = f"median drop <= {relative_tolerance:.0%}"
    if not np.isfinite(median_base):
        return SanityCheck(
            False,
            f"the base attack broke fewer than half the samples{over}",
            None,
            "median unbroken",
            threshold,
        )
    drop = (median_base - median_strong) / median_base if median_base > 0 else 0.0
    return SanityCheck(
        drop <= relative_tolerance,
        f"median minimum epsilon{over} {median_base:.4f} -> {median_strong:.4f} with {factor}x "
        f"steps and {factor}x restarts ({-drop:+.1%}; a drop of at most "
        f"{relative_tolerance:.0%} allowed)",
        float(drop),
        f"{median_base:.4f} -> {median_strong:.4f} ({-drop:+.1%})",
        threshold,
    )


@torch.enable_grad()
def zero_gradient_share(
    model: nn.Module,
    images: torch.Tensor,
    classes: torch.Tensor,
    targeted: bool,
    loss: str = "ce",
) -> float:
    """Share of inputs whose attack-objective gradient is exactly zero everywhere: on those the
    sign step does nothing and a gradient attack cannot start (gradient masking)."""
    if len(images) == 0:
        return float("nan")
    was_training = model.training
    model.eval()
    x = images.detach().float().clone().requires_grad_(True)
    value = OBJECTIVES[loss](model(x), torch.as_tensor(classes, device=x.device).long(), targeted)
    (grad,) = torch.autograd.grad(value.sum(), x)
    model.train(was_training)
    return float((grad.flatten(1).abs().amax(dim=1) == 0).float().mean())


def no_zero_gradients(share: float, maximum: float, what: str) -> SanityCheck:
    return SanityCheck(
        share <= maximum,
        f"{share:.1%} of inputs have an all-zero gradient of the {what} (allowed {maximum:.0%})",
        share,
        f"{share:.0%} all-zero",
        f"<= {maximum:.0%}",
    )
