"""Square Attack (Andriushchenko et al. 2020), L-infinity, targeted or untargeted: a
gradient-free random search, written from scratch.

It never looks at a gradient, so a model whose gradients are masked (zero, noisy or
shattered) does not fool it: if it succeeds on a sample where PGD failed at the same budget,
PGD's failure was the gradient's fault, not the model's robustness (gradient masking).

The algorithm, as in the paper (Algorithm 1, the L-infinity variant):

- start at vertical stripes: every (channel, column) of the image moves by +eps or -eps;
- each iteration proposes, per sample, a square window of side s at a uniformly random place
  and a random sign per channel: inside the window the perturbation becomes +-eps;
- the proposal is kept only when it improves the attack objective (one forward pass, one
  "query"); a sample leaves the batch once it succeeds;
- the window's area is a share p of the image that halves at fixed fractions of the query
  budget (the paper's schedule, rescaled to any budget as its reference code does).

Every iterate is a vertex of the epsilon ball clipped to [0, 1], so it stays within budget.
The objective is one of :data:`lazy_artist.attacks.pgd.OBJECTIVES` (the paper uses the
cross-entropy for targeted attacks and the margin for untargeted ones); success is judged as
for PGD (:func:`lazy_artist.attacks.pgd.judge`, with the target confidence).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from lazy_artist.attacks.pgd import (
    OBJECTIVES,
    AttackResult,
    check_epsilons,
    eval_mode,
    in_batches,
    judge,
    labels_and_epsilon,
)

# Fractions (of 10 000 queries, the paper's budget) after which p halves once more.
P_HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)


MAX_RESAMPLES = 16  # redraws of a window's signs that changed nothing (2^C patterns)


@dataclass(frozen=True)
class SquareConfig:
    queries: int = 1000  # queries per sample after the initial one
    p_init: float = 0.8  # initial window area / image area (the paper's MNIST value)
    loss: str = "ce"
    target_confidence: float | None = None
    batch_size: int = 512

    def validate(self) -> None:
        if not isinstance(self.queries, int) or self.queries < 1:
            raise ValueError(f"Square Attack queries must be an integer >= 1, got {self.queries!r}")
        if not 0.0 < self.p_init <= 1.0:
            raise ValueError(f"Square Attack p_init must be in (0, 1], got {self.p_init!r}")
        if self.loss not in OBJECTIVES:
            raise ValueError(
                f"unknown Square Attack loss {self.loss!r}: choose from {', '.join(OBJECTIVES)}"
            )
        if self.target_confidence is not None and not 0.0 < self.target_confidence < 1.0:
            raise ValueError(
                f"target_confidence must be a probability in (0, 1), got {self.target_confidence!r}"
            )


def window_share(p_init: float, iteration: int, total: int) -> float:
    """The paper's schedule of p: halved after each of :data:`P_HALVINGS` (on a 10 000-query
    scale), so coarse squares first and ever finer ones later."""
    scaled = int(iteration / total * 10000)
    return p_init / 2 ** sum(scaled > point for point in P_HALVINGS)


def window_side(p: float, height: int, width: int) -> int:
    """Side of a square covering a share ``p`` of the image: at least 1, at most one less than
    the shorter side (so the window's place is still random)."""
    side = int(round(math.sqrt(p * height * width)))
    return max(1, min(side, min(height, width) - 1))


@torch.no_grad()
def square_attack(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    epsilon: float | torch.Tensor,
    config: SquareConfig | None = None,
    target: int | None = None,
    generator: torch.Generator | None = None,
) -> AttackResult:
    """Square Attack on ``images`` (N, C, H, W) in [0, 1]; ``target`` given = targeted.

    ``steps`` of the result counts each sample's queries (forward passes). Samples the model
    already gets wrong (untargeted) or reads as the target (targeted) spend none."""
    config = config or SquareConfig()
    config.validate()
    check_epsilons(epsilon)
    x_clean = images.detach().float()
    labels, eps = labels_and_epsilon(x_clean, labels, epsilon)
    targeted = target is not None
    classes = torch.full_like(labels, int(target)) if targeted else labels
    with eval_mode(model):
        return in_batches(
            lambda x, c, e, _: _attack_batch(model, x, c, e, config, targeted, generator),
            x_clean,
            classes,
            eps,
            config.batch_size,
        )


def _random_signs(shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
    return torch.randint(0, 2, shape, generator=generator).float() * 2.0 - 1.0


def _attack_batch(
    model: nn.Module,
    x_clean: torch.Tensor,
    classes: torch.Tensor,
    eps: torch.Tensor,
    config: SquareConfig,
    targeted: bool,
    generator: torch.Generator | None,
) -> AttackResult:
    objective = OBJECTIVES[config.loss]
    n, channels, height, width = x_clean.shape
    view = (-1, 1, 1, 1)
    device = x_clean.device

    # Vertical stripes: one sign per (sample, channel, column), the paper's initialisation.
    delta = _random_signs((n, channels, 1, width), generator).to(device) * eps.reshape(view)
    delta = delta.expand(-1, -1, height, -1).clone()
    x_best = (x_clean + delta).clamp(0.0, 1.0)
    logits = model(x_best)
    best_value = objective(logits, classes, targeted)
    score, success, prediction = judge(logits, classes, targeted, config.target_confidence)
    queries = torch.ones(n, dtype=torch.long, device=device)
    # A sample already at the goal on its clean image needs no perturbation at all.
    clean_logits = model(x_clean)
    clean_score, clean_ok, clean_pred = judge(
        clean_logits, classes, targeted, config.target_confidence
    )
    x_best[clean_ok], score[clean_ok], prediction[clean_ok] = (
        x_clean[clean_ok],
        clean_score[clean_ok],
        clean_pred[clean_ok],
    )
    success = success | clean_ok

    rows = torch.arange(height, device=device).reshape(1, 1, height, 1)
    cols = torch.arange(width, device=device).reshape(1, 1, 1, width)
    for iteration in range(config.queries):
        active = torch.nonzero(~success).flatten()
        if len(active) == 0:
            break
        side = window_side(window_share(config.p_init, iteration, config.queries), height, width)
        m = len(active)
        top = torch.randint(0, height - side + 1, (m,), generator=generator).to(device)
        left = torch.randint(0, width - side + 1, (m,), generator=generator).to(device)
        inside = (
            (rows >= top.reshape(view))
            & (rows < (top + side).reshape(view))
            & (cols >= left.reshape(view))
            & (cols < (left + side).reshape(view))
        )
        signs = _random_signs((m, channels, 1, 1), generator).to(device)
        proposal = torch.where(inside, signs * eps[active].reshape(view), delta[active])
        x_new = (x_clean[active] + proposal).clamp(0.0, 1.0)
        # As the reference implementation does: a window the new signs leave unchanged would
        # spend a query on the current image, so its signs are drawn again.
        for _ in range(MAX_RESAMPLES):
            same = (x_new == x_best[active]).flatten(1).all(1)
            if not same.any():
                break
            again = _random_signs((int(same.sum()), channels, 1, 1), generator).to(device)
            redrawn = torch.where(
                inside[same], again * eps[active][same].reshape(view), delta[active][same]
            )
            proposal[same] = redrawn
            x_new[same] = (x_clean[active][same] + redrawn).clamp(0.0, 1.0)
        logits = model(x_new)
        value = objective(logits, classes[active], targeted)
        queries[active] += 1
        better = value > best_value[active]
        kept = active[better]
        delta[kept], x_best[kept], best_value[kept] = (
            proposal[better],
            x_new[better],
            value[better],
        )
        s, ok, pred = judge(logits[better], classes[kept], targeted, config.target_confidence)
        score[kept], success[kept], prediction[kept] = s, ok, pred
    return AttackResult(x_best, success, score, prediction, queries, eps)
