"""What every method is (base class, batch, registry), and ERM, the plain classifier.

An :class:`Algorithm` wraps one backbone (``network``: input -> logits, built through the model
registry) and owns its optimiser(s): ``update(batch, epoch)`` takes one optimisation step and
returns its loss terms as floats, ``predict(x)`` gives logits. :data:`REGISTRY` maps each
registered name to its class; :mod:`lazy_artist.methods.algorithms` registers the debiasing
methods beside the two here.

ERM (and its grayscale-input form) lives here, not with the debiasing methods, because T7
trains plain classifiers as ERM too (as in DomainBed, ERM is an algorithm like the others):
a task's cache key hashes the modules it reaches, and T7 reaching this module alone means an
edit to one debiasing method never re-runs T7.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from lazy_artist.data.canvas import BG_RANGE
from lazy_artist.methods.counterfactual import random_other_colours, recolour
from lazy_artist.models import build_model

N_CLASSES = 10


@dataclass
class Batch:
    """One training batch. The trainer fills only the fields the method lists in
    ``batch_fields`` (the others stay None), so unused arrays are never gathered."""

    images: torch.Tensor | None = None  # (B, 3, 28, 28) float in [0, 1]
    gray: torch.Tensor | None = None  # (B, 1, 28, 28) float in [0, 1]
    labels: torch.Tensor | None = None  # (B,) int64
    colours: torch.Tensor | None = None  # (B,) int64 palette index on the stroke
    digits: torch.Tensor | None = None  # (B, 28, 28) uint8: the MNIST digit, for recolouring
    generator: torch.Generator | None = None  # seeded stream for on-the-fly randomness
    index: torch.Tensor | None = None  # (B,) int64 position in the training split


class Algorithm(nn.Module):
    """A debiasing method: the shared ``network`` plus the method's own losses and optimisers."""

    name: ClassVar[str] = ""
    # The privileged information the method uses beyond images and labels (a key of GROUPS);
    # declared by every registered class itself, never inherited.
    privileged: ClassVar[str] = ""
    input_kind: ClassVar[str] = "colour"  # "colour": batch.images; "gray": batch.gray
    batch_fields: ClassVar[tuple[str, ...]] = ("images", "labels")

    def __init__(
        self,
        hparams: Mapping[str, Any],
        backbone: str = "cheater_cnn",
        backbone_kwargs: Mapping[str, Any] | None = None,
        num_classes: int = N_CLASSES,
    ) -> None:
        super().__init__()
        self.hparams = dict(hparams)
        in_channels = 1 if self.input_kind == "gray" else 3
        kwargs = dict(backbone_kwargs or {})
        if kwargs.get("in_channels", in_channels) != in_channels:
            raise ValueError(
                f"{self.name} takes {self.input_kind} input ({in_channels} channels), "
                f"but backbone_kwargs ask for in_channels={kwargs['in_channels']}"
            )
        kwargs.update(in_channels=in_channels, num_classes=num_classes)
        self.backbone = backbone
        self.backbone_kwargs = kwargs
        self.network = build_model(backbone, **kwargs)
        # Repainted digits get the training canvas's background range (the trainer sets it from
        # canvas.meta["bg_range"]), so counterfactuals come from the canvas's own distribution.
        self.bg_range: tuple[float, float] = BG_RANGE
        self.backward_passes = 0  # counted by step()
        self._optimisers: list[torch.optim.Optimizer] = []
        self._schedulers: list[torch.optim.lr_scheduler.LRScheduler] = []
        self.optimiser = self.make_optimiser(self.network.parameters())

    def make_optimiser(self, params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
        """Adam with the common hparams; registered so :meth:`prepare` can schedule it."""
        optimiser = torch.optim.Adam(
            params, lr=self.hparams["lr"], weight_decay=self.hparams["weight_decay"]
        )
        self._optimisers.append(optimiser)
        return optimiser

    def prepare(self, total_steps: int, n_train: int) -> None:
        """Called once by the trainer before the first update (schedules need the run length)."""
        if self.hparams["schedule"] == "cosine":
            self._schedulers = [
                torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, total_steps))
                for opt in self._optimisers
            ]

    def step_schedules(self) -> None:
        for scheduler in self._schedulers:
            scheduler.step()

    def inputs(self, batch: Batch) -> torch.Tensor:
        x = batch.gray if self.input_kind == "gray" else batch.images
        if x is None:
            raise ValueError(
                f"{self.name} needs batch.{'gray' if self.input_kind == 'gray' else 'images'}"
            )
        return x

    def counterfactual(self, batch: Batch) -> torch.Tensor:
        """The batch's digits repainted in a random non-dominant colour (never the label's own)."""
        colours = random_other_colours(batch.labels, batch.generator)
        return recolour(batch.digits, colours, batch.generator, bg_range=self.bg_range)

    def twice(
        self, function: Callable[[torch.Tensor], torch.Tensor], batch: Batch
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``function`` of the batch images and of their counterfactual. Two passes of B images
        rather than one of 2B: measured ~1.4x faster on CPU (smaller activations stay in cache)."""
        return function(batch.images), function(self.counterfactual(batch))

    def step(self, loss: torch.Tensor, *optimisers: torch.optim.Optimizer) -> None:
        """One backward pass of ``loss`` and one update of each optimiser; counted in
        ``backward_passes`` (T4 reports compute per method: DANN's adversary-only steps count)."""
        self.backward_passes += 1
        for optimiser in optimisers:
            optimiser.zero_grad(set_to_none=True)
        # The backward pass outside autocast (PyTorch's advice): its ops take the forward's dtypes.
        with torch.autocast(loss.device.type, enabled=False):
            loss.backward()
        for optimiser in optimisers:
            optimiser.step()

    def update(self, batch: Batch, epoch: int) -> dict[str, float]:
        raise NotImplementedError

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.predict(x)


REGISTRY: dict[str, type[Algorithm]] = {}
# What a method knows beyond the images and labels, in the order T4's tables group them.
GROUPS: dict[str, str] = {
    "colour_generator": "colour generator (repaints digits)",
    "nuisance_labels": "nuisance labels (stroke colour or mask)",
    "none": "none (images and labels only)",
    "oracle": "oracle (grayscale input: the shape-only ceiling)",
}


def register(cls: type[Algorithm]) -> type[Algorithm]:
    if cls.__dict__.get("privileged") not in GROUPS:
        raise TypeError(f"{cls.__name__} must declare privileged, one of {', '.join(GROUPS)}")
    REGISTRY[cls.name] = cls
    return cls


# --------------------------------------------------------------------------------------------
# ERM: plain cross-entropy, the baseline every method is compared with


@register
class ERM(Algorithm):
    """Plain cross-entropy: the cheater."""

    name = "erm"
    privileged = "none"

    def update(self, batch: Batch, epoch: int) -> dict[str, float]:
        loss = F.cross_entropy(self.network(self.inputs(batch)), batch.labels)
        self.step(loss, self.optimiser)
        return {"loss": loss.item()}


@register
class GrayOracle(ERM):
    """ERM on grayscale input. In T4 it is the oracle (no colour to cheat with: the shape-only
    ceiling); T7's classifiers are this class on grayscale data sets."""

    name = "gray_oracle"
    privileged = "oracle"
    input_kind = "gray"
    batch_fields = ("gray", "labels")


def seeded(
    cls: type[Algorithm],
    hparams: Mapping[str, Any],
    seed: int,
    backbone: str = "cheater_cnn",
    backbone_kwargs: Mapping[str, Any] | None = None,
) -> Algorithm:
    """``cls(hparams, ...)`` whose initial weights depend only on ``seed`` (the global torch RNG
    is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return cls(hparams, backbone=backbone, backbone_kwargs=backbone_kwargs)
