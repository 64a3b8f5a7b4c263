"""The per-run colour probe: 1 for a model that reads only colour, ~0 for one that reads shape."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lazy_artist.data.canvas import PALETTE
from lazy_artist.methods.reliance import colour_following
from tests.methods.test_algorithms import tiny_canvas


class ColourReader(nn.Module):
    """Un-mixes the stroke colour from the (known) ink of each probe digit, pixel = bg*(1-a) +
    a*colour, and predicts the nearest palette colour: it reads colour and nothing else."""

    def __init__(self, digits) -> None:
        super().__init__()
        self.register_buffer("palette", torch.as_tensor(PALETTE, dtype=torch.float32))
        self.register_buffer("alpha", torch.as_tensor(digits / 255.0).flatten(1).float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        alpha, pixels = self.alpha[: len(x)], x.flatten(2)  # (B, P), (B, 3, P)
        blank = (alpha == 0).float()[:, None]
        background = (pixels * blank).sum(2) / blank.sum(2)  # (B, 3)
        ink = (alpha >= 0.5 * alpha.amax(1, keepdim=True)).float()[:, None]
        unmixed = (pixels - background[..., None] * (1 - alpha[:, None])) / alpha[
            :, None
        ].clamp_min(1e-3)
        colour = (unmixed * ink).sum(2) / ink.sum(2)
        return -torch.cdist(colour, self.palette)


class LabelOracle(nn.Module):
    """Knows every probe digit's true label (by its position in the batch): reads shape only."""

    def __init__(self, labels) -> None:
        super().__init__()
        self.labels = torch.as_tensor(labels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        labels = self.labels[: len(x)]
        return nn.functional.one_hot(labels, 10).float()


CANVAS_RANGE = (0.05, 0.25)  # tiny_canvas's background range (the canvas default)


@pytest.fixture(scope="module")
def split():
    canvas = tiny_canvas(n_train=64)
    assert canvas.bg_range == CANVAS_RANGE
    return canvas["hard_test"]


def test_a_colour_reader_follows_colour_every_time(split):
    reader = ColourReader(split.digits[:50])
    assert colour_following(
        reader, "colour", split, n_images=50, bg_range=CANVAS_RANGE
    ) == pytest.approx(1.0)


def test_a_shape_reader_never_follows_colour(split):
    assert (
        colour_following(
            LabelOracle(split.labels[:50]), "colour", split, n_images=50, bg_range=CANVAS_RANGE
        )
        == 0.0
    )


def test_gray_models_have_no_score_and_bad_kinds_are_rejected(split):
    reader = ColourReader(split.digits)
    assert colour_following(reader, "gray", split, bg_range=CANVAS_RANGE) is None
    with pytest.raises(ValueError, match="input_kind"):
        colour_following(reader, "rgb", split, bg_range=CANVAS_RANGE)


def test_the_probe_paints_on_the_background_range_it_is_given(split, monkeypatch):
    import lazy_artist.metrics as metrics

    seen = []
    original = metrics.recolour_all

    def spy(digits, colour, rng, bg_range):
        seen.append(bg_range)
        return original(digits, colour, rng, bg_range=bg_range)

    monkeypatch.setattr(metrics, "recolour_all", spy)
    reader = ColourReader(split.digits[:20])
    # The colour reader un-mixes whatever the background: it still follows colour on a light
    # one, and every probe image was painted on the range given, none on the module default.
    assert colour_following(
        reader, "colour", split, n_images=20, bg_range=(0.7, 0.8)
    ) == pytest.approx(1.0)
    assert seen == [(0.7, 0.8)] * 10
    with pytest.raises(TypeError):
        colour_following(reader, "colour", split, n_images=20)  # no silent default
