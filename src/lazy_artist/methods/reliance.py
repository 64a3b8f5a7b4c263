"""How much a trained method still reads colour: T1's colour-cheating probe, per T4 run.

Every probe digit is painted each of the 10 palette colours; the score is the share of
(digit, colour) pairs, digit != colour, that the model reads as the colour's digit. A pure
colour reader scores ~1, a pure shape reader about its error rate / 9. A gray-input model
never sees the paint, so it has no score.
"""

from __future__ import annotations

import torch
from torch import nn

from lazy_artist.data.canvas import CanvasSplit
from lazy_artist.metrics import colour_probe, colour_probe_predictions


def colour_following(
    network: nn.Module,
    input_kind: str,
    split: CanvasSplit,
    n_images: int | None = 2000,
    seed: int = 0,
    device: torch.device | str = "cpu",
    *,
    bg_range: tuple[float, float],
) -> float | None:
    """Pooled colour-following share of ``network`` on the first ``n_images`` of ``split``
    (None: all), its digits repainted on backgrounds from ``bg_range`` (the canvas's own);
    None for a gray-input network."""
    if input_kind == "gray":
        return None
    if input_kind != "colour":
        raise ValueError(f"input_kind must be 'colour' or 'gray', got {input_kind!r}")
    count = len(split) if n_images is None else min(int(n_images), len(split))
    was_training = network.training
    network.eval()
    try:
        predictions = colour_probe_predictions(
            network, split.digits[:count], seed=seed, device=device, bg_range=bg_range
        )
    finally:
        network.train(was_training)
    return colour_probe(predictions, split.labels[:count]).follows_overall
