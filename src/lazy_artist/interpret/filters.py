"""Gaussian blur of image batches: the periodic smoothing of activation maximisation and the
blurred baseline of Integrated Gradients."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def gaussian_kernel1d(sigma: float, radius: int | None = None) -> torch.Tensor:
    """Normalised 1-D Gaussian taps; the radius defaults to 3 sigma (at least 1)."""
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    radius = max(1, int(round(3 * sigma))) if radius is None else radius
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    taps = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return taps / taps.sum()


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur (N, C, H, W) per channel with a separable Gaussian; borders are reflected so the
    image's mean level is kept at the edges (zero padding would darken them)."""
    # Reflection needs the pad to be smaller than the image side.
    radius = min(max(1, int(round(3 * sigma))), images.shape[-1] - 1, images.shape[-2] - 1)
    taps = gaussian_kernel1d(sigma, radius).to(images.device, images.dtype)
    channels = images.shape[1]
    horizontal = taps.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)
    vertical = taps.view(1, 1, -1, 1).repeat(channels, 1, 1, 1)
    out = F.pad(images, (radius, radius, 0, 0), mode="reflect")
    out = F.conv2d(out, horizontal, groups=channels)
    out = F.pad(out, (0, 0, radius, radius), mode="reflect")
    return F.conv2d(out, vertical, groups=channels)
