"""A fully connected network (FCNN) for T7's inductive-bias comparison.

It flattens the image first, so it treats pixels as an unordered vector: a fixed permutation
of the pixels (applied to training and test alike) changes nothing it can learn, whereas a CNN
loses the spatial prior of its local, shared filters.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lazy_artist.models import register_model


@register_model("mlp")
class MLP(nn.Module):
    def __init__(
        self,
        in_channels: int = 1,
        side: int = 28,
        hidden: Sequence[int] = (256, 128),
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        hidden = [int(width) for width in hidden]
        if not hidden or min(hidden) < 1:
            raise ValueError(f"hidden must list at least one positive layer width, got {hidden}")
        self.config = {
            "in_channels": in_channels,
            "side": side,
            "hidden": hidden,
            "num_classes": num_classes,
        }
        layers: list[nn.Module] = []
        width = in_channels * side * side
        for out in hidden:
            layers += [nn.Linear(width, out), nn.ReLU()]
            width = out
        self.body = nn.Sequential(nn.Flatten(), *layers)
        self.fc = nn.Linear(width, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate vector (N, hidden[-1]) the linear head reads."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))
