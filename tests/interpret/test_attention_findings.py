"""The seed-pooled attention findings: estimates, the two-stage bootstrap, checks that can fail."""

import numpy as np
import pytest

from lazy_artist.interpret.attention import RegionMeans, pooled_difference
from lazy_artist.interpret.attention_findings import (
    MOVES_OFF,
    SPREADS_MORE,
    STABLE,
    backbone_findings,
    difference,
    identity,
    relative_rise,
    seed_pooled,
)

RNG = np.random.default_rng(0)
N = 300


def _means(ratio: float, n: int = N, noise: float = 0.05, seed: int = 0) -> RegionMeans:
    """Maps whose pooled background/stroke ratio is about ``ratio``."""
    rng = np.random.default_rng(seed)
    stroke = rng.uniform(0.5, 1.0, n)
    background = np.clip(ratio * stroke + rng.normal(0, noise, n), 0, None)
    return RegionMeans(background=background, stroke=stroke)


def test_the_estimate_is_the_mean_of_the_per_seed_pooled_ratios():
    seeds = [_means(0.2, seed=1), _means(0.4, seed=2), _means(0.6, seed=3)]
    pooled = seed_pooled(identity, seeds, n_boot=300)
    expected = [m.pooled_ratio() for m in seeds]
    assert pooled.per_seed == pytest.approx(expected)
    assert pooled.estimate == pytest.approx(np.mean(expected))
    assert pooled.n_seeds == 3 and pooled.n_images == N
    assert pooled.low <= pooled.estimate <= pooled.high
    # Three seeds far apart: the interval spans most of their range, not just image noise.
    assert pooled.low < 0.35 and pooled.high > 0.45
    assert pooled.record()["ci95"] == [pooled.low, pooled.high]


def test_one_seed_is_a_paired_bootstrap_over_pairs():
    after, before = _means(0.5, seed=4), _means(0.3, seed=4)
    pooled = seed_pooled(difference, [after], [before], n_boot=1000, seed=1)
    reference = pooled_difference(after, before, n_boot=1000, seed=1)
    assert pooled.estimate == pytest.approx(reference.estimate)
    # Different random draws, the same procedure: the intervals agree to bootstrap noise.
    assert pooled.low == pytest.approx(reference.low, abs=0.01)
    assert pooled.high == pytest.approx(reference.high, abs=0.01)
    assert pooled.low > 0


def test_seeds_that_disagree_give_an_interval_across_zero():
    # Two seeds show a clear rise, one a clear fall: pooled over images alone this would look
    # significant; the seed stage of the bootstrap does not let it.
    after = [_means(0.6, seed=5), _means(0.6, seed=6), _means(0.2, seed=7)]
    before = [_means(0.3, seed=5), _means(0.3, seed=6), _means(0.5, seed=7)]
    pooled = seed_pooled(difference, after, before, n_boot=1000)
    assert pooled.estimate > 0
    assert pooled.low < 0 < pooled.high
    assert sorted(np.sign(pooled.per_seed)) == [-1, 1, 1]


def test_relative_rise_and_undefined_statistics():
    assert relative_rise(np.array([1.1]), np.array([1.0])) == pytest.approx([0.1])
    # Maps that are zero everywhere have no ratio: the interval is NaN, so a check on it fails.
    empty = RegionMeans(background=np.zeros(20), stroke=np.zeros(20))
    pooled = seed_pooled(identity, [empty], n_boot=50)
    assert np.isnan(pooled.low) and np.isnan(pooled.high)
    assert not pooled.low > 0 and not pooled.high <= 1.0


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="one RegionMeans per seed"):
        seed_pooled(difference, [_means(0.3)], [_means(0.3), _means(0.3)])
    with pytest.raises(ValueError, match="same images"):
        seed_pooled(identity, [_means(0.3, n=10), _means(0.3, n=12)])
    with pytest.raises(ValueError, match="same images"):
        seed_pooled(difference, [_means(0.3, n=10)], [_means(0.3, n=12)])
    with pytest.raises(ValueError, match="n_boot"):
        seed_pooled(identity, [_means(0.3)], n_boot=0)
    with pytest.raises(ValueError, match="at least one"):
        seed_pooled(identity, [])


def _regions(erm: tuple[float, float], other: tuple[float, float], seeds: int = 3):
    return {
        method: {
            group: [_means(level, seed=10 * s + g) for s in range(seeds)]
            for g, (group, level) in enumerate(zip(("aligned", "conflicting"), levels, strict=True))
        }
        for method, levels in (("erm", erm), ("cf_invar", other))
    }


def test_backbone_findings_hold_for_a_cheater_and_a_stable_debiased_model():
    found = backbone_findings(
        "cheater_cnn", "erm", "cf_invar", _regions((0.3, 0.8), (0.3, 0.3)), 0.1, n_boot=300
    )
    assert [f.kind for f in found] == [MOVES_OFF, SPREADS_MORE, STABLE]
    assert [f.name for f in found] == [
        "erm_attention_spreads_on_conflicting [cheater_cnn]",
        "erm_spreads_more_than_cf_invar [cheater_cnn]",
        "cf_invar_attention_stable [cheater_cnn]",
    ]
    assert all(f.passed for f in found), [f.detail for f in found]
    assert found[0].stat.estimate == pytest.approx(0.5, abs=0.02)
    assert "3 seed(s) x 300 pairs" in found[0].detail
    assert (
        found[1].record()["other"] == "cf_invar" and found[1].record()["backbone"] == "cheater_cnn"
    )


def test_backbone_findings_fail_when_the_attention_does_not_move():
    # ERM does not move and the debiased model drifts off the stroke: all three fail.
    found = backbone_findings(
        "lenet_cnn", "erm", "cf_invar", _regions((0.4, 0.4), (0.3, 0.6)), 0.1, n_boot=300
    )
    assert [f.passed for f in found] == [False, False, False]
    assert found[2].stat.estimate == pytest.approx(1.0, abs=0.1)
    assert "required: upper bound <= 0.1" in found[2].detail
    with pytest.raises(ValueError, match="same seeds"):
        regions = _regions((0.4, 0.4), (0.3, 0.6))
        regions["cf_invar"]["conflicting"] = regions["cf_invar"]["conflicting"][:2]
        backbone_findings("lenet_cnn", "erm", "cf_invar", regions, 0.1)
