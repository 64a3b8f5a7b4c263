"""Activations at a named layer of any model: which layers there are, and what they output.

Layers are addressed by their ``named_modules()`` name (``"conv2"``, ``"block.0"``), plus the
pseudo-layer ``PENULTIMATE`` = the vector ``model.features(x)`` that the linear head reads.
Nothing here knows a particular architecture: the conv layers are found, not listed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

PENULTIMATE = "features"  # the model's ``features()`` output: (N, D)
REDUCTIONS = ("mean", "none")


def conv_layer_names(model: nn.Module) -> list[str]:
    """Every ``nn.Conv2d`` of the model, in definition order (shallow to deep)."""
    return [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]


def probe_layer_names(model: nn.Module) -> list[str]:
    """The layers a probe visits: every conv layer, then the penultimate vector if the model
    exposes ``features()``."""
    names = conv_layer_names(model)
    if callable(getattr(model, PENULTIMATE, None)):
        names.append(PENULTIMATE)
    return names


def get_module(model: nn.Module, layer_name: str) -> nn.Module:
    modules = dict(model.named_modules())
    if layer_name not in modules or not layer_name:
        raise KeyError(
            f"model {type(model).__name__} has no layer {layer_name!r}; conv layers are "
            f"{', '.join(conv_layer_names(model)) or '(none)'}"
        )
    return modules[layer_name]


@contextmanager
def capture_output(model: nn.Module, layer_name: str) -> Iterator[dict[str, torch.Tensor]]:
    """While open, every forward pass stores the layer's output (graph attached) in
    ``captured["output"]``."""
    captured: dict[str, torch.Tensor] = {}

    def hook(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        captured["output"] = output

    handle = get_module(model, layer_name).register_forward_hook(hook)
    try:
        yield captured
    finally:
        handle.remove()


def layer_output(model: nn.Module, layer_name: str, x: torch.Tensor) -> torch.Tensor:
    """The layer's output for input ``x`` with the autograd graph kept (for optimisation)."""
    if layer_name == PENULTIMATE:
        if not callable(getattr(model, PENULTIMATE, None)):
            raise KeyError(f"model {type(model).__name__} has no features() method")
        return model.features(x)
    with capture_output(model, layer_name) as captured:
        model(x)
    return captured["output"]


def layer_activations(
    model: nn.Module,
    layer_name: str,
    images: np.ndarray | torch.Tensor,
    reduce: str = "mean",
    batch_size: int = 512,
) -> np.ndarray:
    """Activations of ``layer_name`` for every image, without gradients.

    ``reduce="mean"`` averages conv maps over space: (N, C); ``"none"`` keeps (N, C, H, W).
    Vector layers (the penultimate) are (N, D) either way. The model runs on the device its
    parameters are on; the result is a float32 NumPy array on the CPU.
    """
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {', '.join(REDUCTIONS)}, got {reduce!r}")
    device = next(model.parameters()).device
    chunks = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = torch.as_tensor(images[start : start + batch_size]).float().to(device)
            acts = layer_output(model, layer_name, batch)
            if acts.ndim == 4 and reduce == "mean":
                acts = acts.mean(dim=(2, 3))
            chunks.append(acts.detach().cpu().float().numpy())
    return np.concatenate(chunks) if chunks else np.zeros((0,), dtype=np.float32)
