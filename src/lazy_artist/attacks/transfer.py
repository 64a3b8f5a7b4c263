"""Transferability: adversarial examples made on model A, scored on model B.

What travels from A to B is the *perturbation* delta_A = x_adv_A - x_A, added to B's own view of
the same sample and clipped to [0, 1] (so it stays within A's epsilon). For two models that read
the same input (both colour), B sees exactly A's adversarial image. A gray-input model (the
oracle) reads a separate grayscale rendering of the digit, so a colour perturbation reaches it
as its mean over the three channels, and a gray perturbation reaches a colour model copied to
every channel: the nearest honest analogue of "the same attack" in the other input space.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lazy_artist.attacks.pgd import judge

# (source input kind, target input kind) -> how a perturbation maps between them
PERTURBATION_MAPS: dict[tuple[str, str], Callable[[torch.Tensor], torch.Tensor]] = {
    ("colour", "colour"): lambda delta: delta,
    ("gray", "gray"): lambda delta: delta,
    ("colour", "gray"): lambda delta: delta.mean(dim=1, keepdim=True),
    ("gray", "colour"): lambda delta: delta.expand(-1, 3, -1, -1),
}


def map_perturbation(delta: torch.Tensor, source_kind: str, target_kind: str) -> torch.Tensor:
    try:
        return PERTURBATION_MAPS[(source_kind, target_kind)](delta)
    except KeyError:
        raise ValueError(
            f"no perturbation map from input kind {source_kind!r} to {target_kind!r}; "
            f"known: {', '.join(f'{a}->{b}' for a, b in PERTURBATION_MAPS)}"
        ) from None


@dataclass
class AdversarialSet:
    """One model's adversarial examples for a sample, in that model's input space."""

    input_kind: str  # "colour" or "gray"
    clean: torch.Tensor  # (N, C, H, W)
    adversarial: torch.Tensor  # (N, C, H, W)

    @property
    def perturbation(self) -> torch.Tensor:
        return self.adversarial - self.clean


@dataclass
class TransferResult:
    names: list[str]  # row order = source (made on), column order = target (scored on)
    success: np.ndarray  # (S, T) share of samples where the target model reaches the goal
    target_probability: np.ndarray  # (S, T) mean probability of the attacked class (targeted) /
    # top wrong class (untargeted) on the target model
    accuracy: np.ndarray  # (S, T) share the target model still classifies as the true label


@torch.no_grad()
def transfer_matrix(
    examples: Mapping[str, AdversarialSet],
    models: Mapping[str, tuple[nn.Module, str]],
    labels: torch.Tensor,
    target: int | None = None,
    target_confidence: float | None = None,
) -> TransferResult:
    """Score every source's perturbations on every model. ``models`` maps a name to
    (network, input kind) and must cover the sources; each model's clean view of the sample is
    ``examples[name].clean``. ``target`` None = untargeted success (no longer the label)."""
    names = list(examples)
    missing = [name for name in names if name not in models]
    if missing:
        raise ValueError(f"transfer_matrix: no model given for source(s) {', '.join(missing)}")
    shape = (len(names), len(names))
    success, probability, accuracy = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for j, scored_on in enumerate(names):
        network, kind = models[scored_on]
        was_training = network.training
        network.eval()
        clean = examples[scored_on].clean
        labels_on = torch.as_tensor(labels, device=clean.device).long()
        classes = labels_on if target is None else torch.full_like(labels_on, int(target))
        for i, made_on in enumerate(names):
            source = examples[made_on]
            delta = map_perturbation(source.perturbation.to(clean), source.input_kind, kind)
            logits = network((clean + delta).clamp(0.0, 1.0))
            score, ok, prediction = judge(logits, classes, target is not None, target_confidence)
            success[i, j] = ok.float().mean().item()
            probability[i, j] = score.mean().item()
            accuracy[i, j] = (prediction == labels_on).float().mean().item()
        network.train(was_training)
    return TransferResult(names, success, probability, accuracy)
