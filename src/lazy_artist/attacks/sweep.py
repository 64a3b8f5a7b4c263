"""Fixed-budget attacks over a list of epsilons: success rate and accuracy under attack per epsilon.

Every epsilon is an independent attack on the same images, so the curves can be checked for
monotonicity rather than being monotone by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
from torch import nn

from lazy_artist.attacks.fgsm import fgsm
from lazy_artist.attacks.min_epsilon import check_grid
from lazy_artist.attacks.pgd import PGDConfig, check_epsilons, judge, pgd


@dataclass
class SweepResult:
    epsilons: list[float]
    success: list[float]  # share of samples where the attack reached its goal
    accuracy: list[float]  # share still classified as their true label
    score: list[float]  # mean score (targeted: P(target); untargeted: top wrong-class prob.)


def _summarise(
    logits: torch.Tensor,
    labels: torch.Tensor,
    target: int | None,
    target_confidence: float | None,
) -> tuple[float, float, float]:
    classes = labels if target is None else torch.full_like(labels, int(target))
    score, ok, prediction = judge(logits, classes, target is not None, target_confidence)
    return (
        ok.float().mean().item(),
        (prediction == labels).float().mean().item(),
        score.mean().item(),
    )


def fgsm_sweep(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    epsilons: Sequence[float],
    target: int | None = None,
    target_confidence: float | None = None,
    batch_size: int = 1024,
) -> SweepResult:
    """FGSM at each epsilon (0 allowed: the clean accuracy), batched."""
    for value in epsilons:
        check_epsilons(value)
    was_training = model.training
    model.eval()
    labels = torch.as_tensor(labels, device=images.device).long()
    result = SweepResult([float(e) for e in epsilons], [], [], [])
    for value in epsilons:
        logits = []
        for start in range(0, len(images), batch_size):
            x, y = images[start : start + batch_size], labels[start : start + batch_size]
            adversarial = x if value == 0 else fgsm(model, x, y, value, target=target)
            with torch.no_grad():
                logits.append(model(adversarial))
        success, accuracy, score = _summarise(torch.cat(logits), labels, target, target_confidence)
        result.success.append(success)
        result.accuracy.append(accuracy)
        result.score.append(score)
    model.train(was_training)
    return result


def pgd_sweep(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    epsilons: Sequence[float],
    config: PGDConfig,
    target: int | None = None,
    seed: int = 0,
) -> SweepResult:
    """PGD at each epsilon (0 allowed: the clean accuracy); one seeded generator per sweep."""
    values = [float(e) for e in epsilons]
    if any(values):
        check_grid([e for e in values if e > 0])
    generator = torch.Generator().manual_seed(int(seed))
    labels = torch.as_tensor(labels, device=images.device).long()
    result = SweepResult(values, [], [], [])
    for value in values:
        # Epsilon 0 is the clean model: no steps to spend (PGD would spend them all in place).
        one_step = (
            replace(config, steps=1, restarts=1, random_start=False) if value == 0 else config
        )
        attacked = pgd(model, images, labels, value, one_step, target=target, generator=generator)
        result.success.append(attacked.success_rate)
        result.accuracy.append((attacked.prediction == labels).float().mean().item())
        result.score.append(attacked.score.mean().item())
    return result
