"""T5's per-model attack battery, its summary row and its sanity checklist.

For one model and one fair sample the battery runs, in this order (each with its own seed
derived from the model's, so adding a model never changes another's numbers):

1. the targeted minimum-epsilon search (coarse sweep over the grid, then bisection,
   :func:`lazy_artist.attacks.min_epsilon.min_epsilon`), which is also the PGD
   success-vs-epsilon curve;
2. targeted FGSM over the same grid and untargeted FGSM over the untargeted budgets (cheap:
   one gradient per image and budget);
3. the untargeted PGD sweep (about a sixth of the search's cost);
4. the zero-gradient shares of the targeted and untargeted losses (gradient masking);
5. with ``strength=True`` only (the most expensive part, about 1.5x the search): the strength
   re-run, the same search with ``strength_factor`` x steps and restarts on the first
   ``n_strength_samples`` samples.

Unbroken samples have minimum epsilon ``inf``; summaries use order statistics
(``method="inverted_cdf"``), never interpolation, because inf - inf is NaN and "the mean of
inf and 0.1" is not a budget.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from lazy_artist.attacks import sanity
from lazy_artist.attacks.min_epsilon import MinEpsilonResult, check_grid, min_epsilon, pgd_attack
from lazy_artist.attacks.pgd import PGDConfig
from lazy_artist.attacks.sanity import SanityCheck
from lazy_artist.attacks.sweep import SweepResult, fgsm_sweep, pgd_sweep

# Offsets of the seeds of one model's attacks from the model's own seed.
SEARCH_SEED, STRENGTH_SEED, UNTARGETED_SEED = 0, 1, 2


@dataclass(frozen=True)
class BatteryPlan:
    """What the battery runs; one plan for every model of the task."""

    targeted: PGDConfig  # carries target_confidence
    untargeted: PGDConfig
    target_class: int
    grid: tuple[float, ...]  # targeted budgets (strictly increasing, > 0)
    untargeted_epsilons: tuple[float, ...]  # untargeted budgets (0 allowed: clean accuracy)
    bisection_steps: int
    strength_factor: int
    n_strength_samples: int
    report_epsilon: float  # on the grid
    visible_epsilon: float  # on the grid

    def __post_init__(self) -> None:
        check_grid(self.grid)
        if self.targeted.target_confidence is None:
            raise ValueError("the targeted PGD config needs a target_confidence")
        for name in ("report_epsilon", "visible_epsilon"):
            self.position(getattr(self, name), name)
        if self.strength_factor < 2 or self.n_strength_samples < 1:
            raise ValueError(
                "strength_factor must be >= 2 and n_strength_samples >= 1, got "
                f"{self.strength_factor!r} and {self.n_strength_samples!r}"
            )

    @property
    def target_confidence(self) -> float:
        return float(self.targeted.target_confidence)

    def position(self, epsilon: float, name: str = "epsilon") -> int:
        """Index of ``epsilon`` on the grid (compared as numbers, not bit patterns)."""
        distance = np.abs(np.asarray(self.grid) - epsilon)
        k = int(np.argmin(distance))
        if distance[k] > 1e-12:
            raise ValueError(f"{name}={epsilon!r} is not on the epsilon grid {list(self.grid)}")
        return k

    def record(self) -> dict[str, Any]:
        return {
            **asdict(self.targeted),
            "bisection_steps": self.bisection_steps,
            "untargeted_loss": self.untargeted.loss,
            "strength_factor": self.strength_factor,
            "n_strength_samples": self.n_strength_samples,
        }


@dataclass
class BatteryResult:
    search: MinEpsilonResult
    fgsm_targeted: SweepResult
    fgsm_untargeted: SweepResult
    pgd_untargeted: SweepResult
    zero_targeted: float
    zero_untargeted: float
    seconds: float
    strong: MinEpsilonResult | None = None  # the strength re-run (``strength=True`` only)

    @property
    def has_strength(self) -> bool:
        return self.strong is not None

    @property
    def min_epsilon(self) -> np.ndarray:
        return self.search.epsilon


def run_battery(
    network: nn.Module,
    targeted_images: torch.Tensor,
    targeted_labels: torch.Tensor,
    untargeted_images: torch.Tensor,
    untargeted_labels: torch.Tensor,
    plan: BatteryPlan,
    seed: int,
    strength: bool = True,
) -> BatteryResult:
    """Run the battery (see the module docstring) on one model, in its own input space."""
    began = time.perf_counter()
    targeted_labels = torch.as_tensor(targeted_labels, device=targeted_images.device).long()
    untargeted_labels = torch.as_tensor(untargeted_labels, device=untargeted_images.device).long()
    search = min_epsilon(
        pgd_attack(network, plan.targeted, plan.target_class, seed + SEARCH_SEED),
        targeted_images,
        targeted_labels,
        plan.grid,
        plan.bisection_steps,
    )
    fgsm_targeted = fgsm_sweep(
        network,
        targeted_images,
        targeted_labels,
        plan.grid,
        plan.target_class,
        plan.target_confidence,
    )
    fgsm_untargeted = fgsm_sweep(
        network, untargeted_images, untargeted_labels, plan.untargeted_epsilons
    )
    zero_targeted = sanity.zero_gradient_share(
        network,
        targeted_images,
        torch.full_like(targeted_labels, plan.target_class),
        True,
        plan.targeted.loss,
    )
    zero_untargeted = sanity.zero_gradient_share(
        network, untargeted_images, untargeted_labels, False, plan.untargeted.loss
    )
    pgd_untargeted = pgd_sweep(
        network,
        untargeted_images,
        untargeted_labels,
        plan.untargeted_epsilons,
        plan.untargeted,
        seed=seed + UNTARGETED_SEED,
    )
    strong = None
    if strength:
        subset = slice(0, min(plan.n_strength_samples, len(targeted_images)))
        strong = min_epsilon(
            pgd_attack(
                network,
                plan.targeted.stronger(plan.strength_factor),
                plan.target_class,
                seed + STRENGTH_SEED,
            ),
            targeted_images[subset],
            targeted_labels[subset],
            plan.grid,
            plan.bisection_steps,
            sweep_all=False,  # only the minimum is compared: skip budgets above a success
        )
    return BatteryResult(
        search=search,
        fgsm_targeted=fgsm_targeted,
        fgsm_untargeted=fgsm_untargeted,
        pgd_untargeted=pgd_untargeted,
        zero_targeted=zero_targeted,
        zero_untargeted=zero_untargeted,
        seconds=time.perf_counter() - began,
        strong=strong,
    )


# --- summaries -------------------------------------------------------------------------------


def order_statistic(values: Sequence[float] | np.ndarray, q: float) -> float:
    """The ``q`` quantile as an order statistic (the lower middle one for an even count at
    q = 0.5); inf when that many samples are unbroken."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        raise ValueError("no values")
    return float(np.quantile(array, q, method="inverted_cdf"))


def finite_or_none(value: float) -> float | None:
    """A number summary.json can hold: None for inf or NaN."""
    return float(value) if np.isfinite(value) else None


def summary_row(result: BatteryResult, plan: BatteryPlan) -> dict[str, Any]:
    """What the report says about one model's battery (JSON-able: unbroken medians are None)."""
    found = result.search.epsilon
    finite = found[np.isfinite(found)]
    k_report = plan.position(plan.report_epsilon)
    k_visible = plan.position(plan.visible_epsilon)
    row: dict[str, Any] = {
        f"success_rate_at_{plan.report_epsilon:g}": float(
            result.search.grid_success[:, k_report].mean()
        ),
        "median_min_eps": finite_or_none(order_statistic(found, 0.5)),
        "mean_min_eps": float(finite.mean()) if len(finite) else None,
        "std_min_eps": float(finite.std()) if len(finite) else None,
        "q25_min_eps": finite_or_none(order_statistic(found, 0.25)),
        "q75_min_eps": finite_or_none(order_statistic(found, 0.75)),
        "n_unbroken": int((~np.isfinite(found)).sum()),
        "n_samples": int(len(found)),
        f"mean_best_p_target_at_{plan.report_epsilon:g}": float(
            np.nanmean(result.search.grid_score[:, k_report])
        ),
        f"success_rate_at_{plan.visible_epsilon:g}": float(
            result.search.grid_success[:, k_visible].mean()
        ),
        "success_curve": result.search.success_curve(),
        "fgsm_success_curve": list(result.fgsm_targeted.success),
        "fgsm_untargeted_accuracy": list(result.fgsm_untargeted.accuracy),
        "pgd_untargeted_accuracy": list(result.pgd_untargeted.accuracy),
        "zero_gradient_share": max(result.zero_targeted, result.zero_untargeted),
        "gradient_steps": result.search.gradient_steps
        + (result.strong.gradient_steps if result.strong else 0),
        "strength_run": result.has_strength,
        "seconds": result.seconds,
        "median_min_eps_strength_subset": None,
        "median_min_eps_stronger": None,
    }
    if result.strong is not None:
        n_strong = len(result.strong.epsilon)
        row["median_min_eps_strength_subset"] = finite_or_none(
            order_statistic(found[:n_strong], 0.5)
        )
        row["median_min_eps_stronger"] = finite_or_none(order_statistic(result.strong.epsilon, 0.5))
    return row


# --- the sanity checklist --------------------------------------------------------------------


@dataclass(frozen=True)
class SanityThresholds:
    full_success_epsilon: float  # targeted success must be total here (on the grid)
    zero_accuracy_epsilon: float  # untargeted accuracy must be 0 here (on the untargeted grid)
    strength_tolerance: float  # relative drop of the median allowed under the stronger attack
    max_zero_gradient_share: float


def sanity_checks(
    result: BatteryResult, plan: BatteryPlan, thresholds: SanityThresholds
) -> dict[str, SanityCheck]:
    """The checklist of one model: title -> check. Without the strength re-run
    (``strength=False``) that check is absent: the list is shorter, never filled with a pass
    it did not earn."""
    grid, untargeted = list(plan.grid), list(plan.untargeted_epsilons)
    search, pgd_u = result.search, result.pgd_untargeted
    monotone = [
        sanity.never_falls(grid, search.success_curve(), "targeted PGD success"),
        sanity.never_rises(untargeted, pgd_u.accuracy, "untargeted PGD accuracy"),
    ]
    stronger_than_fgsm = [
        sanity.at_least_as_strong(
            grid, search.success_curve(), result.fgsm_targeted.success, True, "targeted success"
        ),
        sanity.at_least_as_strong(
            untargeted,
            pgd_u.accuracy,
            result.fgsm_untargeted.accuracy,
            False,
            "untargeted accuracy",
        ),
    ]
    breaks = [
        sanity.reaches(
            grid,
            search.success_curve(),
            thresholds.full_success_epsilon,
            1.0,
            "targeted success",
        ),
        sanity.reaches(
            untargeted,
            pgd_u.accuracy,
            thresholds.zero_accuracy_epsilon,
            0.0,
            "untargeted PGD accuracy",
            higher_is_better=False,
        ),
    ]
    checks = {
        "success never falls as epsilon grows": sanity.combine(*monotone),
        "PGD at least as strong as FGSM": sanity.combine(*stronger_than_fgsm),
        "large epsilon breaks everything": sanity.combine(*breaks),
    }
    if result.strong is not None:
        n_strong = len(result.strong.epsilon)
        checks[f"{plan.strength_factor}x steps and restarts agree"] = sanity.stronger_attack_agrees(
            order_statistic(search.epsilon[:n_strong], 0.5),
            order_statistic(result.strong.epsilon, 0.5),
            thresholds.strength_tolerance,
            plan.strength_factor,
            n_strong,
        )
    checks["no zero gradients"] = sanity.combine(
        sanity.no_zero_gradients(
            result.zero_targeted, thresholds.max_zero_gradient_share, "targeted loss"
        ),
        sanity.no_zero_gradients(
            result.zero_untargeted, thresholds.max_zero_gradient_share, "untargeted loss"
        ),
    )
    return checks
