"""The matched comparison: censoring, the image bootstrap (against stats.bootstrap_ci), the
Wilcoxon test (against scipy), and a check that passes and fails on constructed arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from lazy_artist.attacks.battery import order_statistic
from lazy_artist.attacks.compare import (
    censor,
    compare_min_epsilon,
    compare_pairs,
    image_bootstrap,
    median_ratio,
)
from lazy_artist.stats import bootstrap_ci
from lazy_artist.zoo import MatchedPair

CENSOR = 2.0


def _eps(n: int, seed: int, scale: float = 0.05) -> np.ndarray:
    """Log-normal minimum epsilons well inside (0, 1)."""
    rng = np.random.default_rng(seed)
    return np.clip(scale * np.exp(rng.normal(0.0, 0.4, n)), 1e-3, 0.99)


def test_censor_puts_unbroken_samples_above_every_budget_and_rejects_nonsense():
    assert censor([0.1, math.inf, 0.3], CENSOR).tolist() == [0.1, CENSOR, 0.3]
    with pytest.raises(ValueError, match="must lie above every finite"):
        censor([0.1, 2.5], CENSOR)
    with pytest.raises(ValueError, match="NaN"):
        censor([0.1, math.nan], CENSOR)
    with pytest.raises(ValueError, match="must be > 0"):
        censor([0.0, 0.1], CENSOR)


def test_a_clearly_harder_candidate_passes_the_check():
    reference = [_eps(60, seed) for seed in range(3)]
    rng = np.random.default_rng(9)
    candidate = [r * 3.0 * np.exp(rng.normal(0, 0.1, len(r))) for r in reference]
    result = compare_min_epsilon(
        candidate, reference, CENSOR, backbone="cheater_cnn", candidate_method="cf_invar",
        reference_method="erm", seeds=[0, 1, 2],
    )  # fmt: skip
    assert result.significant and result.interval_excludes_one
    assert result.ratio == pytest.approx(3.0, rel=0.15)
    assert result.ratio_ci95[0] > 1.0
    assert result.harder == "cf_invar" and result.easier == "erm"
    assert result.factor == pytest.approx(result.ratio)
    # The test's unit is the image: 60 images, not 3 x 60 values.
    assert result.test.n == 60 and result.test.p_value < 1e-6
    assert result.per_seed_ratio == pytest.approx([3.0] * 3, rel=0.2)
    assert "the interval excludes 1 and p < alpha" in result.detail()
    record = result.record()
    assert record["significant"] is True and record["n_pairs"] == 180
    assert record["ratio_ci95"] == list(result.ratio_ci95)


def test_a_candidate_no_different_from_erm_fails_the_check():
    reference = [_eps(60, seed) for seed in range(3)]
    rng = np.random.default_rng(4)
    candidate = [r * np.exp(rng.normal(0, 0.3, len(r))) for r in reference]  # noise, no shift
    result = compare_min_epsilon(candidate, reference, CENSOR)
    assert not result.significant
    assert result.ratio_ci95[0] < 1.0 < result.ratio_ci95[1]
    assert "not measurably different" in result.detail()
    assert result.record()["significant"] is False


def test_an_easier_candidate_is_named_the_easier_one_with_the_factor_inverted():
    reference = [_eps(80, 1)]
    candidate = [r / 2.0 for r in reference]
    result = compare_min_epsilon(
        candidate, reference, CENSOR, candidate_method="lff", reference_method="erm"
    )
    assert result.significant and result.harder == "erm" and result.easier == "lff"
    assert result.ratio == pytest.approx(0.5)
    assert result.factor == pytest.approx(2.0)
    lo, hi = result.factor_ci95
    assert lo <= 2.0 <= hi and lo > 1.0


def test_a_small_p_value_alone_is_not_enough_when_the_interval_contains_one():
    # 4 images in 5 a little harder on the candidate, 1 in 5 much easier: the signed-rank test
    # sees a shift, the medians do not (ratio about 1): no winner is named.
    reference = _eps(200, 5)
    shift = np.where(np.arange(200) % 5 == 0, -1.0, 0.1)
    result = compare_min_epsilon([reference * np.exp(shift)], [reference], CENSOR)
    assert result.test.p_value < 0.05
    assert result.ratio_ci95[0] < 1.0 < result.ratio_ci95[1]
    assert not result.significant and "the interval contains 1" in result.detail()


def test_an_interval_excluding_one_is_not_enough_without_a_small_p_value():
    # Five images, each about 3x harder: every bootstrap ratio is near 3, but the exact
    # signed-rank p-value of 5 positive (untied) differences is 2 / 2^5 = 0.0625.
    reference = np.array([0.02, 0.04, 0.05, 0.07, 0.1])
    factors = np.array([3.0, 3.1, 3.2, 3.3, 3.4])
    result = compare_min_epsilon([factors * reference], [reference], CENSOR, n_boot=200)
    assert result.ratio_ci95[0] > 2.0 and result.interval_excludes_one
    assert result.test.p_value == pytest.approx(0.0625) and result.test.test == "wilcoxon_exact"
    assert not result.significant and "p >= 0.05" in result.detail()


def test_the_wilcoxon_test_matches_scipy_on_per_image_mean_log_epsilon():
    reference = [_eps(40, seed) for seed in range(2)]
    rng = np.random.default_rng(2)
    candidate = [r * np.exp(rng.normal(0.2, 0.3, len(r))) for r in reference]
    result = compare_min_epsilon(candidate, reference, CENSOR)
    a = np.log(np.stack(candidate)).mean(axis=0)
    b = np.log(np.stack(reference)).mean(axis=0)
    expected = scipy_stats.wilcoxon(a, b)
    assert result.test.p_value == pytest.approx(expected.pvalue, rel=1e-6)
    assert result.test.statistic == pytest.approx(expected.statistic)


def test_unbroken_on_both_models_says_nothing_and_is_dropped_by_the_test():
    reference = [np.array([0.05, 0.1, math.inf, math.inf, 0.2, 0.08])]
    candidate = [np.array([0.1, 0.3, math.inf, 0.9, 0.5, 0.2])]
    result = compare_min_epsilon(candidate, reference, CENSOR)
    assert result.n_unbroken_reference == 2 and result.n_unbroken_candidate == 1
    # Image 2 is unbroken on both: a zero difference, dropped (Wilcoxon's zero handling);
    # image 3, unbroken on the reference only, counts as the reference being harder there.
    a, b = np.log(censor(candidate[0], CENSOR)), np.log(censor(reference[0], CENSOR))
    assert (a - b)[2] == 0 and (a - b)[3] < 0
    assert result.test.n == 6 and result.test.test == "wilcoxon_normal"  # zeros present
    assert not result.median_censored


def test_a_censored_median_is_flagged_as_a_bound():
    reference = [np.array([0.05, 0.06, 0.07, 0.08])]
    candidate = [np.array([0.5, math.inf, math.inf, math.inf])]
    result = compare_min_epsilon(candidate, reference, CENSOR, n_boot=200)
    assert result.candidate_median == CENSOR and result.median_censored
    assert "the ratio is a bound" in result.detail()


def test_with_one_seed_the_image_bootstrap_is_the_paired_bootstrap_of_the_stats_module():
    reference, candidate = _eps(30, 1), _eps(30, 2, scale=0.08)
    ours = image_bootstrap(candidate[None], reference[None], n_boot=500, seed=7)
    theirs = bootstrap_ci(
        lambda c, r: order_statistic(c, 0.5) / order_statistic(r, 0.5),
        candidate,
        reference,
        n_boot=500,
        seed=7,
        paired=True,
    )
    assert ours == pytest.approx(theirs)


def test_the_image_bootstrap_draws_the_same_images_on_every_seed():
    # Two seeds whose values are identical: any replicate's pooled ratio equals the one-seed
    # ratio of the same draw, so the intervals agree. Independent draws per seed would not.
    reference, candidate = _eps(25, 3), _eps(25, 4, scale=0.1)
    one = image_bootstrap(candidate[None], reference[None], n_boot=300, seed=1)
    two = image_bootstrap(
        np.stack([candidate, candidate]), np.stack([reference, reference]), n_boot=300, seed=1
    )
    assert one == pytest.approx(two)
    assert median_ratio(np.stack([candidate]), np.stack([reference])) == pytest.approx(
        order_statistic(candidate, 0.5) / order_statistic(reference, 0.5)
    )
    with pytest.raises(ValueError, match="one shape"):
        image_bootstrap(candidate[None], reference[None, :10])


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="alpha"):
        compare_min_epsilon([_eps(5, 0)], [_eps(5, 1)], CENSOR, alpha=1.5)
    with pytest.raises(ValueError, match="one array per seed"):
        compare_min_epsilon([_eps(5, 0)], [], CENSOR)
    with pytest.raises(ValueError, match="same images"):
        compare_min_epsilon([_eps(5, 0)], [_eps(6, 1)], CENSOR)


def test_compare_pairs_pools_the_seeds_of_each_backbone():
    pairs = [
        MatchedPair(b, s, "easy_val", m, f"erm@{b}#{s}:easy_val", f"{m}@{b}#{s}:easy_val")
        for b, m in (("cheater_cnn", "cf_invar"), ("lenet_cnn", "lff"))
        for s in (0, 1)
    ]
    labels = {name: name.split(":")[0] for pair in pairs for name in pair.names}
    eps = {labels[pair.reference]: _eps(20, 10 * k) for k, pair in enumerate(pairs)} | {
        labels[pair.candidate]: 2 * _eps(20, 10 * k) for k, pair in enumerate(pairs)
    }
    comparisons = compare_pairs(pairs, eps, labels, CENSOR, n_boot=200)
    assert list(comparisons) == ["cheater_cnn", "lenet_cnn"]
    cheater = comparisons["cheater_cnn"]
    assert (cheater.candidate_method, cheater.reference_method) == ("cf_invar", "erm")
    assert cheater.seeds == [0, 1] and cheater.reference_models == [
        "erm@cheater_cnn#0",
        "erm@cheater_cnn#1",
    ]
    assert cheater.ratio == pytest.approx(2.0) and cheater.significant
    assert cheater.record()["rule"] == "easy_val"
    mixed = [*pairs, MatchedPair("lenet_cnn", 2, "easy_val", "dann", "erm@x", "dann@x")]
    with pytest.raises(ValueError, match="several candidates"):
        compare_pairs(mixed, eps, {**labels, "erm@x": "a", "dann@x": "b"}, CENSOR)
