"""On-the-fly recolouring: T0's recipe in torch, seeded colour draws, the background mask."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lazy_artist.data.canvas import BG_RANGE, PALETTE, colourise, quantise
from lazy_artist.methods.counterfactual import (
    background_mask,
    random_other_colours,
    random_palette_colours,
    recolour,
    stroke_intensity,
)


def _digits(n: int = 16, seed: int = 0) -> np.ndarray:
    """uint8 digits with a zero background, a bright core and anti-aliased edges."""
    rng = np.random.default_rng(seed)
    digits = np.zeros((n, 28, 28), dtype=np.uint8)
    digits[:, 8:20, 12:16] = 255
    digits[:, 8:20, 11] = rng.integers(1, 255, size=(n, 12))
    return digits


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_recolour_matches_the_canvas_recipe_exactly_without_noise():
    digits = _digits()
    colours = np.arange(len(digits)) % 10
    ours = recolour(
        torch.from_numpy(digits),
        torch.from_numpy(colours),
        _gen(),
        noise_std=0.0,
        bg_range=(0.45, 0.45),
        quantise=False,
    )
    theirs = colourise(
        digits, colours, np.random.default_rng(0), noise_std=0.0, bg_range=(0.45, 0.45)
    )
    assert ours.shape == (16, 3, 28, 28) and ours.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=0, atol=1e-6)
    quantised = recolour(
        torch.from_numpy(digits), torch.from_numpy(colours), _gen(), 0.0, (0.45, 0.45)
    )
    np.testing.assert_allclose(quantised.numpy(), quantise(theirs), rtol=0, atol=1e-6)


def test_recolour_statistics_match_the_canvas():
    digits = _digits(n=400)
    colours = np.full(len(digits), 3)
    ours = recolour(torch.from_numpy(digits), torch.from_numpy(colours), _gen(1)).numpy()
    theirs = quantise(colourise(digits, colours, np.random.default_rng(1)))
    # Background: one gray level per image in BG_RANGE (plus noise), noise std 0.02.
    low, high = BG_RANGE
    for images in (ours, theirs):
        background = images[:, :, :4, :4]
        levels = background.mean(axis=(1, 2, 3))
        assert low - 0.01 < levels.min() and levels.max() < high + 0.01
        assert abs(levels.mean() - (low + high) / 2) < 0.02
        assert abs((background - levels[:, None, None, None]).std() - 0.02) < 0.003
        # The bright core of the stroke is the palette colour itself.
        core = images[:, :, 10:18, 13:15].mean(axis=(0, 2, 3))
        np.testing.assert_allclose(core, PALETTE[3], atol=0.02)
    np.testing.assert_allclose(ours.mean(), theirs.mean(), atol=0.02)  # 3 s.e. of the bg draw
    assert ours.min() >= 0.0 and ours.max() <= 1.0


def test_recolour_is_seeded_and_takes_uint8_or_float_digits():
    digits = torch.from_numpy(_digits())
    colours = torch.arange(16) % 10
    first = recolour(digits, colours, _gen(5))
    again = recolour(digits.float() / 255.0, colours, _gen(5))
    assert torch.equal(first, again)
    assert not torch.equal(first, recolour(digits, colours, _gen(6)))
    with pytest.raises(ValueError, match="one colour per digit"):
        recolour(digits, colours[:3], _gen())


def test_colour_draws():
    gen = _gen(0)
    palette = random_palette_colours(5000, gen)
    assert palette.dtype == torch.int64 and set(palette.tolist()) == set(range(10))
    labels = torch.arange(5000) % 10
    others = random_other_colours(labels, gen)
    assert not torch.any(others == labels)
    # Uniform over the 9 other colours: each shift 1..9 about 1/9 of the time.
    shifts = torch.bincount((others - labels) % 10, minlength=10)
    assert shifts[0] == 0
    assert torch.all((shifts[1:] - 5000 / 9).abs() < 150)


def test_background_mask_covers_background_not_stroke():
    digits = torch.from_numpy(_digits())
    mask = background_mask(digits, threshold=0.1)
    assert mask.shape == (16, 1, 28, 28)
    alpha = stroke_intensity(digits)
    assert torch.all(mask[alpha == 0] == 1)  # empty background
    assert torch.all(mask[alpha == 1] == 0)  # the stroke core
    assert torch.all(mask[:, :, 8:20, 12:16] == 0)
    assert mask.sum() == (alpha < 0.1).sum()
