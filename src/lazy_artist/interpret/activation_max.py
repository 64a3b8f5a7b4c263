"""Activation maximisation: synthesise the input that most excites one channel of a layer.

The input starts as seeded noise around mid-gray and is optimised with Adam to maximise an
objective of the channel's activation map, minus an L2 penalty (pull towards mid-gray) and a
total-variation penalty (smoothness). Each step sees the image randomly shifted (jitter), and
every few steps the image is blurred: both keep the optimiser from exploiting pixel-exact
high-frequency patterns. Pixels are kept in [0, 1], the range the models were trained on.

A unit behind a ReLU that is silent on the starting noise gets no gradient at all (and a
prototype that never moves). For the first ``redirect_steps`` steps every ``nn.ReLU`` of the
model therefore passes gradient through its silent units too, unless that would push them
further down ("redirected ReLU" from Olah et al.'s lucid); images whose ordinary gradient is
non-zero keep it. Functional ``F.relu`` calls are not redirected.

Channels are optimised as one batch (image k maximises channel k): the models have no batch
coupling in eval mode, so this equals separate runs and is many times faster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lazy_artist.interpret.filters import gaussian_blur
from lazy_artist.interpret.hooks import PENULTIMATE, get_module, layer_output

Objective = Callable[[torch.Tensor, int], torch.Tensor]


def _flat_maps(acts: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, H*W); a vector layer (N, D) counts as D channels of one position."""
    return acts.flatten(2) if acts.ndim == 4 else acts.unsqueeze(-1)


def channel_max(acts: torch.Tensor, topk: int) -> torch.Tensor:
    """The strongest single position of each channel: (N, C)."""
    return _flat_maps(acts).amax(dim=-1)


def channel_mean(acts: torch.Tensor, topk: int) -> torch.Tensor:
    """The channel's mean over the whole map: rewards a pattern spread everywhere."""
    return _flat_maps(acts).mean(dim=-1)


def topk_mean(acts: torch.Tensor, topk: int) -> torch.Tensor:
    """Mean of the channel's ``topk`` strongest positions: a pattern repeated a few times."""
    flat = _flat_maps(acts)
    return flat.topk(min(topk, flat.shape[-1]), dim=-1).values.mean(dim=-1)


OBJECTIVES: dict[str, Objective] = {
    "channel_max": channel_max,
    "channel_mean": channel_mean,
    "topk_mean": topk_mean,
}


def get_objective(name: str) -> Objective:
    if name not in OBJECTIVES:
        raise ValueError(f"unknown objective {name!r}: choose from {', '.join(OBJECTIVES)}")
    return OBJECTIVES[name]


@dataclass(frozen=True)
class ActMaxConfig:
    steps: int = 256
    lr: float = 0.05
    l2: float = 1e-3  # weight of mean((x - 0.5)^2)
    tv: float = 1e-2  # weight of the mean absolute difference between neighbouring pixels
    jitter: int = 2  # random shift of up to this many pixels each step
    blur_every: int = 8  # blur the image every this many steps (0: never)
    blur_sigma: float = 0.6
    init_std: float = 0.1  # noise around mid-gray at the start
    topk: int = 8  # positions averaged by the topk_mean objective
    redirect_steps: int = 16  # first steps with redirected ReLU gradients (0: never)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 1 or self.lr <= 0 or self.topk < 1:
            raise ValueError("steps and topk must be >= 1 and lr > 0")
        if min(self.l2, self.tv, self.jitter, self.blur_every, self.init_std) < 0:
            raise ValueError("l2, tv, jitter, blur_every and init_std must be >= 0")
        if self.redirect_steps < 0:
            raise ValueError("redirect_steps must be >= 0")


@dataclass
class Prototypes:
    layer: str
    objective: str
    channels: list[int]
    images: np.ndarray  # (K, C, H, W) in [0, 1], one per channel
    values: np.ndarray  # (K,) the objective of channel k on image k (no jitter)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between vertically and horizontally adjacent pixels, per image."""
    dy = (x[..., 1:, :] - x[..., :-1, :]).abs().flatten(1).mean(dim=1)
    dx = (x[..., :, 1:] - x[..., :, :-1]).abs().flatten(1).mean(dim=1)
    return dy + dx


def objective_values(
    model: nn.Module,
    layer: str,
    objective: str,
    images: torch.Tensor | np.ndarray,
    channels: Sequence[int] | None = None,
    topk: int = ActMaxConfig.topk,
    batch_size: int = 512,
) -> np.ndarray:
    """The objective of each listed channel (all if None) on each image: (N, K). This is how
    dataset exemplars are ranked, so prototypes and exemplars are scored the same way."""
    score = get_objective(objective)
    device = next(model.parameters()).device
    rows = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = torch.as_tensor(images[start : start + batch_size]).float().to(device)
            values = score(layer_output(model, layer, batch), topk)
            rows.append((values if channels is None else values[:, list(channels)]).cpu().numpy())
    return np.concatenate(rows)


@dataclass
class ObjectiveTable:
    """Every listed objective of every channel of several layers on a dataset, from one
    forward pass per batch: ``scores[layer][objective]`` is (N, C); ``positions[layer]`` is the
    layer map's H*W (1 for a vector layer, where every objective is the unit's value)."""

    scores: dict[str, dict[str, np.ndarray]]
    positions: dict[str, int]


def objective_tables(
    model: nn.Module,
    layers: Sequence[str],
    objectives: Sequence[str],
    images: torch.Tensor | np.ndarray,
    topk: int = ActMaxConfig.topk,
    batch_size: int = 512,
) -> ObjectiveTable:
    """What :func:`objective_values` gives per (layer, objective), for all of them at once:
    conv outputs are captured by hooks during one ``features()`` pass (a full forward when a
    layer is not reached by it), so the cost is one forward per batch, not one per layer and
    objective."""
    scorers = {name: get_objective(name) for name in objectives}
    convs = [layer for layer in layers if layer != PENULTIMATE]
    device = next(model.parameters()).device
    captured: dict[str, torch.Tensor] = {}

    def keep(layer: str) -> Callable[..., None]:
        def hook(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
            captured[layer] = output

        return hook

    handles = [get_module(model, layer).register_forward_hook(keep(layer)) for layer in convs]
    rows: dict[str, dict[str, list[np.ndarray]]] = {
        layer: {name: [] for name in scorers} for layer in layers
    }
    positions: dict[str, int] = {}
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                batch = torch.as_tensor(images[start : start + batch_size]).float().to(device)
                captured.clear()
                # features() runs the conv layers on its way to the penultimate vector.
                if callable(getattr(model, PENULTIMATE, None)):
                    captured[PENULTIMATE] = model.features(batch)
                if any(layer not in captured for layer in layers):
                    model(batch)
                for layer in layers:
                    if layer not in captured:
                        raise KeyError(f"layer {layer!r} produced no output for this model")
                    acts = captured[layer]
                    positions[layer] = int(np.prod(acts.shape[2:])) if acts.ndim == 4 else 1
                    for name, score in scorers.items():
                        rows[layer][name].append(score(acts, topk).float().cpu().numpy())
    finally:
        for handle in handles:
            handle.remove()
    return ObjectiveTable(
        scores={
            layer: {name: np.concatenate(chunks) for name, chunks in per.items()}
            for layer, per in rows.items()
        },
        positions=positions,
    )


class _RedirectedReLU(torch.autograd.Function):
    """ReLU forward; backward lets gradient reach silent units of images that get none."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x.clamp_min(0.0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        ordinary = torch.where(x > 0, grad, torch.zeros_like(grad))
        # Gradient descent on the loss moves x by -grad: where x is already negative and
        # grad > 0 that would push it lower, so those stay blocked.
        redirected = torch.where((x <= 0) & (grad > 0), torch.zeros_like(grad), grad)
        gets_some = ordinary.flatten(1).abs().sum(dim=1) > 0
        return torch.where(gets_some.view(-1, *[1] * (x.ndim - 1)), ordinary, redirected)


@contextmanager
def redirected_relus(model: nn.Module) -> Iterator[None]:
    """While open, every ``nn.ReLU`` of the model back-propagates as ``_RedirectedReLU``."""

    def hook(_module: nn.Module, inputs: tuple, _output: torch.Tensor) -> torch.Tensor:
        return _RedirectedReLU.apply(inputs[0])

    handles = [
        module.register_forward_hook(hook)
        for module in model.modules()
        if isinstance(module, nn.ReLU)
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _jitter(x: torch.Tensor, amount: int, generator: torch.Generator) -> torch.Tensor:
    if amount == 0:
        return x
    dy, dx = torch.randint(-amount, amount + 1, (2,), generator=generator).tolist()
    return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))


def visualise_channels(
    model: nn.Module,
    layer: str,
    channels: Sequence[int],
    objective: str = "channel_mean",
    config: ActMaxConfig | None = None,
    input_shape: tuple[int, int, int] = (3, 28, 28),
) -> Prototypes:
    """One prototype per channel of ``layer`` (a conv layer name or the penultimate)."""
    config = config or ActMaxConfig()
    score = get_objective(objective)
    channels = [int(c) for c in channels]
    if not channels:
        raise ValueError("no channels to visualise")
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(config.seed)
    start = 0.5 + config.init_std * torch.randn((len(channels), *input_shape), generator=generator)
    x = start.clamp(0.0, 1.0).to(device).requires_grad_(True)
    optimiser = torch.optim.Adam([x], lr=config.lr)
    index = torch.arange(len(channels), device=device)
    target = torch.tensor(channels, device=device)
    model.eval()
    for step in range(1, config.steps + 1):
        optimiser.zero_grad(set_to_none=True)
        if step <= config.redirect_steps:
            with redirected_relus(model):
                acts = layer_output(model, layer, _jitter(x, config.jitter, generator))
        else:
            acts = layer_output(model, layer, _jitter(x, config.jitter, generator))
        gain = score(acts, config.topk)[index, target]
        penalty = config.l2 * ((x - 0.5) ** 2).flatten(1).mean(dim=1) + config.tv * total_variation(
            x
        )
        # Summed over the batch: each image's gradient depends on its own term only.
        (penalty - gain).sum().backward()
        optimiser.step()
        with torch.no_grad():
            if config.blur_every and step % config.blur_every == 0 and step < config.steps:
                x.copy_(gaussian_blur(x, config.blur_sigma))
            x.clamp_(0.0, 1.0)
    images = x.detach()
    values = objective_values(model, layer, objective, images, topk=config.topk)
    return Prototypes(
        layer=layer,
        objective=objective,
        channels=channels,
        images=images.cpu().numpy(),
        values=values[np.arange(len(channels)), channels],
    )
