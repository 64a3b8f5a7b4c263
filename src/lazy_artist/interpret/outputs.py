"""Which output an attribution explains: the raw logit of the target class, or its softmax
probability. The probability also depends on every other class's logit, so its maps can differ."""

from __future__ import annotations

from collections.abc import Callable

import torch

OUTPUTS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "logits": lambda logits: logits,
    "softmax": lambda logits: torch.softmax(logits, dim=1),
}


def target_scores(logits: torch.Tensor, targets: torch.Tensor, output: str) -> torch.Tensor:
    """(N,) score of each row's target class under ``output`` ("logits" or "softmax")."""
    if output not in OUTPUTS:
        raise ValueError(f"unknown output {output!r}: choose from {', '.join(OUTPUTS)}")
    return OUTPUTS[output](logits).gather(1, targets.view(-1, 1)).squeeze(1)


def as_targets(target: int | torch.Tensor | None, logits: torch.Tensor) -> torch.Tensor:
    """Target classes per row: None = the model's prediction, an int = that class for all."""
    if target is None:
        return logits.argmax(dim=1)
    return torch.as_tensor(target, device=logits.device).long().expand(len(logits)).clone()
