"""T0's stroke/background contrast: the measure, its per-colour summary and the margin check."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lazy_artist.data.canvas import BG_RANGE, SEED_BG_RANGE, SPLITS, build_canvas
from lazy_artist.data.contrast import (
    ColourContrast,
    contrast_by_colour,
    contrast_failures,
    contrast_metrics,
    repainted_contrast,
    split_contrast,
    stroke_contrast,
    weakest,
)

MARGIN, MAX_SHARE = 0.15, 0.01  # T0's defaults


def _hand_image() -> tuple[np.ndarray, np.ndarray]:
    """One 4x4 image: four stroke pixels, two faint rim pixels, ten background pixels."""
    digits = np.zeros((1, 4, 4), dtype=np.uint8)
    image = np.zeros((1, 3, 4, 4), dtype=np.float32)
    image[0, :, :, :] = np.array([0.1, 0.2, 0.3])[:, None, None]  # background
    digits[0, 0, :4] = [255, 255, 128, 255]  # 128/255 = 0.502 >= 0.5: stroke
    image[0, :, 0, 0] = image[0, :, 0, 1] = (0.9, 0.5, 0.1)
    image[0, :, 0, 2] = image[0, :, 0, 3] = (0.7, 0.5, 0.3)
    digits[0, 1, :2] = 100  # 100/255 < 0.5: rim, neither stroke nor background
    image[0, :, 1, :2] = 1.0
    return image, digits


def test_stroke_contrast_hand_computed() -> None:
    image, digits = _hand_image()
    # Mean stroke (0.8, 0.5, 0.2) vs background (0.1, 0.2, 0.3): differences 0.7, 0.3, 0.1.
    assert stroke_contrast(image, digits) == pytest.approx([0.7])
    # A stricter stroke threshold drops the 128 pixel: mean stroke (0.8333, 0.5, 0.1667).
    assert stroke_contrast(image, digits, stroke_alpha=0.9) == pytest.approx([0.8 + 1 / 30 - 0.1])


def test_stroke_contrast_rejects_bad_input() -> None:
    image, digits = _hand_image()
    with pytest.raises(ValueError, match="same N"):
        stroke_contrast(image, digits[:, :3])
    with pytest.raises(ValueError, match="no stroke"):
        stroke_contrast(image, np.zeros_like(digits))
    with pytest.raises(ValueError, match="stroke_alpha"):
        stroke_contrast(image, digits, stroke_alpha=0.0)


def test_contrast_by_colour_summarises_each_palette_colour() -> None:
    contrast = np.array([0.1, 0.2, 0.3, 0.5, 0.05, 0.6])
    colours = np.array([9, 9, 9, 0, 0, 3])
    summaries = contrast_by_colour(contrast, colours, margin=0.15)
    assert [s.colour for s in summaries] == list(range(10))
    gray, red, yellow, green = summaries[9], summaries[0], summaries[3], summaries[1]
    assert (gray.name, gray.n, gray.median) == ("gray", 3, pytest.approx(0.2))
    assert gray.share_below == pytest.approx(1 / 3)
    assert (red.n, red.share_below, red.median) == (2, 0.5, pytest.approx(0.275))
    assert (yellow.n, yellow.share_below) == (1, 0.0)
    assert green.n == 0 and math.isnan(green.median) and math.isnan(green.share_below)
    metrics = contrast_metrics({"train": summaries})
    assert metrics["contrast_median_train"][9] == pytest.approx(0.2)
    assert metrics["contrast_share_below_train"][0] == 0.5


def test_contrast_failures_names_the_failing_colour_and_split() -> None:
    summaries = contrast_by_colour(np.full(10, 0.5), np.arange(10), margin=0.15)
    low_gray = contrast_by_colour(np.r_[np.full(9, 0.5), 0.05], np.arange(10), margin=0.15)
    assert contrast_failures({"train": summaries}, MAX_SHARE) == []
    failures = contrast_failures({"train": summaries, "hard_test": low_gray}, MAX_SHARE)
    assert len(failures) == 1 and failures[0].startswith("gray in hard_test: 100.0% below")
    # A colour measured nowhere cannot be vouched for.
    no_gray = contrast_by_colour(np.full(9, 0.5), np.arange(9), margin=0.15)
    assert contrast_failures({"train": no_gray}, MAX_SHARE) == ["gray: in no split"]
    with pytest.raises(ValueError, match="max_share_below"):
        contrast_failures({"train": summaries}, 1.0)


def test_weakest_picks_the_lowest_median() -> None:
    def summary(colour: int, median: float) -> ColourContrast:
        return ColourContrast(colour, str(colour), 5, median, median, 0.0)

    per_split = {"a": [summary(0, 0.6), summary(1, 0.4)], "b": [summary(0, 0.3)]}
    assert weakest(per_split)["split"] == "b" and weakest(per_split)["median"] == 0.3
    with pytest.raises(ValueError):
        weakest({"a": []})


@pytest.fixture(scope="module")
def canvases(hub_mnist):
    sizes = {"n_train": 3000, "n_val": 500, "n_test": 1500}
    return {
        "seeds": build_canvas(hub_mnist, seed=0, bg_range=SEED_BG_RANGE, **sizes),
        "new": build_canvas(hub_mnist, seed=0, bg_range=BG_RANGE, **sizes),
    }


def test_the_seeds_background_range_fails_the_check_for_gray(canvases) -> None:
    per_split = {name: split_contrast(canvases["seeds"][name], MARGIN) for name in SPLITS}
    failures = contrast_failures(per_split, MAX_SHARE)
    assert failures and all(failure.startswith("gray in ") for failure in failures)
    hard = per_split["hard_test"]
    # The numbers: gray's median about 0.07, the other colours about 0.5.
    assert 0.03 < hard[9].median < 0.1 and hard[9].share_below > 0.5
    assert min(summary.median for summary in hard[:9]) > 0.4


def test_the_new_background_range_passes_for_every_colour(canvases) -> None:
    per_split = {name: split_contrast(canvases["new"][name], MARGIN) for name in SPLITS}
    assert contrast_failures(per_split, MAX_SHARE) == []
    assert weakest(per_split)["colour"] == "gray"
    assert all(summary.p01 > MARGIN for summary in per_split["hard_test"])


def test_repainted_contrast_measures_another_range_without_touching_the_split(canvases) -> None:
    split = canvases["new"]["hard_test"]
    before = split.images.copy()
    seed_range = repainted_contrast(split, SEED_BG_RANGE, MARGIN, seed=0)
    assert np.array_equal(split.images, before)
    assert seed_range[9].share_below > 0.5
    assert contrast_failures({"hard_test": seed_range}, MAX_SHARE)
    same_range = repainted_contrast(split, BG_RANGE, MARGIN, seed=0)
    assert contrast_failures({"hard_test": same_range}, MAX_SHARE) == []
