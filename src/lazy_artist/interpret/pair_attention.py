"""Grad-CAM over groups of images (aligned / conflicting colourings of the same digits) and the
background/stroke attention of each group: what T3 measures per model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from lazy_artist.data.canvas import CanvasSplit
from lazy_artist.interpret.attention import (
    RatioSummary,
    RegionMeans,
    region_means,
    summarise_ratios,
)
from lazy_artist.interpret.gradcam import GradCam, grad_cam

if TYPE_CHECKING:
    from lazy_artist.zoo import StudyModel

# Which class a Grad-CAM map explains: the model's prediction (where it found what it decided)
# or the true digit (where it found evidence for the right answer).
TARGETS = ("predicted", "true")


@dataclass
class GroupAttention:
    cam: GradCam
    regions: RegionMeans
    summary: RatioSummary

    @property
    def predictions(self) -> np.ndarray:
        return self.cam.probabilities.argmax(axis=1)


def attention_on_groups(
    model: StudyModel, groups: Mapping[str, CanvasSplit], target: str = "predicted", seed: int = 0
) -> dict[str, GroupAttention]:
    """Per group, Grad-CAM at the model's last conv layer for ``target`` ("predicted" or
    "true"), each map's mean on background and stroke, and the group's pooled ratio."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, got {target!r}")
    out = {}
    for name, split in groups.items():
        labels = torch.as_tensor(split.labels) if target == "true" else None
        cam = grad_cam(model.network, model.inputs(split), target=labels)
        regions = region_means(cam.maps, split.digits)
        out[name] = GroupAttention(cam, regions, summarise_ratios(regions, seed=seed))
    return out
