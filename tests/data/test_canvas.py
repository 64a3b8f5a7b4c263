"""T0's canvas: the bias per split, the pixel recipe, persistence and determinism."""

from __future__ import annotations

import numpy as np
import pytest

from lazy_artist.builder.params import check_params
from lazy_artist.data.canvas import (
    BG_RANGE,
    EASY_SPLITS,
    HARD_SPLITS,
    PALETTE,
    SEED_BG_RANGE,
    SPLITS,
    assign_colours,
    build_canvas,
    check_bg_range,
    colourise,
    contingency,
    dominant_colour_table,
    dominant_share,
    grayscale,
    load_canvas,
    recolour_all,
    save_canvas,
)
from lazy_artist.study import STUDY_TASKS


def validate_canvas(params):
    check_params(STUDY_TASKS, ["t0"], {"t0": params})


def test_palette_matches_the_study():
    assert PALETTE.shape == (10, 3)
    assert np.allclose(PALETTE[6] * 255, (255, 128, 0)) and np.allclose(PALETTE[9] * 255, 128)
    assert len({tuple(row) for row in PALETTE}) == 10


@pytest.mark.parametrize("bias", [0.0, 0.5, 0.95, 1.0])
def test_assign_colours_gives_each_digit_exactly_its_share(bias):
    labels = np.repeat(np.arange(10), [13, 40, 7, 100, 1, 0, 55, 21, 9, 30])
    colours = assign_colours(labels, bias, np.random.default_rng(1))
    for digit in range(10):
        members = labels == digit
        assert np.sum(colours[members] == digit) == int(np.floor(bias * members.sum() + 0.5))
    assert colours.min() >= 0 and colours.max() <= 9


def test_non_dominant_colours_are_spread_over_the_other_nine():
    labels = np.full(90_000, 4)
    colours = assign_colours(labels, 0.0, np.random.default_rng(0))
    counts = np.bincount(colours, minlength=10)
    assert counts[4] == 0
    assert np.all(np.abs(counts[np.arange(10) != 4] / 10_000 - 1) < 0.05)


@pytest.mark.parametrize("bias", [-0.1, 1.5, float("nan")])
def test_bad_bias_is_rejected(bias):
    with pytest.raises(ValueError, match="bias"):
        assign_colours(np.arange(10), bias, np.random.default_rng(0))


def test_split_shares_follow_the_bias(small_canvas):
    shares = {name: dominant_share(small_canvas[name]) for name in SPLITS}
    for name in EASY_SPLITS:
        assert abs(shares[name] - 0.95) < 0.01, (name, shares[name])
    for name in HARD_SPLITS:
        assert shares[name] == 0.0
        split = small_canvas[name]
        assert not np.any(split.colours == split.labels)
    table = dominant_colour_table(small_canvas)
    assert np.all(np.abs(table["train"] - 0.95) < 0.01) and np.all(table["hard_test"] == 0)


def test_split_sizes_and_disjoint_train_val(small_canvas):
    assert small_canvas.sizes() == {
        "train": 3000,
        "val": 1000,
        "conflict_val": 1000,
        "easy_test": 2000,
        "hard_test": 2000,
    }
    train, val = small_canvas["train"], small_canvas["val"]
    assert not set(train.source_index) & set(val.source_index)
    # conflict_val is the same validation digits, recoloured; easy/hard test share their digits.
    assert np.array_equal(val.digits, small_canvas["conflict_val"].digits)
    assert np.array_equal(small_canvas["easy_test"].labels, small_canvas["hard_test"].labels)
    for name in SPLITS:
        split = small_canvas[name]
        assert split.images.shape == (len(split), 3, 28, 28) and split.images.dtype == np.float32
        assert split.gray.shape == (len(split), 1, 28, 28)
        assert 0.0 <= split.images.min() and split.images.max() <= 1.0


def test_contingency_counts_pairs():
    table = contingency(np.array([0, 0, 3, 9]), np.array([0, 5, 3, 0]))
    assert table.sum() == 4 and table[0, 0] == 1 and table[0, 5] == 1 and table[9, 0] == 1


def _one_stroke_pixel() -> np.ndarray:
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    images[:, 10, 12] = 255  # a = 1 at one pixel, a = 0 everywhere else
    return images


def test_pixel_recipe_without_noise():
    images = _one_stroke_pixel()
    out = colourise(images, np.array([0, 6, 9]), np.random.default_rng(0), noise_std=0.0)
    for i, colour in enumerate([0, 6, 9]):
        assert np.allclose(out[i, :, 10, 12], PALETTE[colour])
        background = out[i, :, 0, 0]
        assert np.allclose(background, background[0])  # gray: equal channels
        assert BG_RANGE[0] <= background[0] <= BG_RANGE[1]
        assert np.allclose(out[i, :, 20, 20], background)  # one level for the whole background


def test_pixel_recipe_with_noise_and_half_intensity():
    images = np.zeros((2000, 28, 28), dtype=np.uint8)
    images[:, 5, 5] = 255
    images[:, 6, 6] = 128
    rng = np.random.default_rng(0)
    colours = np.full(2000, 7)
    out = colourise(images, colours, rng)
    stroke = out[:, :, 5, 5]
    assert np.abs(stroke - PALETTE[7]).max() < 0.1  # noise is N(0, 0.02): 5 sigma
    assert np.abs(stroke.mean(axis=0) - np.clip(PALETTE[7], 0.01, 0.99)).max() < 0.01
    clean = colourise(images, colours, np.random.default_rng(5), noise_std=0.0)
    a = 128 / 255
    bg = clean[:, 0, 0, 0]
    expected = bg[:, None] * (1 - a) + a * PALETTE[7][None, :]
    assert np.allclose(clean[:, :, 6, 6], expected, atol=1e-6)


def test_grayscale_has_no_colour_and_a_white_stroke():
    out = grayscale(_one_stroke_pixel(), np.random.default_rng(0), noise_std=0.0)
    assert out.shape == (3, 1, 28, 28)
    assert np.allclose(out[:, 0, 10, 12], 1.0)


def test_recolour_all_paints_one_colour():
    out = recolour_all(_one_stroke_pixel(), 2, np.random.default_rng(0))
    assert np.abs(out[:, :, 10, 12] - PALETTE[2]).max() < 0.1
    with pytest.raises(ValueError):
        recolour_all(_one_stroke_pixel(), 10, np.random.default_rng(0))


def test_save_load_roundtrip(small_canvas, tmp_path):
    path = save_canvas(small_canvas, tmp_path / "canvas.npz")
    loaded = load_canvas(path)
    assert loaded.bias == small_canvas.bias and loaded.seed == small_canvas.seed
    assert loaded.meta == small_canvas.meta and loaded.bg_range == BG_RANGE
    for name in SPLITS:
        for field in ("images", "gray", "labels", "colours", "digits", "source_index"):
            expected, actual = getattr(small_canvas[name], field), getattr(loaded[name], field)
            assert actual.dtype == expected.dtype and np.array_equal(actual, expected), (
                name,
                field,
            )


def test_same_seed_same_canvas_other_seed_differs(hub_mnist, small_canvas):
    again = build_canvas(hub_mnist, bias=0.95, seed=0, n_train=3000, n_val=1000, n_test=2000)
    other = build_canvas(hub_mnist, bias=0.95, seed=1, n_train=3000, n_val=1000, n_test=2000)
    for name in SPLITS:
        assert np.array_equal(again[name].images, small_canvas[name].images)
        assert np.array_equal(again[name].colours, small_canvas[name].colours)
    assert not np.array_equal(other["train"].source_index, small_canvas["train"].source_index)


def test_bad_sizes_are_rejected(hub_mnist):
    with pytest.raises(ValueError, match="n_train"):
        build_canvas(hub_mnist, n_train=59_000, n_val=5000)
    with pytest.raises(ValueError, match="n_test"):
        build_canvas(hub_mnist, n_test=20_000)
    with pytest.raises(ValueError, match="bias"):
        build_canvas(hub_mnist, bias=2.0, n_train=10, n_val=10, n_test=10)


def test_train_subset_keeps_the_other_splits(small_canvas):
    subset = small_canvas.with_train_subset(10)
    assert len(subset["train"]) == 10
    assert np.array_equal(subset["train"].labels, small_canvas["train"].labels[:10])
    assert np.array_equal(subset["train"].digits, small_canvas["train"].digits[:10])
    for name in ("val", "conflict_val", "easy_test", "hard_test"):
        assert subset[name] is small_canvas[name]
    assert small_canvas.with_train_subset(None) is small_canvas


def test_every_palette_colour_differs_from_every_background_level():
    # The argument of BG_RANGE: on any background level in the range, every palette colour
    # differs from the gray level by at least 0.25 in some channel (gray: 0.502 - 0.25), the
    # coloured ones by at least 0.75. On the seeds' range gray comes within 0.01 of it.
    levels = np.linspace(*BG_RANGE, 101)
    gap = np.abs(PALETTE[:, None, :] - levels[None, :, None]).max(axis=2)  # (colour, level)
    assert gap.min() >= 0.25
    assert np.delete(gap, 9, axis=0).min() >= 0.75
    seed_levels = np.linspace(*SEED_BG_RANGE, 101)
    seed_gap = np.abs(PALETTE[9][None, :] - seed_levels[:, None]).max(axis=1)
    assert seed_gap.min() < 0.01
    # The grayscale copy paints a white stroke: the dark range keeps it visible too.
    assert 1.0 - BG_RANGE[1] >= 0.75


def test_build_canvas_paints_on_the_given_background_range(hub_mnist):
    canvas = build_canvas(
        hub_mnist, seed=0, n_train=200, n_val=100, n_test=100, bg_range=(0.7, 0.8)
    )
    assert canvas.meta["bg_range"] == [0.7, 0.8] and canvas.bg_range == (0.7, 0.8)
    split = canvas["train"]
    background = split.images[:, :, 0, 0]  # MNIST's corner pixel is always background
    assert np.all(split.digits[:, 0, 0] == 0)
    assert 0.7 - 0.1 < background.mean(axis=1).min() and background.mean(axis=1).max() < 0.8 + 0.1
    assert abs(float(np.median(background)) - 0.75) < 0.03
    default = build_canvas(hub_mnist, seed=0, n_train=200, n_val=100, n_test=100)
    assert default.meta["bg_range"] == list(BG_RANGE)
    assert np.median(default["train"].images[:, :, 0, 0]) < BG_RANGE[1]


@pytest.mark.parametrize(
    "bad", [(0.5, 0.2), (-0.1, 0.2), (0.2, 1.5), (0.1,), "dark", (float("nan"), 0.2)]
)
def test_bad_bg_range_is_rejected(hub_mnist, bad):
    with pytest.raises(ValueError, match="bg_range"):
        check_bg_range(bad)
    with pytest.raises(ValueError, match="bg_range"):
        build_canvas(hub_mnist, n_train=10, n_val=10, n_test=10, bg_range=bad)


def test_t0_declares_the_background_range_and_contrast_margin():
    params = STUDY_TASKS["t0"].defaults()
    assert tuple(params["bg_range"]) == BG_RANGE
    assert 0 < params["contrast_margin"] < 0.25  # below gray's worst case on this range
    validate_canvas(params)
    for name, value, message in [
        ("bg_range", [0.6, 0.3], "bg_range"),
        ("bg_range", [True, 0.3], "bg_range"),
        ("contrast_margin", 0.0, "contrast_margin"),
        ("contrast_margin", "0.1", "contrast_margin"),
        ("contrast_max_share_below", 1.0, "contrast_max_share_below"),
    ]:
        with pytest.raises(ValueError, match=message):
            validate_canvas({**params, name: value})


def test_recolour_all_uses_the_given_background_range():
    out = recolour_all(_one_stroke_pixel(), 2, np.random.default_rng(0), bg_range=(0.9, 0.9))
    assert np.abs(out[:, :, 0, 0] - 0.9).max() < 0.1
