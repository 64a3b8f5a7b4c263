"""The interval and paired-test helpers against scipy.stats (test-only) and hand-computed cases."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats as sps

from lazy_artist.stats import (
    SHARE_BOUNDS,
    Interval,
    PairedTest,
    bootstrap_ci,
    mean_ci95,
    normal_cdf,
    paired_t_test,
    student_t_cdf,
    student_t_ppf,
    tied,
    wilcoxon_signed_rank,
)


def test_the_module_does_not_import_scipy_at_run_time() -> None:
    code = "import sys, lazy_artist.stats; print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("df", [1, 2, 3, 4, 7, 19, 100, 1000])
@pytest.mark.parametrize("t", [-12.0, -2.5, -0.3, 0.0, 0.7, 1.96, 4.0, 30.0])
def test_t_cdf_matches_scipy(t: float, df: int) -> None:
    assert student_t_cdf(t, df) == pytest.approx(sps.t.cdf(t, df), rel=1e-9, abs=1e-13)


@pytest.mark.parametrize("df", [1, 2, 3, 4, 9, 29, 200])
@pytest.mark.parametrize("p", [0.001, 0.025, 0.3, 0.5, 0.9, 0.975, 0.9995])
def test_t_ppf_matches_scipy(p: float, df: int) -> None:
    assert student_t_ppf(p, df) == pytest.approx(sps.t.ppf(p, df), rel=1e-9, abs=1e-12)


def test_t_ppf_known_table_values() -> None:
    # Textbook table: t_{0.975} for 2 and 4 degrees of freedom.
    assert student_t_ppf(0.975, 2) == pytest.approx(4.302653, abs=1e-6)
    assert student_t_ppf(0.975, 4) == pytest.approx(2.776445, abs=1e-6)


@pytest.mark.parametrize("z", [-6.0, -1.96, -0.5, 0.0, 1.0, 3.3])
def test_normal_cdf_matches_scipy(z: float) -> None:
    assert normal_cdf(z) == pytest.approx(sps.norm.cdf(z), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("bad", [(0.0, 3), (1.0, 3), (0.5, 0)])
def test_t_ppf_rejects_bad_arguments(bad: tuple[float, int]) -> None:
    with pytest.raises(ValueError):
        student_t_ppf(*bad)


def test_mean_ci95_hand_computed() -> None:
    # values 1, 2, 3: mean 2, sd 1, t_{0.975, 2} = 4.302653 -> half width 4.302653 / sqrt(3).
    interval = mean_ci95([1.0, 2.0, 3.0])
    half = 4.302652729911275 / np.sqrt(3.0)
    assert interval == Interval(
        mean=2.0, lo=pytest.approx(2 - half), hi=pytest.approx(2 + half), n=3
    )
    assert interval.as_list() == [interval.lo, interval.hi]


def test_mean_ci95_matches_scipy_interval() -> None:
    values = np.random.default_rng(3).normal(0.8, 0.05, size=7)
    lo, hi = sps.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=sps.sem(values))
    interval = mean_ci95(values)
    assert interval.mean == pytest.approx(values.mean())
    assert interval.lo == pytest.approx(lo, rel=1e-10)
    assert interval.hi == pytest.approx(hi, rel=1e-10)
    assert interval.n == 7


def test_an_accuracy_interval_is_clipped_to_what_an_accuracy_can_be() -> None:
    # LfF's three seeds in a full build: 0.11, 0.69, 0.79 -> the t interval reaches past 1.
    values = [0.1127, 0.6937, 0.7939]
    raw = mean_ci95(values)
    clipped = mean_ci95(values, SHARE_BOUNDS)
    assert raw.lo < 0.0 < 1.0 < raw.hi
    assert (clipped.lo, clipped.hi) == (0.0, 1.0) and clipped.mean == raw.mean
    inside = mean_ci95([0.90, 0.91, 0.92], SHARE_BOUNDS)
    assert inside == mean_ci95([0.90, 0.91, 0.92])  # an interval inside the range is untouched


def test_mean_ci95_degenerate_cases() -> None:
    assert mean_ci95([0.4]) == Interval(mean=0.4, lo=None, hi=None, n=1)
    assert mean_ci95([0.4]).as_list() == [None, None]
    assert mean_ci95([0.25, 0.25, 0.25]) == Interval(mean=0.25, lo=0.25, hi=0.25, n=3)


@pytest.mark.parametrize("bad", [[], [0.1, float("nan")], [float("inf"), 1.0], [[1.0, 2.0]]])
def test_mean_ci95_rejects_bad_input(bad: list) -> None:
    with pytest.raises(ValueError):
        mean_ci95(bad)


def test_paired_t_test_matches_scipy_ttest_rel() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(0.90, 0.02, size=5)
    b = a - rng.normal(0.01, 0.01, size=5)
    result = paired_t_test(a, b)
    reference = sps.ttest_rel(a, b)
    assert result.statistic == pytest.approx(reference.statistic, rel=1e-10)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-8)
    assert result.mean_diff == pytest.approx(np.mean(a - b))
    ci = reference.confidence_interval(0.95)
    assert (result.lo, result.hi) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert result.n == 5 and result.test == "paired_t"


def test_paired_t_test_sign_follows_a_minus_b() -> None:
    a, b = [0.9, 0.92, 0.91], [0.5, 0.52, 0.49]
    assert paired_t_test(a, b).mean_diff > 0
    assert paired_t_test(a, b).statistic > 0
    assert paired_t_test(b, a).statistic < 0
    assert paired_t_test(a, b).p_value == pytest.approx(paired_t_test(b, a).p_value)


def test_paired_t_test_degenerate_cases() -> None:
    one = paired_t_test([0.5], [0.4])
    assert (one.p_value, one.statistic, one.lo, one.hi, one.n) == (None, None, None, None, 1)
    identical = paired_t_test([0.5, 0.6, 0.7], [0.5, 0.6, 0.7])
    assert identical.p_value == 1.0 and identical.mean_diff == 0.0
    shifted = paired_t_test([0.5, 0.6, 0.7], [0.4, 0.5, 0.6])
    assert shifted.p_value == 0.0 and shifted.statistic is None


def test_paired_tests_reject_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        paired_t_test([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="differ in length"):
        wilcoxon_signed_rank([1.0, 2.0], [1.0])


def test_wilcoxon_exact_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    a = rng.exponential(0.3, size=20)
    b = a * rng.uniform(0.6, 1.3, size=20)
    result = wilcoxon_signed_rank(a, b)
    reference = sps.wilcoxon(a, b, method="exact")
    assert result.test == "wilcoxon_exact"
    assert result.statistic == pytest.approx(reference.statistic)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-10)


def test_wilcoxon_exact_hand_computed() -> None:
    # Differences 1, 2, 3 all positive: W- = 0, P(W+ = 6 or W+ = 0) = 2 / 2^3.
    result = wilcoxon_signed_rank([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    assert result.statistic == 0.0
    assert result.p_value == pytest.approx(0.25)


def test_wilcoxon_normal_with_ties_and_zeros_matches_scipy() -> None:
    rng = np.random.default_rng(2)
    # Quantised minimum epsilons, as T5's search returns: many ties and some zero differences.
    a = np.round(rng.uniform(0.0, 0.3, size=120), 2)
    b = np.round(a + rng.normal(0.01, 0.03, size=120), 2)
    result = wilcoxon_signed_rank(a, b)
    reference = sps.wilcoxon(a, b, zero_method="wilcox", correction=False, method="approx")
    assert result.test == "wilcoxon_normal"
    assert result.statistic == pytest.approx(reference.statistic)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert result.n == 120


def test_wilcoxon_large_sample_uses_normal_and_matches_scipy() -> None:
    rng = np.random.default_rng(4)
    a = rng.normal(size=300)
    b = a + rng.normal(0.3, 0.5, size=300)
    result = wilcoxon_signed_rank(a, b)
    reference = sps.wilcoxon(a, b, correction=False, method="approx")
    assert result.test == "wilcoxon_normal"
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert result.p_value < 0.05


def test_wilcoxon_identical_samples() -> None:
    result = wilcoxon_signed_rank([0.1, 0.2, 0.3], [0.1, 0.2, 0.3])
    assert result.p_value == 1.0 and tied(result)


def test_tied() -> None:
    def make(p: float | None) -> PairedTest:
        return PairedTest(0.0, None, None, None, p, 3, "paired_t")

    assert tied(make(0.2))
    assert not tied(make(0.01))
    assert tied(make(0.01), alpha=0.005)
    assert tied(make(None))
    with pytest.raises(ValueError):
        tied(make(0.2), alpha=1.5)


def _ratio_of_medians(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.median(x) / np.median(y))


def test_bootstrap_ci_covers_and_matches_scipy_percentile() -> None:
    rng = np.random.default_rng(5)
    x = rng.lognormal(0.0, 0.4, size=200)
    y = x / rng.uniform(1.5, 2.5, size=200)  # true ratio of medians about 2
    lo, hi = bootstrap_ci(_ratio_of_medians, x, y, n_boot=2000, seed=0)
    assert lo < _ratio_of_medians(x, y) < hi
    assert 1.5 < lo < hi < 2.6
    reference = sps.bootstrap(
        (x, y),
        _ratio_of_medians,
        paired=True,
        vectorized=False,
        n_resamples=2000,
        method="percentile",
        random_state=1,
    ).confidence_interval
    # Different random streams: the two percentile intervals agree to Monte Carlo error.
    assert lo == pytest.approx(reference.low, abs=0.05)
    assert hi == pytest.approx(reference.high, abs=0.05)


def test_bootstrap_ci_is_seeded_and_narrows_with_n() -> None:
    rng = np.random.default_rng(6)
    small, large = rng.normal(size=30), rng.normal(size=3000)
    mean = lambda v: float(np.mean(v))  # noqa: E731
    assert bootstrap_ci(mean, small, seed=3) == bootstrap_ci(mean, small, seed=3)
    assert bootstrap_ci(mean, small, seed=3) != bootstrap_ci(mean, small, seed=4)
    width_small = np.diff(bootstrap_ci(mean, small, n_boot=500))[0]
    width_large = np.diff(bootstrap_ci(mean, large, n_boot=500))[0]
    assert width_large < width_small / 5


def test_bootstrap_ci_paired_keeps_rows_together() -> None:
    # y = x exactly: the paired ratio is 1 in every replicate, the unpaired one is not.
    x = np.random.default_rng(7).uniform(0.1, 1.0, size=50)
    assert bootstrap_ci(_ratio_of_medians, x, x.copy(), paired=True) == (1.0, 1.0)
    lo, hi = bootstrap_ci(_ratio_of_medians, x, x.copy(), paired=False)
    assert lo < 1.0 < hi


def test_bootstrap_ci_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="equal length"):
        bootstrap_ci(_ratio_of_medians, np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="at least one sample"):
        bootstrap_ci(np.mean)
    with pytest.raises(ValueError, match="empty"):
        bootstrap_ci(np.mean, np.array([]))
    with pytest.raises(ValueError, match="level"):
        bootstrap_ci(np.mean, np.ones(3), level=1.0)
    with pytest.raises(ValueError, match="NaN"), np.errstate(invalid="ignore"):
        bootstrap_ci(_ratio_of_medians, np.zeros(5), np.zeros(5))
