"""Grad-CAM (Selvaraju et al., 2017), from scratch on PyTorch hooks.

A forward hook on the named conv layer keeps its activation maps A (N, K, h, w) and hangs a
gradient hook on them; the backward pass of the target score fills in dScore/dA. Each map's
weight is the spatial mean of its gradient; the CAM is ReLU(sum_k weight_k * A_k), upsampled
bilinearly to the input size and divided by its maximum (so every map peaks at 1; an all-zero
map stays zero). Model parameters receive no gradients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from lazy_artist.interpret.hooks import capture_output, conv_layer_names, get_module
from lazy_artist.interpret.outputs import as_targets, target_scores
from lazy_artist.precision import channels_last


@dataclass
class GradCam:
    maps: np.ndarray  # (N, H, W) upsampled and normalised to max 1 per image
    raw: np.ndarray  # (N, H, W) upsampled ReLU(weighted sum), before normalisation
    targets: np.ndarray  # (N,) the class each map explains
    probabilities: np.ndarray  # (N, classes) the model's softmax on the inputs
    layer: str = ""  # the conv layer whose activations weighted the map
    resolution: tuple[int, int] = (0, 0)  # (h, w) of that layer's maps, before upsampling


def last_conv_layer(model: nn.Module) -> str:
    names = conv_layer_names(model)
    if not names:
        raise ValueError(f"model {type(model).__name__} has no Conv2d layer for Grad-CAM")
    return names[-1]


def upsample(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, h, w) -> (N, *size) by bilinear interpolation (corners not aligned, as torch's and
    captum's default)."""
    return F.interpolate(maps.unsqueeze(1), size=size, mode="bilinear", align_corners=False)[:, 0]


def normalise_max(maps: torch.Tensor) -> torch.Tensor:
    """Divide each (non-negative) map by its maximum; all-zero maps stay zero."""
    peak = maps.flatten(1).amax(dim=1).clamp_min(1e-12).view(-1, 1, 1)
    return maps / peak


def grad_cam(
    model: nn.Module,
    images: torch.Tensor | np.ndarray,
    layer: str | None = None,
    target: int | torch.Tensor | None = None,
    output: str = "logits",
    batch_size: int = 256,
) -> GradCam:
    """Grad-CAM of ``layer`` (default: the last conv layer) for ``target`` (default: the
    predicted class) of the model's ``output`` ("logits" or "softmax")."""
    layer = layer or last_conv_layer(model)
    module = get_module(model, layer)
    device = next(model.parameters()).device
    images = torch.as_tensor(images).float()
    targets_all = None if target is None or isinstance(target, int) else torch.as_tensor(target)
    raw, chosen, probs = [], [], []
    resolution = (0, 0)
    model.eval()
    for start in range(0, len(images), batch_size):
        # Channels-last: the faster convolution layout on CPU, the same values.
        x = channels_last(images[start : start + batch_size].to(device).clone())
        store: dict[str, torch.Tensor] = {}

        def keep_gradient(grad: torch.Tensor, store: dict = store) -> None:
            store["gradient"] = grad

        def forward_hook(_module, _inputs, out, store: dict = store) -> None:
            store["activation"] = out
            out.register_hook(keep_gradient)

        handle = module.register_forward_hook(forward_hook)
        try:
            with torch.enable_grad():
                # The input needs a graph so the hooked activation's gradient can be taken.
                logits = model(x.requires_grad_(True))
                batch_target = (
                    targets_all[start : start + batch_size].to(device)
                    if targets_all is not None
                    else as_targets(target, logits)
                )
                scores = target_scores(logits, batch_target, output)
                # Rows are independent, so the gradient of the sum is each row's own gradient.
                torch.autograd.backward(scores.sum(), inputs=[store["activation"]])
        finally:
            handle.remove()
        activation, gradient = store["activation"].detach(), store["gradient"].detach()
        if activation.ndim != 4:
            raise ValueError(f"layer {layer!r} outputs {tuple(activation.shape)}, not conv maps")
        resolution = (int(activation.shape[-2]), int(activation.shape[-1]))
        weights = gradient.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * activation).sum(dim=1))
        raw.append(upsample(cam, tuple(images.shape[-2:])).cpu())
        chosen.append(batch_target.cpu())
        probs.append(torch.softmax(logits.detach(), dim=1).cpu())
    raw_maps = torch.cat(raw)
    return GradCam(
        maps=normalise_max(raw_maps).numpy(),
        raw=raw_maps.numpy(),
        targets=torch.cat(chosen).numpy(),
        probabilities=torch.cat(probs).numpy(),
        layer=layer,
        resolution=resolution,
    )


def map_resolution(
    model: nn.Module, sample: torch.Tensor | np.ndarray, layer: str | None = None
) -> tuple[int, int]:
    """(h, w) of the maps Grad-CAM weights at ``layer`` (default: the last conv layer) for
    inputs shaped like ``sample`` (one image or a batch): what a map's detail is limited to
    before it is upsampled to the input size."""
    layer = layer or last_conv_layer(model)
    x = torch.as_tensor(sample).float()
    x = x[None] if x.ndim == 3 else x[:1]
    with torch.no_grad(), capture_output(model, layer) as captured:
        model(x.to(next(model.parameters()).device))
    shape = captured["output"].shape
    if len(shape) != 4:
        raise ValueError(f"layer {layer!r} outputs {tuple(shape)}, not conv maps")
    return int(shape[-2]), int(shape[-1])
