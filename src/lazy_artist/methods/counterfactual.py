"""Counterfactual recolouring in torch: T0's painting recipe, applied to a batch on the fly.

The debiasing methods need new colourings of the *same* digit shapes at every step, so the recipe
of :mod:`lazy_artist.data.canvas` (``pixel = bg * (1 - a) + a * colour + N(0, noise)``, clipped,
``bg ~ U(bg_range)`` per image) is repeated here vectorised on the training device. All randomness
comes from the ``torch.Generator`` passed in, so a seeded run repeats exactly.
"""

from __future__ import annotations

import torch

from lazy_artist.data.canvas import BG_RANGE, N_CLASSES, NOISE_STD, PALETTE

_PALETTE = torch.from_numpy(PALETTE)  # (10, 3) float32 in [0, 1]


def stroke_intensity(digits: torch.Tensor) -> torch.Tensor:
    """The digit intensity ``a`` in [0, 1] as (B, 1, 28, 28) float32, from uint8 or float digits."""
    if digits.dtype == torch.uint8:
        alpha = digits.float() / 255.0  # the same float32 division as canvas._paint
    else:
        alpha = digits.float()
    if alpha.dim() == 3:
        alpha = alpha.unsqueeze(1)
    return alpha


def recolour(
    digits: torch.Tensor,
    colours: torch.Tensor,
    generator: torch.Generator,
    noise_std: float = NOISE_STD,
    bg_range: tuple[float, float] = BG_RANGE,
    quantise: bool = True,
) -> torch.Tensor:
    """Paint each digit's stroke with palette colour ``colours[i]``: (B, 3, 28, 28) float32.

    ``quantise`` rounds to multiples of 1/255 like :func:`lazy_artist.data.canvas.build_canvas`,
    so the counterfactuals come from exactly the distribution of the canvas images."""
    alpha = stroke_intensity(digits)
    if colours.shape != (alpha.shape[0],):
        raise ValueError(f"need one colour per digit: {tuple(colours.shape)} vs {alpha.shape[0]}")
    # Random numbers are drawn on the generator's device, then moved: a CPU generator can feed a
    # CUDA batch (and vice versa) and the stream depends on the seed only.
    gen_device = generator.device
    low, high = bg_range
    bg = torch.rand(alpha.shape[0], generator=generator, device=gen_device) * (high - low) + low
    bg = bg.to(alpha.device).view(-1, 1, 1, 1)
    stroke = _PALETTE.to(alpha.device)[colours.to(alpha.device)].view(-1, 3, 1, 1)
    out = bg * (1.0 - alpha) + alpha * stroke
    if noise_std > 0:
        noise = torch.randn(out.shape, generator=generator, device=gen_device)
        out = out + noise_std * noise.to(alpha.device)
    out = out.clamp_(0.0, 1.0)
    if quantise:
        out = torch.round(out * 255.0) / 255.0
    return out


def random_palette_colours(n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` palette indices drawn uniformly from all 10 colours (int64, generator's device)."""
    return torch.randint(0, N_CLASSES, (n,), generator=generator, device=generator.device)


def random_other_colours(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """For each entry, a colour drawn uniformly from the 9 palette colours other than ``labels[i]``
    (pass digit labels to get non-dominant, "conflicting" colours). Same device as ``labels``."""
    # (d + U{1..9}) % 10 is uniform over the 9 colours that are not d (as in canvas.assign_colours).
    shift = torch.randint(1, N_CLASSES, labels.shape, generator=generator, device=generator.device)
    return (labels + shift.to(labels.device)) % N_CLASSES


def background_mask(digits: torch.Tensor, threshold: float = 0.1) -> torch.Tensor:
    """1 where the stroke intensity ``a`` is below ``threshold`` (background), else 0:
    (B, 1, 28, 28) float32, broadcastable over colour channels."""
    return (stroke_intensity(digits) < threshold).float()


def stroke_mask(digits: torch.Tensor, threshold: float = 0.1) -> torch.Tensor:
    """1 where the stroke intensity ``a`` is at least ``threshold`` (the painted stroke, where the
    canvas puts the colour), else 0: the complement of :func:`background_mask`."""
    return (stroke_intensity(digits) >= threshold).float()
