import numpy as np
import pytest

from lazy_artist.interpret.attention import (
    RegionMeans,
    background_stroke_ratio,
    digit_masks,
    pooled_difference,
    region_means,
    summarise_ratios,
)


def _digit() -> np.ndarray:
    """A 28x28 'digit': a bright bar, an anti-aliased rim around it, background elsewhere."""
    digit = np.zeros((28, 28), dtype=np.uint8)
    digit[9:19, 8:20] = 60  # rim: neither stroke nor background
    digit[10:18, 9:19] = 255  # stroke
    return digit


def test_masks_split_stroke_background_and_leave_the_rim_out():
    masks = digit_masks(_digit()[None])
    assert masks.stroke.sum() == 8 * 10
    assert masks.background.sum() == 28 * 28 - 10 * 12
    assert not np.any(masks.stroke & masks.background)


def test_ratio_on_constructed_maps():
    digit = _digit()
    masks = digit_masks(digit[None])
    on_stroke = masks.stroke[0] * 1.0 + masks.background[0] * 0.2
    uniform = np.full((28, 28), 0.7)
    rim_only = (~masks.stroke[0] & ~masks.background[0]) * 1.0  # nothing on either region
    off_stroke = masks.background[0] * 0.5
    maps = np.stack([on_stroke, uniform, rim_only, off_stroke, 3 * on_stroke])
    ratios = background_stroke_ratio(maps, np.repeat(digit[None], 5, axis=0))
    assert ratios[0] == pytest.approx(0.2)
    assert ratios[1] == pytest.approx(1.0)
    assert np.isnan(ratios[2])
    assert np.isinf(ratios[3])
    assert ratios[4] == pytest.approx(0.2), "the ratio does not depend on the map's scale"


def test_bad_maps_are_rejected():
    digits = _digit()[None]
    with pytest.raises(ValueError, match="non-negative"):
        background_stroke_ratio(-np.ones((1, 28, 28)), digits)
    with pytest.raises(ValueError, match="differ in shape"):
        background_stroke_ratio(np.ones((2, 28, 28)), digits)


def test_pooled_ratio_summary_and_paired_difference():
    # Image 0: all on the stroke; image 1: uniform; image 2: nothing on the stroke.
    means = RegionMeans(background=np.array([0.0, 1.0, 0.5]), stroke=np.array([1.0, 1.0, 0.0]))
    assert means.ratios()[:2].tolist() == [0.0, 1.0] and np.isinf(means.ratios()[2])
    assert means.pooled_ratio() == pytest.approx(1.5 / 2.0)
    assert means.pooled_ratio(np.array([1, 1])) == pytest.approx(1.0)
    summary = summarise_ratios(means, n_boot=200)
    assert summary.pooled == pytest.approx(0.75) and summary.n == 3 and summary.n_off_stroke == 1
    assert summary.median == 1.0  # the off-stroke image counts as +inf
    assert summary.ci_low <= summary.pooled <= summary.ci_high


def test_paired_difference_detects_a_shift_and_not_noise():
    rng = np.random.default_rng(0)
    stroke = rng.uniform(0.5, 1.0, 400)
    base = RegionMeans(background=0.3 * stroke * rng.uniform(0.5, 1.5, 400), stroke=stroke)
    shifted = RegionMeans(background=base.background + 0.1, stroke=stroke)
    rise = pooled_difference(shifted, base, n_boot=300)
    assert rise.estimate == pytest.approx(0.1 / stroke.mean())
    assert rise.low > 0
    same = pooled_difference(base, RegionMeans(base.background.copy(), stroke), n_boot=300)
    assert same.low <= 0 <= same.high
    with pytest.raises(ValueError, match="same images"):
        pooled_difference(base, RegionMeans(np.ones(3), np.ones(3)))


def test_region_means_match_the_masks():
    digit = _digit()
    masks = digit_masks(digit[None])
    heat = masks.stroke[0] * 0.8 + masks.background[0] * 0.2
    means = region_means(heat[None], digit[None])
    assert means.stroke[0] == pytest.approx(0.8) and means.background[0] == pytest.approx(0.2)
