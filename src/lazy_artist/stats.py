"""Intervals and paired tests for the study's comparisons, without scipy at run time.

scipy is not a run-time dependency of the package, so the Student-t and normal
distributions are computed here: the t CDF through the regularised incomplete beta
function (a Lentz continued fraction, as in Numerical Recipes' ``betacf``), its quantile by
bisection on that CDF, the normal CDF through ``math.erfc``. The tests check every helper
against ``scipy.stats`` (a test-only dependency).

Conventions shared by every helper:

- inputs are finite real numbers; NaN or infinity is a ValueError (a NaN accuracy means an
  empty split upstream, which must not silently become an interval);
- a paired test compares ``a - b``: a positive ``mean_diff`` means ``a`` is larger;
- with fewer than two pairs there is no interval and no p-value (``None``), so a caller
  cannot print a significance it does not have; ``tied`` treats that as tied.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "SHARE_BOUNDS",
    "Interval",
    "PairedTest",
    "bootstrap_ci",
    "mean_ci95",
    "normal_cdf",
    "paired_t_test",
    "student_t_cdf",
    "student_t_ppf",
    "tied",
    "wilcoxon_signed_rank",
]

# Exact Wilcoxon null distribution up to this many non-zero differences (scipy's 'auto'
# threshold); above it, or with ties or zeros, the normal approximation.
_WILCOXON_EXACT_MAX_N = 50


@dataclass(frozen=True)
class Interval:
    """A mean with its 95% interval over ``n`` values (``lo``/``hi`` None when n < 2)."""

    mean: float
    lo: float | None
    hi: float | None
    n: int

    def as_list(self) -> list[float | None]:
        """``[lo, hi]``: the shape summary.json stores (``*_ci95`` fields)."""
        return [self.lo, self.hi]


@dataclass(frozen=True)
class PairedTest:
    """A two-sided paired test of ``a - b``.

    ``lo``/``hi`` is the Student-t 95% interval of the mean difference (also for the
    Wilcoxon test, whose p-value is rank-based; use ``bootstrap_ci`` for a median-based
    interval). ``statistic`` is t for the t test and min(W+, W-) for the Wilcoxon test;
    None where it is undefined (fewer than two pairs, or zero variance of the differences).
    ``test`` names the test and, for the Wilcoxon test, the method used.
    """

    mean_diff: float
    lo: float | None
    hi: float | None
    statistic: float | None
    p_value: float | None
    n: int
    test: str


def _as_finite_1d(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _paired_differences(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    a_arr, b_arr = _as_finite_1d(a, "a"), _as_finite_1d(b, "b")
    if a_arr.shape != b_arr.shape:
        raise ValueError(f"paired samples differ in length: {a_arr.size} vs {b_arr.size}")
    return a_arr - b_arr


# --- distributions -------------------------------------------------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            return h
    raise ArithmeticError(f"incomplete beta continued fraction did not converge (a={a}, b={b})")


def _regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularised incomplete beta function, for 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    # The continued fraction converges fast for x < (a+1)/(a+b+2); use the symmetry
    # I_x(a,b) = 1 - I_{1-x}(b,a) on the other side.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def student_t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {df}")
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    # Two-sided tail mass P(|T| > |t|) = I_{df/(df+t^2)}(df/2, 1/2).
    tail = _regularized_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - 0.5 * tail if t >= 0 else 0.5 * tail


def student_t_ppf(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (bisection)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"quantile level must lie in (0, 1), got {p}")
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {df}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -student_t_ppf(1.0 - p, df)
    hi = 1.0
    while student_t_cdf(hi, df) < p:  # the CDF is increasing: bracket, then bisect
        hi *= 2.0
    lo = 0.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if student_t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


def normal_cdf(z: float) -> float:
    """P(Z <= z) for the standard normal."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


# --- intervals -----------------------------------------------------------------------------


def _t_interval(
    values: np.ndarray, level: float = 0.95
) -> tuple[float, float | None, float | None]:
    mean = float(np.mean(values))
    n = values.size
    if n < 2:
        return mean, None, None
    sd = float(np.std(values, ddof=1))
    if sd == 0.0:  # every value equal: the interval collapses to the value
        return mean, mean, mean
    half = student_t_ppf(0.5 + level / 2.0, n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


# The range of an accuracy or a share: where an interval of one may lie.
SHARE_BOUNDS = (0.0, 1.0)


def mean_ci95(values: Sequence[float], bounds: tuple[float, float] | None = None) -> Interval:
    """The mean of ``values`` with its Student-t 95% interval.

    ``lo``/``hi`` are None for a single value (no spread to estimate) and equal the mean when
    every value is the same. ``bounds`` (e.g. :data:`SHARE_BOUNDS` for accuracies) clips the
    interval to the values the quantity can take: with three seeds and a large spread the
    t interval of an accuracy can reach below 0 or above 1, which no accuracy can.
    """
    array = _as_finite_1d(values, "values")
    mean, lo, hi = _t_interval(array)
    if bounds is not None and lo is not None and hi is not None:
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    return Interval(mean=mean, lo=lo, hi=hi, n=int(array.size))


# --- paired tests --------------------------------------------------------------------------


def paired_t_test(a: Sequence[float], b: Sequence[float]) -> PairedTest:
    """Two-sided paired t test of ``a - b`` (as ``scipy.stats.ttest_rel``).

    Degenerate cases: fewer than two pairs gives no statistic and no p-value; differences
    with zero variance give p = 1.0 when they are all zero (identical samples) and p = 0.0
    otherwise (a constant non-zero shift), with the statistic None (it would be infinite or
    undefined, which summary.json cannot store).
    """
    diff = _paired_differences(a, b)
    n = int(diff.size)
    mean, lo, hi = _t_interval(diff)
    if n < 2:
        return PairedTest(mean, None, None, None, None, n, "paired_t")
    sd = float(np.std(diff, ddof=1))
    if sd == 0.0:
        p = 1.0 if mean == 0.0 else 0.0
        return PairedTest(mean, lo, hi, None, p, n, "paired_t")
    t = mean / (sd / math.sqrt(n))
    p = min(1.0, 2.0 * student_t_cdf(-abs(t), n - 1))
    return PairedTest(mean, lo, hi, float(t), float(p), n, "paired_t")


def _rank_with_ties(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks (1-based) of ``values`` and the sizes of their tie groups."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks = np.empty(values.size, dtype=np.float64)
    group_sizes = []
    start = 0
    while start < values.size:
        stop = start
        while stop + 1 < values.size and sorted_values[stop + 1] == sorted_values[start]:
            stop += 1
        ranks[order[start : stop + 1]] = 0.5 * (start + stop) + 1.0
        group_sizes.append(stop - start + 1)
        start = stop + 1
    return ranks, np.asarray(group_sizes, dtype=np.int64)


def _wilcoxon_exact_cdf(n: int, w: int) -> float:
    """P(W+ <= w) under H0 for n non-zero, untied differences (counting rank subsets)."""
    max_sum = n * (n + 1) // 2
    counts = np.zeros(max_sum + 1, dtype=np.float64)
    counts[0] = 1.0
    for rank in range(1, n + 1):  # subsets of {1..rank} by their sum
        counts[rank:] = counts[rank:] + counts[:-rank].copy()
    return float(counts[: w + 1].sum() / 2.0**n)


def wilcoxon_signed_rank(a: Sequence[float], b: Sequence[float]) -> PairedTest:
    """Two-sided Wilcoxon signed-rank test of ``a - b`` (as ``scipy.stats.wilcoxon`` defaults).

    Zero differences are dropped (Wilcoxon's original zero handling, scipy's default
    ``zero_method='wilcox'``) and the remaining |differences| ranked with average ranks for
    ties. The statistic is min(W+, W-). The p-value is exact (the null distribution of W+ by
    counting rank subsets) when at most 50 differences remain and none are tied or zero;
    otherwise it is the normal approximation with the tie-corrected variance
    n(n+1)(2n+1)/24 - sum(t^3 - t)/48 and no continuity correction. ``test`` says which
    ("wilcoxon_exact" / "wilcoxon_normal"). All differences zero gives p = 1.0.
    ``mean_diff``/``lo``/``hi`` describe the mean difference (Student-t interval), as in
    ``paired_t_test``; ``n`` counts all pairs, zeros included.
    """
    diff = _paired_differences(a, b)
    n_pairs = int(diff.size)
    mean, lo, hi = _t_interval(diff)
    nonzero = diff[diff != 0.0]
    n = int(nonzero.size)
    if n == 0:
        return PairedTest(mean, lo, hi, 0.0, 1.0, n_pairs, "wilcoxon_exact")
    ranks, ties = _rank_with_ties(np.abs(nonzero))
    w_plus = float(ranks[nonzero > 0].sum())
    w_minus = float(ranks[nonzero < 0].sum())
    statistic = min(w_plus, w_minus)
    has_ties = bool(np.any(ties > 1))
    has_zeros = n < n_pairs
    if n <= _WILCOXON_EXACT_MAX_N and not has_ties and not has_zeros:
        # The null distribution is symmetric about n(n+1)/4: two-sided p = 2 P(W <= min).
        p = min(1.0, 2.0 * _wilcoxon_exact_cdf(n, int(round(statistic))))
        return PairedTest(mean, lo, hi, statistic, p, n_pairs, "wilcoxon_exact")
    expected = n * (n + 1) / 4.0
    variance = n * (n + 1) * (2 * n + 1) / 24.0 - float(np.sum(ties**3 - ties)) / 48.0
    if variance <= 0.0:
        p = 1.0
    else:
        z = (statistic - expected) / math.sqrt(variance)
        p = min(1.0, 2.0 * normal_cdf(-abs(z)))
    return PairedTest(mean, lo, hi, statistic, p, n_pairs, "wilcoxon_normal")


def tied(test: PairedTest, alpha: float = 0.05) -> bool:
    """True when ``test`` does not separate the two samples at level ``alpha``.

    No p-value (fewer than two pairs) counts as tied: a winner needs evidence.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    return test.p_value is None or test.p_value >= alpha


# --- bootstrap -----------------------------------------------------------------------------


def bootstrap_ci(
    statistic: Callable[..., float],
    *samples: np.ndarray,
    n_boot: int = 2000,
    seed: int = 0,
    paired: bool = True,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(*samples)``.

    Each replicate resamples every sample with replacement and calls ``statistic`` on the
    resampled arrays (along axis 0). ``paired=True`` draws the same indices for every sample
    (they must have the same length: row i of each belongs to the same unit, e.g. the same
    test image attacked on two models); ``paired=False`` resamples each independently.
    Seeded: the same inputs and seed give the same interval. Replicates whose statistic is
    NaN (e.g. a ratio 0/0) are a ValueError, not silently dropped; infinite ones are kept
    and widen the interval to the outer order statistics.
    """
    if not samples:
        raise ValueError("bootstrap_ci needs at least one sample")
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    arrays = [np.asarray(sample) for sample in samples]
    for index, array in enumerate(arrays):
        if array.ndim == 0 or array.shape[0] == 0:
            raise ValueError(f"sample {index} is empty")
    if paired and len({array.shape[0] for array in arrays}) > 1:
        lengths = [array.shape[0] for array in arrays]
        raise ValueError(f"paired bootstrap needs samples of equal length, got {lengths}")
    rng = np.random.default_rng(seed)
    replicates = np.empty(n_boot, dtype=np.float64)
    for b in range(n_boot):
        if paired:
            idx = rng.integers(0, arrays[0].shape[0], size=arrays[0].shape[0])
            resampled = [array[idx] for array in arrays]
        else:
            resampled = [
                array[rng.integers(0, array.shape[0], size=array.shape[0])] for array in arrays
            ]
        replicates[b] = float(statistic(*resampled))
    if np.any(np.isnan(replicates)):
        raise ValueError("the statistic was NaN on some bootstrap replicates")
    tail = (1.0 - level) / 2.0
    if np.all(np.isfinite(replicates)):
        lo, hi = np.quantile(replicates, [tail, 1.0 - tail])
    else:  # interpolating next to an infinity gives NaN: take the outer order statistics
        lo = np.quantile(replicates, tail, method="lower")
        hi = np.quantile(replicates, 1.0 - tail, method="higher")
    return float(lo), float(hi)
