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
5. with ``strength=True`` only: convergence. On the first ``n_strength_samples`` samples,
   ``strength_factor`` x steps and restarts try to break each sample more than
   ``strength_tolerance`` below its minimum epsilon (:func:`stronger_search`: one attack
   there, bisection below where it succeeds; a full search from the bottom of the grid would
   spend its steps on budgets both attacks fail); if the median minimum epsilon so found
   drops by more than ``strength_tolerance``, the budget is raised (``strength_factor``
   x again) up to ``max_doublings`` times until two successive budgets agree. A model converged
   at a raised budget has every sample searched again at that budget, at and below its
   current minimum (:func:`raised_search`), keeping the lower: the reported minimum epsilon
   comes from a converged attack. One that never agrees is "not converged";
6. with ``n_probe_samples`` > 0, on the first that many samples at the report epsilon: PGD with
   ``restart_factor`` x the restarts, and Square Attack (gradient-free).

The targeted search runs the first loss of ``plan.losses`` over the grid and bisection; each
other loss is then asked at and below each sample's minimum so found (one attack there,
bisection below where it breaks), and each sample keeps the lowest
(:func:`lazy_artist.attacks.min_epsilon.lowest_of`); the input-gradient norms of every step
of the base search, every loss, feed the gradient-health check.

Unbroken samples have minimum epsilon ``inf``; summaries use order statistics
(``method="inverted_cdf"``), never interpolation, because inf - inf is NaN and "the mean of
inf and 0.1" is not a budget.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from lazy_artist.attacks import checklist, sanity
from lazy_artist.attacks.gradient_health import (
    GradientHealth,
    GradientNorms,
    gradient_health,
    healthy_gradients,
)
from lazy_artist.attacks.min_epsilon import (
    LowestOf,
    MinEpsilonResult,
    check_grid,
    lowest_of,
    min_epsilon,
    min_epsilon_below,
    on_grid,
    pgd_attack,
)
from lazy_artist.attacks.pgd import OBJECTIVES, PGDConfig, pgd
from lazy_artist.attacks.sanity import SanityCheck
from lazy_artist.attacks.square import SquareConfig, square_attack
from lazy_artist.attacks.sweep import SweepResult, fgsm_sweep, pgd_sweep

# Offsets of the seeds of one model's attacks from the model's own seed (a level's strength
# search adds LEVEL_SEED x level, a loss LOSS_SEED x its position).
SEARCH_SEED, STRENGTH_SEED, UNTARGETED_SEED, RESTARTS_SEED, SQUARE_SEED = 0, 1, 2, 3, 4
LEVEL_SEED, LOSS_SEED = 10, 1000


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
    extra_losses: tuple[str, ...] = ()  # targeted losses besides targeted.loss (lowest wins)
    strength_tolerance: float = 0.05  # the convergence decision (same as the check's)
    max_doublings: int = 0  # budget raises allowed when the strength check fails
    n_probe_samples: int = 0  # many-restarts and Square probes on this many (0: none)
    restart_factor: int = 10  # the many-restarts probe: this many x the restarts
    square: SquareConfig = field(default_factory=SquareConfig)
    zero_gradient_norm: float = 1e-8  # a step's gradient counts as ~zero at this L1 norm

    def __post_init__(self) -> None:
        check_grid(self.grid)
        for loss in self.losses:
            if loss not in OBJECTIVES:
                raise ValueError(
                    f"unknown targeted loss {loss!r}: choose from {', '.join(OBJECTIVES)}"
                )
        if len(set(self.losses)) != len(self.losses):
            raise ValueError(f"targeted losses repeat: {list(self.losses)}")
        if self.max_doublings < 0 or self.n_probe_samples < 0 or self.restart_factor < 1:
            raise ValueError(
                "max_doublings and n_probe_samples must be >= 0 and restart_factor >= 1, got "
                f"{self.max_doublings!r}, {self.n_probe_samples!r}, {self.restart_factor!r}"
            )
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

    @property
    def losses(self) -> tuple[str, ...]:
        return (self.targeted.loss, *self.extra_losses)

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
            "losses": list(self.losses),
            "max_doublings": self.max_doublings,
            "n_probe_samples": self.n_probe_samples,
            "restart_factor": self.restart_factor,
            "square": asdict(self.square),
            "zero_gradient_norm": self.zero_gradient_norm,
        }


@dataclass
class Convergence:
    """The strength check at each budget tried; ``level`` is the number of doublings of the
    reported search (0: the base budget)."""

    levels: list[dict[str, Any]]
    converged: bool
    level: int
    check: SanityCheck

    def record(self) -> dict[str, Any]:
        return {"levels": self.levels, "converged": self.converged, "level": self.level}


@dataclass
class Probes:
    """The many-restarts and Square Attack probes at the report epsilon on a subsample."""

    epsilon: float
    base_success: np.ndarray  # (n,) the reported search broke the sample at <= epsilon
    many_success: np.ndarray  # (n,) PGD with restart_factor x restarts (any loss)
    square_success: np.ndarray  # (n,)
    restarts: int
    many_restarts: int
    queries: int

    def record(self) -> dict[str, Any]:
        return {
            "epsilon": self.epsilon,
            "n_samples": int(len(self.base_success)),
            "pgd_success": float(self.base_success.mean()),
            "many_restarts_success": float(self.many_success.mean()),
            "square_success": float(self.square_success.mean()),
            "square_only": int(
                (self.square_success & ~self.base_success & ~self.many_success).sum()
            ),
            "restarts": self.restarts,
            "many_restarts": self.many_restarts,
            "queries": self.queries,
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
    strong: MinEpsilonResult | None = None  # the last strength re-run (``strength=True`` only)
    losses: LowestOf | None = None  # the reported search per loss
    convergence: Convergence | None = None  # ``strength=True`` only
    gradients: GradientHealth | None = None  # along the first search's path
    probes: Probes | None = None  # ``n_probe_samples`` > 0 only
    # The converged raised budget's finds below each base minimum (only where it was raised).
    raised: MinEpsilonResult | None = None
    raised_lowered: int | None = None  # samples whose minimum it lowered

    @property
    def has_strength(self) -> bool:
        return self.strong is not None

    @property
    def converged(self) -> bool | None:
        """True / False after the strength check; None where it did not run."""
        return None if self.convergence is None else self.convergence.converged

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
    norms = GradientNorms()
    losses = targeted_search(
        network, plan, plan.targeted, targeted_images, targeted_labels, seed + SEARCH_SEED,
        sweep_all=True, on_gradient=norms,
    )  # fmt: skip
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
    strong = convergence = raised = raised_lowered = None
    if strength:
        strong, convergence = _converge(
            network, plan, targeted_images, targeted_labels, losses.search, seed
        )
        if convergence.converged and convergence.level > 0:
            # The reported minimum epsilon must come from the budget that converged: asked
            # below every sample's current minimum, the only place it can change.
            joined, raised = raised_search(
                network,
                plan,
                plan.targeted.stronger(plan.strength_factor**convergence.level),
                targeted_images,
                targeted_labels,
                losses.search,
                seed + SEARCH_SEED + LEVEL_SEED * convergence.level,
            )
            raised_lowered = int((joined.epsilon < losses.search.epsilon).sum())
            losses = replace(losses, search=joined)
    probes = None
    if plan.n_probe_samples:
        probes = _probes(network, plan, targeted_images, targeted_labels, losses.search, seed)
    return BatteryResult(
        search=losses.search,
        fgsm_targeted=fgsm_targeted,
        fgsm_untargeted=fgsm_untargeted,
        pgd_untargeted=pgd_untargeted,
        zero_targeted=zero_targeted,
        zero_untargeted=zero_untargeted,
        seconds=time.perf_counter() - began,
        strong=strong,
        losses=losses,
        convergence=convergence,
        gradients=gradient_health(norms.values(), plan.zero_gradient_norm),
        probes=probes,
        raised=raised,
        raised_lowered=raised_lowered,
    )


def targeted_search(
    network: nn.Module,
    plan: BatteryPlan,
    config: PGDConfig,
    images: torch.Tensor,
    labels: torch.Tensor,
    seed: int,
    sweep_all: bool = True,
    on_gradient: GradientNorms | None = None,
) -> LowestOf:
    """The minimum-epsilon search with ``plan``'s first loss at ``config``'s budget (sweeping
    every budget when ``sweep_all``: the success curve), then each other loss asked only at and
    below each sample's minimum so found (one attack there, bisection below where it breaks;
    the largest budget for a sample the first never broke); per sample the lowest is kept.
    At or below that minimum is the only place another loss can change the answer: a search
    of its own from the grid's bottom would spend most of its steps on budgets both fail."""
    first_loss, *others = plan.losses
    first = min_epsilon(
        pgd_attack(
            network, replace(config, loss=first_loss), plan.target_class, seed,
            on_gradient=on_gradient,
        ),
        images, labels, plan.grid, plan.bisection_steps, sweep_all=sweep_all,
    )  # fmt: skip
    searches = {first_loss: first}
    ceiling = _ceiling(plan, first.epsilon)
    for k, loss in enumerate(others, start=1):
        attack = pgd_attack(
            network, replace(config, loss=loss), plan.target_class, seed + LOSS_SEED * k,
            on_gradient=on_gradient,
        )  # fmt: skip
        found = min_epsilon_below(attack, images, labels, ceiling, plan.bisection_steps)
        searches[loss] = on_grid(found, plan.grid)
    return lowest_of(searches, below=tuple(others))


def search_below(
    network: nn.Module,
    plan: BatteryPlan,
    config: PGDConfig,
    images: torch.Tensor,
    labels: torch.Tensor,
    ceiling: np.ndarray,
    seed: int,
) -> MinEpsilonResult:
    """Per sample, the lowest epsilon ``config`` finds with any loss of ``plan.losses`` at or
    below ``ceiling`` (inf where none breaks it there); no sweep, so no grid."""
    searches = {
        loss: min_epsilon_below(
            pgd_attack(
                network, replace(config, loss=loss), plan.target_class, seed + LOSS_SEED * k
            ),
            images,
            labels,
            ceiling,
            plan.bisection_steps,
        )
        for k, loss in enumerate(plan.losses)
    }
    return lowest_of(searches).search


def stronger_search(
    network: nn.Module,
    plan: BatteryPlan,
    config: PGDConfig,
    images: torch.Tensor,
    labels: torch.Tensor,
    base: np.ndarray,
    seed: int,
) -> MinEpsilonResult:
    """Per sample, the lowest epsilon ``config`` (a stronger budget) finds, with every loss of
    ``plan.losses``, more than ``plan.strength_tolerance`` below the ``base`` minimum epsilon
    (a sample the base never broke is tried at the largest budget); the base value where it
    finds none. The stronger attack is asked only where it could change the answer."""
    found = search_below(
        network, plan, config, images, labels, _ceiling(plan, base, plan.strength_tolerance), seed
    )
    return replace(found, epsilon=np.minimum(base, found.epsilon))


def raised_search(
    network: nn.Module,
    plan: BatteryPlan,
    config: PGDConfig,
    images: torch.Tensor,
    labels: torch.Tensor,
    base: MinEpsilonResult,
    seed: int,
) -> tuple[MinEpsilonResult, MinEpsilonResult]:
    """The search at a raised budget ``config`` on every sample, asked at and below each
    sample's ``base`` minimum (where a stronger attack can lower it); (the base and the raised
    finds joined, per sample the lower; the raised finds alone). The base's sweep stays the
    success curve of record: an attack seen to succeed at a budget did succeed there."""
    found = search_below(network, plan, config, images, labels, _ceiling(plan, base.epsilon), seed)
    joined = lowest_of({"base": base, "raised": on_grid(found, plan.grid)}).search
    return joined, found


def _ceiling(plan: BatteryPlan, minimum: np.ndarray, shrink: float = 0.0) -> np.ndarray:
    """Where a search below ``minimum`` starts: ``shrink`` below each finite minimum, the grid's
    largest budget for a sample never broken."""
    return np.where(np.isfinite(minimum), minimum * (1.0 - shrink), float(plan.grid[-1]))


def _converge(
    network: nn.Module,
    plan: BatteryPlan,
    images: torch.Tensor,
    labels: torch.Tensor,
    search: MinEpsilonResult,
    seed: int,
) -> tuple[MinEpsilonResult, Convergence]:
    """The strength check, raising the budget up to ``plan.max_doublings`` times until the
    search at one budget and at ``strength_factor`` x it agree on the subset's median."""
    subset = slice(0, min(plan.n_strength_samples, len(images)))
    current = search.epsilon[subset]
    levels: list[dict[str, Any]] = []
    for level in range(plan.max_doublings + 1):
        base = plan.targeted.stronger(plan.strength_factor**level) if level else plan.targeted
        stronger = stronger_search(
            network,
            plan,
            plan.targeted.stronger(plan.strength_factor ** (level + 1)),
            images[subset],
            labels[subset],
            current,
            seed + STRENGTH_SEED + LEVEL_SEED * level,
        )
        check = sanity.stronger_attack_agrees(
            order_statistic(current, 0.5),
            order_statistic(stronger.epsilon, 0.5),
            plan.strength_tolerance,
            plan.strength_factor,
            len(current),
        )
        levels.append(
            {
                "level": level,
                "steps": base.steps,
                "restarts": base.restarts,
                "median_base": finite_or_none(order_statistic(current, 0.5)),
                "median_stronger": finite_or_none(order_statistic(stronger.epsilon, 0.5)),
                "passed": check.passed,
                "detail": check.detail,
            }
        )
        if check.passed:
            break
        current = stronger.epsilon
    converged = bool(levels[-1]["passed"])
    result = Convergence(
        levels,
        converged,
        levels[-1]["level"] if converged else 0,
        checklist.converged_levels(levels, plan.strength_factor),
    )
    return stronger, result


def _probes(
    network: nn.Module,
    plan: BatteryPlan,
    images: torch.Tensor,
    labels: torch.Tensor,
    search: MinEpsilonResult,
    seed: int,
) -> Probes:
    """Many restarts (every loss; success if any) and Square Attack at the report epsilon."""
    subset = slice(0, min(plan.n_probe_samples, len(images)))
    x, y = images[subset], labels[subset]
    many = replace(plan.targeted, restarts=plan.targeted.restarts * plan.restart_factor)
    many_success = np.zeros(len(x), dtype=bool)
    for k, loss in enumerate(plan.losses):
        made = pgd(
            network,
            x,
            y,
            plan.report_epsilon,
            replace(many, loss=loss),
            target=plan.target_class,
            generator=torch.Generator().manual_seed(seed + RESTARTS_SEED + LOSS_SEED * k),
        )
        many_success |= made.success.cpu().numpy()
    square = square_attack(
        network,
        x,
        y,
        plan.report_epsilon,
        replace(plan.square, target_confidence=plan.target_confidence),
        target=plan.target_class,
        generator=torch.Generator().manual_seed(seed + SQUARE_SEED),
    )
    return Probes(
        epsilon=plan.report_epsilon,
        base_success=search.epsilon[subset] <= plan.report_epsilon + 1e-12,
        many_success=many_success,
        square_success=square.success.cpu().numpy(),
        restarts=plan.targeted.restarts,
        many_restarts=many.restarts,
        queries=plan.square.queries,
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
        # Samples the converged raised budget broke below their base minimum (None: not raised).
        "raised_lowered": result.raised_lowered,
        "strength_run": result.has_strength,
        "seconds": result.seconds,
        "median_min_eps_strength_subset": None,
        "median_min_eps_stronger": None,
        "converged": result.converged,
        "convergence": result.convergence.record() if result.convergence else None,
        "losses": result.losses.record() if result.losses else None,
        "gradient_health": result.gradients.record() if result.gradients else None,
        "probes": result.probes.record() if result.probes else None,
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
    max_zero_gradient_share: float  # of the attack path's steps with a ~zero gradient
    loss_tolerance: float = 0.05  # relative drop of the median allowed by a second loss
    restart_tolerance: float = 0.04  # rise of success allowed with many restarts (declared)


# Titles of the checklist items (the report's checklist table has one row per item).
LOSS_CHOICE = "CE and margin losses agree"
MANY_RESTARTS = "many restarts agree"
GRADIENT_FREE = "no gradient masking (Square Attack)"
GRADIENT_HEALTH = "healthy gradients along the attack path"


def sanity_checks(
    result: BatteryResult, plan: BatteryPlan, thresholds: SanityThresholds
) -> dict[str, SanityCheck]:
    """The checklist of one model: title -> check. Without the strength re-run
    (``strength=False``) that check is absent: the list is shorter, never filled with a pass
    it did not earn."""
    grid, untargeted = list(plan.grid), list(plan.untargeted_epsilons)
    search, pgd_u = result.search, result.pgd_untargeted
    # The sweeping loss's own curve (independent attacks per budget): the joined one is partly
    # monotone by construction, so it could not fail this check.
    swept = result.losses.first if result.losses and result.losses.first else search
    monotone = [
        sanity.never_falls(grid, swept.success_curve(), "targeted PGD success"),
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
    strength_title = f"{plan.strength_factor}x steps and restarts agree"
    if result.convergence is not None:
        checks[strength_title] = result.convergence.check
    elif result.strong is not None:
        n_strong = len(result.strong.epsilon)
        checks[strength_title] = sanity.stronger_attack_agrees(
            order_statistic(search.epsilon[:n_strong], 0.5),
            order_statistic(result.strong.epsilon, 0.5),
            thresholds.strength_tolerance,
            plan.strength_factor,
            n_strong,
        )
    if result.losses is not None and len(result.losses.per_loss) > 1:
        checks[LOSS_CHOICE] = checklist.loss_choice_agrees(
            result.losses.per_loss,
            result.losses.wins,
            plan.losses[0],
            thresholds.loss_tolerance,
            below=result.losses.below,
        )
    if result.probes is not None:
        probes = result.probes
        checks[MANY_RESTARTS] = checklist.many_restarts_agree(
            probes.base_success,
            probes.many_success,
            thresholds.restart_tolerance,
            probes.restarts,
            probes.many_restarts,
            probes.epsilon,
        )
        checks[GRADIENT_FREE] = checklist.no_gradient_masking(
            probes.base_success | probes.many_success,
            probes.square_success,
            probes.queries,
            probes.epsilon,
        )
    clean = sanity.combine(
        sanity.no_zero_gradients(
            result.zero_targeted, thresholds.max_zero_gradient_share, "targeted loss"
        ),
        sanity.no_zero_gradients(
            result.zero_untargeted, thresholds.max_zero_gradient_share, "untargeted loss"
        ),
    )
    if result.gradients is None:
        checks["no zero gradients"] = clean
    else:
        path = healthy_gradients(result.gradients, thresholds.max_zero_gradient_share)
        checks[GRADIENT_HEALTH] = SanityCheck(
            path.passed and clean.passed,
            f"{path.detail}; at the clean inputs: {clean.detail}",
            path.value,
            path.figure,
            path.threshold,
        )
    return checks
