"""Per-sample minimum epsilon of an attack: a coarse sweep over a grid, then bisection.

1. Coarse sweep: attack every sample at every grid epsilon (independent runs). A sample's
   first successful grid point ``hi`` and the grid point before it ``lo`` (0 for the first)
   bracket its minimum epsilon. Because every sample is attacked at every grid point, the sweep
   is also the attack's success-vs-epsilon curve, and it shows whether success ever *falls* as
   epsilon grows (a sign of a weak attack). ``sweep_all=False`` skips samples that already
   succeeded at a smaller epsilon (faster when only the minimum is wanted).
2. Bisection: all bracketed samples at once, each at its own midpoint; success moves ``hi``
   down, failure moves ``lo`` up. After k rounds the bracket is (hi - lo) / 2^k wide.

The result's ``epsilon`` is the smallest budget at which the attack was *seen* to succeed,
``lower`` the largest budget below it at which it was seen to fail. Samples that no grid
point breaks get ``inf``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lazy_artist.attacks.pgd import (
    AttackResult,
    GradientCallback,
    PGDConfig,
    check_epsilons,
    pgd,
)

# (images, labels, per-sample epsilon (N,)) -> AttackResult
AttackFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], AttackResult]


@dataclass
class MinEpsilonResult:
    epsilon: np.ndarray  # (N,) smallest epsilon seen to succeed; inf if none in the grid
    lower: (
        np.ndarray
    )  # (N,) largest epsilon below it seen to fail (0 when the first grid point hit)
    grid: np.ndarray  # (G,) the coarse sweep's epsilons
    grid_success: np.ndarray  # (N, G) bool; rows of skipped samples are filled in as successes
    grid_score: np.ndarray  # (N, G) the attack's best score per grid point (NaN where skipped)
    adversarial: torch.Tensor  # (N, C, H, W) the adversarial at ``epsilon`` (clean if none)
    score: np.ndarray  # (N,) the attack's score at ``epsilon`` (best score at the largest grid
    # point for samples never broken)
    sample_attacks: int  # single-sample attacks run in total
    gradient_steps: int  # input-gradient steps over all samples, restarts and rounds (cost)

    @property
    def found(self) -> np.ndarray:
        return np.isfinite(self.epsilon)

    def success_curve(self) -> np.ndarray:
        """Share of samples the sweep broke at each grid epsilon (independent runs)."""
        return self.grid_success.mean(axis=0)

    def cumulative_share(self, epsilons: Sequence[float]) -> np.ndarray:
        """Share of samples whose minimum epsilon is <= each given epsilon."""
        return np.array([(self.epsilon <= e).mean() for e in epsilons])


def check_grid(grid: Sequence[float]) -> np.ndarray:
    values = np.asarray(list(grid), dtype=np.float64)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError("the epsilon grid needs at least one value")
    check_epsilons(torch.as_tensor(values))
    if np.any(values <= 0) or np.any(np.diff(values) <= 0):
        raise ValueError(
            f"the epsilon grid must be strictly increasing and > 0, got {values.tolist()}"
        )
    return values


def min_epsilon(
    attack: AttackFn,
    images: torch.Tensor,
    labels: torch.Tensor,
    grid: Sequence[float],
    bisection_steps: int = 6,
    sweep_all: bool = True,
) -> MinEpsilonResult:
    """Minimum epsilon per sample of ``attack`` (see the module docstring)."""
    grid_values = check_grid(grid)
    images, labels = _prepared(images, labels, bisection_steps)
    n, g = len(images), len(grid_values)
    grid_success = np.zeros((n, g), dtype=bool)
    grid_score = np.full((n, g), np.nan)
    epsilon = np.full(n, np.inf)
    lower = np.zeros(n)
    score = np.full(n, np.nan)
    adversarial = images.clone()
    attacks = steps = 0

    for k, value in enumerate(grid_values):
        todo = np.arange(n) if sweep_all else np.flatnonzero(~np.isfinite(epsilon))
        if len(todo) == 0:
            break
        result = _run(attack, images, labels, todo, value)
        attacks, steps = attacks + len(todo), steps + int(result.steps.sum())
        ok, scores = result.success.cpu().numpy(), result.score.cpu().numpy()
        grid_success[todo, k], grid_score[todo, k] = ok, scores
        unbroken = ~np.isfinite(epsilon[todo])
        first = ok & unbroken
        hit = todo[first]
        epsilon[hit] = value
        lower[hit] = grid_values[k - 1] if k else 0.0
        score[hit] = scores[first]
        adversarial[_on(hit, images)] = result.adversarial[_on(first, images)]
        # Not broken yet: keep the best score so far, at the largest budget tried.
        score[todo[~ok & unbroken]] = scores[~ok & unbroken]
    if not sweep_all:
        # Skipped points are above a success: count them as successes for the curve.
        for i in np.flatnonzero(np.isfinite(epsilon)):
            grid_success[i, grid_values > epsilon[i]] = True

    more_attacks, more_steps = _bisect(
        attack, images, labels, bisection_steps, epsilon, lower, score, adversarial
    )
    attacks, steps = attacks + more_attacks, steps + more_steps
    return MinEpsilonResult(
        epsilon=epsilon,
        lower=lower,
        grid=grid_values,
        grid_success=grid_success,
        grid_score=grid_score,
        adversarial=adversarial,
        score=score,
        sample_attacks=attacks,
        gradient_steps=steps,
    )


def min_epsilon_below(
    attack: AttackFn,
    images: torch.Tensor,
    labels: torch.Tensor,
    ceiling: np.ndarray,
    bisection_steps: int = 6,
) -> MinEpsilonResult:
    """The smallest epsilon ``attack`` finds below each sample's ``ceiling``: one attack at the
    ceiling, then ``bisection_steps`` rounds in [0, ceiling] for the samples it broke there;
    ``inf`` for the others (no grid: ``grid`` is empty).

    What the convergence check asks a stronger attack: can it go below what the base attack
    found? A search from the bottom of the grid would spend most of its steps on the budgets
    below a sample's minimum, which both attacks fail."""
    images, labels = _prepared(images, labels, bisection_steps)
    ceiling = np.asarray(ceiling, dtype=np.float64)
    n = len(images)
    if ceiling.shape != (n,) or not np.all(np.isfinite(ceiling)) or np.any(ceiling <= 0):
        raise ValueError(f"need one finite ceiling > 0 per sample ({n}), got {ceiling!r}")
    epsilon, lower = np.full(n, np.inf), np.zeros(n)
    score = np.full(n, np.nan)
    adversarial = images.clone()
    everyone = np.arange(n)
    result = _run(attack, images, labels, everyone, ceiling)
    attacks, steps = n, int(result.steps.sum())
    ok = result.success.cpu().numpy()
    score[:] = result.score.cpu().numpy()
    epsilon[ok] = ceiling[ok]
    adversarial[_on(everyone[ok], images)] = result.adversarial[_on(ok, images)]
    more_attacks, more_steps = _bisect(
        attack, images, labels, bisection_steps, epsilon, lower, score, adversarial
    )
    attacks, steps = attacks + more_attacks, steps + more_steps
    return MinEpsilonResult(
        epsilon=epsilon,
        lower=lower,
        grid=np.zeros(0),
        grid_success=np.zeros((n, 0), dtype=bool),
        grid_score=np.zeros((n, 0)),
        adversarial=adversarial,
        score=score,
        sample_attacks=attacks,
        gradient_steps=steps,
    )


def on_grid(found: MinEpsilonResult, grid: Sequence[float]) -> MinEpsilonResult:
    """A search with no sweep (:func:`min_epsilon_below`) placed on ``grid``, to be joined
    with swept ones: a success at every budget at or above its minimum epsilon (as a search
    that stops at its first success fills in the budgets it skipped); no scores."""
    values = check_grid(grid)
    success = found.epsilon[:, None] <= values[None, :] + 1e-12
    return MinEpsilonResult(
        epsilon=found.epsilon,
        lower=found.lower,
        grid=values,
        grid_success=success,
        grid_score=np.full(success.shape, np.nan),
        adversarial=found.adversarial,
        score=found.score,
        sample_attacks=found.sample_attacks,
        gradient_steps=found.gradient_steps,
    )


def _prepared(
    images: torch.Tensor, labels: torch.Tensor, bisection_steps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """A search's inputs checked: detached images, integer labels on their device."""
    if not isinstance(bisection_steps, int) or bisection_steps < 0:
        raise ValueError(f"bisection_steps must be an integer >= 0, got {bisection_steps!r}")
    return images.detach(), torch.as_tensor(labels, device=images.device).long()


def _bisect(
    attack: AttackFn,
    images: torch.Tensor,
    labels: torch.Tensor,
    rounds: int,
    epsilon: np.ndarray,
    lower: np.ndarray,
    score: np.ndarray,
    adversarial: torch.Tensor,
) -> tuple[int, int]:
    """``rounds`` of bisection between ``lower`` (failed) and ``epsilon`` (succeeded) for every
    sample with a finite ``epsilon``, updating the arrays in place; (attacks, steps) spent."""
    attacks = steps = 0
    for _ in range(rounds):
        todo = np.flatnonzero(np.isfinite(epsilon))
        if len(todo) == 0:
            break
        middle = (lower[todo] + epsilon[todo]) / 2.0
        result = _run(attack, images, labels, todo, middle)
        attacks, steps = attacks + len(todo), steps + int(result.steps.sum())
        ok = result.success.cpu().numpy()
        epsilon[todo[ok]] = middle[ok]
        score[todo[ok]] = result.score.cpu().numpy()[ok]
        adversarial[_on(todo[ok], images)] = result.adversarial[_on(ok, images)]
        lower[todo[~ok]] = middle[~ok]
    return attacks, steps


def _on(index: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    """A numpy index (positions or mask) as a tensor on ``like``'s device."""
    return torch.as_tensor(index, device=like.device)


def _run(
    attack: AttackFn,
    images: torch.Tensor,
    labels: torch.Tensor,
    todo: np.ndarray,
    epsilon: float | np.ndarray,
) -> AttackResult:
    index = _on(todo, images)
    eps = torch.as_tensor(np.broadcast_to(epsilon, todo.shape).copy(), dtype=torch.float32)
    return attack(images[index], labels[index], eps.to(images.device))


def pgd_attack(
    model: nn.Module,
    config: PGDConfig,
    target: int | None = None,
    seed: int = 0,
    on_gradient: GradientCallback | None = None,
) -> AttackFn:
    """PGD as an :data:`AttackFn`, with its own seeded generator for the random starts (so the
    same seed gives the same search); ``on_gradient`` sees every input gradient it uses."""
    generator = torch.Generator().manual_seed(int(seed))

    def attack(images: torch.Tensor, labels: torch.Tensor, epsilon: torch.Tensor) -> AttackResult:
        return pgd(
            model,
            images,
            labels,
            epsilon,
            config,
            target=target,
            generator=generator,
            on_gradient=on_gradient,
        )

    return attack


@dataclass
class LowestOf:
    """Several searches of the same samples (one per attack loss) joined: per sample the lowest
    minimum epsilon any of them found (Carlini et al. 2019: try more than one loss)."""

    search: MinEpsilonResult  # the joined search
    per_loss: dict[str, np.ndarray]  # loss -> its own per-sample minimum epsilon
    wins: dict[str, int]  # loss -> samples where it alone was lowest; "equal": the rest
    # The first loss's own search. When it swept every budget, each grid point is an
    # independent attack, so its success curve is the one that can fall as epsilon grows (the
    # joined curve fills budgets above another loss's first success in as successes).
    first: MinEpsilonResult | None = None
    # Losses asked only at and below each sample's minimum of the first loss: their per-sample
    # values are what they found there (inf: nothing), not minima of their own, so no median
    # of theirs is reported.
    below: tuple[str, ...] = ()

    def record(self) -> dict[str, object]:
        return {
            "wins": dict(self.wins),
            "median_min_eps": {
                loss: _finite_median(values)
                for loss, values in self.per_loss.items()
                if loss not in self.below
            },
            "searched_below_first": list(self.below),
        }


def _finite_median(values: np.ndarray) -> float | None:
    median = float(np.quantile(values, 0.5, method="inverted_cdf")) if len(values) else np.inf
    return median if np.isfinite(median) else None


def lowest_of(searches: dict[str, MinEpsilonResult], below: Sequence[str] = ()) -> LowestOf:
    """Join searches of the same samples and grid: per sample the lowest epsilon (and its
    bracket, adversarial and score) of any search; a grid point counts as a success when any
    search succeeded there (the union of the attacks is one stronger attack). ``below``: the
    losses searched only below the first one's minima (see :attr:`LowestOf.below`)."""
    if not searches:
        raise ValueError("lowest_of needs at least one search")
    losses = list(searches)
    first = searches[losses[0]]
    for loss in losses[1:]:
        other = searches[loss]
        if other.epsilon.shape != first.epsilon.shape or not np.array_equal(other.grid, first.grid):
            raise ValueError(f"search {loss!r} covers other samples or another grid")
    eps = np.stack([searches[loss].epsilon for loss in losses])  # (L, N)
    best = np.argmin(eps, axis=0)  # ties and all-inf go to the first loss
    n = eps.shape[1]
    columns = np.arange(n)
    lowest = eps[best, columns]
    alone = (eps == lowest[None, :]).sum(axis=0) == 1
    wins = {loss: int(((best == k) & alone).sum()) for k, loss in enumerate(losses)}
    wins["equal"] = int((~alone).sum())
    adversarial = first.adversarial.clone()
    for k, loss in enumerate(losses[1:], start=1):
        chosen = np.flatnonzero(best == k)
        index = _on(chosen, adversarial)
        adversarial[index] = searches[loss].adversarial[index]
    scores = np.stack([searches[loss].grid_score for loss in losses])
    joined = MinEpsilonResult(
        epsilon=lowest,
        lower=np.stack([searches[loss].lower for loss in losses])[best, columns],
        grid=first.grid,
        grid_success=np.any([searches[loss].grid_success for loss in losses], axis=0),
        grid_score=np.where(
            np.all(np.isnan(scores), axis=0),
            np.nan,
            np.nanmax(np.where(np.isnan(scores), -np.inf, scores), axis=0),
        ),
        adversarial=adversarial,
        score=np.stack([searches[loss].score for loss in losses])[best, columns],
        sample_attacks=sum(s.sample_attacks for s in searches.values()),
        gradient_steps=sum(s.gradient_steps for s in searches.values()),
    )
    per_loss = {loss: searches[loss].epsilon.copy() for loss in losses}
    unknown = [loss for loss in below if loss not in losses[1:]]
    if unknown:
        raise ValueError(f"below names {unknown}, not among the later searches {losses[1:]}")
    return LowestOf(joined, per_loss, wins, first, tuple(below))
