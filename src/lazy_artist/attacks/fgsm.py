"""Fast Gradient Sign Method: one signed-gradient step of size epsilon (L-infinity), clipped to
the valid pixel range [0, 1]. Untargeted: step up the loss of the true label; targeted: step
down the loss of the target class."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def check_epsilon(epsilon: float) -> float:
    epsilon = float(epsilon)
    if not (epsilon >= 0.0) or epsilon > 1.0:
        raise ValueError(
            f"epsilon={epsilon!r} is not a valid L-infinity budget for pixels in [0, 1]; "
            "use 0 <= epsilon <= 1"
        )
    return epsilon


def fgsm(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    epsilon: float,
    target: torch.Tensor | int | None = None,
) -> torch.Tensor:
    """Adversarial images (same shape, detached). ``target`` given = targeted attack."""
    epsilon = check_epsilon(epsilon)
    x = images.detach().clone().float().requires_grad_(True)
    logits = model(x)
    if target is None:
        loss = F.cross_entropy(logits, labels.long())
        direction = 1.0
    else:
        target = torch.as_tensor(target, device=logits.device).long().expand(len(x))
        loss = F.cross_entropy(logits, target)
        direction = -1.0
    (grad,) = torch.autograd.grad(loss, x)
    return (x + direction * epsilon * grad.sign()).clamp(0.0, 1.0).detach()
