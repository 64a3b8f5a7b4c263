"""The per-model battery: what it runs (full and lean), its summary row (order statistics with
unbroken samples) and its checklist, which must be able to fail."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from lazy_artist.attacks import battery
from lazy_artist.attacks.battery import (
    BatteryPlan,
    SanityThresholds,
    order_statistic,
    raised_search,
    run_battery,
    sanity_checks,
    stronger_search,
    summary_row,
    targeted_search,
)
from lazy_artist.attacks.min_epsilon import lowest_of, on_grid
from lazy_artist.attacks.pgd import AttackResult, PGDConfig

from .conftest import SOURCE, TARGET, fake_battery

GRID = (0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
UNTARGETED = (0.0, 0.1, 0.5)
THRESHOLDS = SanityThresholds(
    full_success_epsilon=1.0,
    zero_accuracy_epsilon=0.5,
    strength_tolerance=0.05,
    max_zero_gradient_share=0.0,
)


def _plan(**changes) -> BatteryPlan:
    values = dict(
        targeted=PGDConfig(steps=20, restarts=2, schedule="cosine", target_confidence=0.9),
        untargeted=PGDConfig(steps=10, restarts=1, loss="margin"),
        target_class=TARGET,
        grid=GRID,
        untargeted_epsilons=UNTARGETED,
        bisection_steps=6,
        strength_factor=2,
        n_strength_samples=4,
        report_epsilon=0.1,
        visible_epsilon=0.5,
    )
    values.update(changes)
    return BatteryPlan(**values)


def test_a_plan_rejects_budgets_off_the_grid_and_a_missing_confidence():
    with pytest.raises(ValueError, match="report_epsilon=0.07 is not on the epsilon grid"):
        _plan(report_epsilon=0.07)
    with pytest.raises(ValueError, match="target_confidence"):
        _plan(targeted=PGDConfig(steps=5))
    with pytest.raises(ValueError, match="strength_factor must be >= 2"):
        _plan(strength_factor=1)
    assert _plan().position(0.1 + 1e-15) == 1  # a number, not a bit pattern


def test_the_battery_finds_the_closed_form_minimum_and_runs_every_part(linear_model, linear_images):
    labels = torch.full((len(linear_images),), SOURCE)
    plan = _plan()
    result = run_battery(linear_model, linear_images, labels, linear_images, labels, plan, seed=3)
    exact = linear_model.exact_min_epsilon(linear_images, 0.9)
    # Bisection after the grid: within the last bracket's width of the exact answer.
    assert np.allclose(result.min_epsilon, exact, atol=0.5 / 2**6 + 1e-3)
    assert result.has_strength and result.strong is not None and len(result.strong.epsilon) == 4
    assert result.pgd_untargeted is not None
    assert result.pgd_untargeted.epsilons == list(UNTARGETED)
    assert result.zero_targeted == 0.0 and result.seconds > 0
    checks = sanity_checks(result, plan, THRESHOLDS)
    assert "2x steps and restarts agree" in checks
    assert all(check.passed for check in checks.values()), {
        title: check.detail for title, check in checks.items() if not check.passed
    }
    # The same seed, the same numbers.
    again = run_battery(linear_model, linear_images, labels, linear_images, labels, plan, seed=3)
    assert np.array_equal(again.min_epsilon, result.min_epsilon)


def test_without_the_strength_rerun_its_check_is_absent_not_passed(linear_model, linear_images):
    labels = torch.full((len(linear_images),), SOURCE)
    plan = _plan()
    result = run_battery(
        linear_model, linear_images, labels, linear_images, labels, plan, seed=3, strength=False
    )
    assert not result.has_strength and result.strong is None
    checks = sanity_checks(result, plan, THRESHOLDS)
    assert "2x steps and restarts agree" not in checks
    assert "untargeted PGD" in checks["success never falls as epsilon grows"].detail
    row = summary_row(result, plan)
    assert row["median_min_eps_stronger"] is None and row["strength_run"] is False
    assert len(row["pgd_untargeted_accuracy"]) == len(UNTARGETED)


def test_order_statistics_treat_unbroken_samples_as_larger_than_any_budget():
    values = [0.1, 0.2, math.inf, math.inf]
    assert order_statistic(values, 0.5) == 0.2  # the lower middle one, not (0.2 + inf) / 2
    assert order_statistic(values, 0.75) == math.inf
    assert order_statistic([0.3, 0.1, 0.2], 0.5) == 0.2
    with pytest.raises(ValueError, match="no values"):
        order_statistic([], 0.5)


def test_summary_row_reports_unbroken_medians_as_none_and_means_over_broken_samples():
    plan = _plan(grid=(0.05, 0.1, 0.5, 1.0), report_epsilon=0.1)
    row = summary_row(fake_battery([0.04, 0.3, math.inf, math.inf, math.inf]), plan)
    assert row["median_min_eps"] is None  # more than half unbroken
    assert row["q25_min_eps"] == 0.3 and row["q75_min_eps"] is None
    assert row["n_unbroken"] == 3 and row["n_samples"] == 5
    assert row["mean_min_eps"] == pytest.approx(0.17)
    assert row["success_rate_at_0.1"] == pytest.approx(0.2)  # only 0.04 is broken by 0.1
    assert row["success_rate_at_0.5"] == pytest.approx(0.4)
    finite = summary_row(fake_battery([0.04, 0.3, 0.06]), plan)
    assert finite["median_min_eps"] == 0.06 and finite["n_unbroken"] == 0


def test_the_checklist_fails_when_the_attack_is_weak():
    plan = _plan(grid=(0.05, 0.1, 0.5, 1.0), report_epsilon=0.1)
    # Success falls between 0.1 and 0.5 and never becomes total; gradients are masked.
    weak = fake_battery([0.04] * 4, success_curve=[0.5, 0.75, 0.25, 0.5], zero=0.5)
    checks = sanity_checks(weak, plan, THRESHOLDS)
    assert not checks["success never falls as epsilon grows"].passed
    assert "largest drop 50.0% between epsilon 0.1 and 0.5" in (
        checks["success never falls as epsilon grows"].detail
    )
    assert not checks["large epsilon breaks everything"].passed
    assert not checks["no zero gradients"].passed
    strong = sanity_checks(fake_battery([0.04, 0.06, 0.2, 0.7]), plan, THRESHOLDS)
    assert all(check.passed for check in strong.values())


def test_the_never_falls_check_reads_the_sweeping_losss_own_curve():
    """Joined with a second loss whose successes fill the budgets above them, a falling curve
    looks monotone; the check reads the first loss's independent attacks, so it still fails."""
    plan = _plan(grid=(0.05, 0.1, 0.5, 1.0), report_epsilon=0.1)
    falling = fake_battery([0.04] * 4, success_curve=[0.5, 0.75, 0.25, 0.5]).search
    everywhere = fake_battery([0.04] * 4).search
    joined = lowest_of({"ce": falling, "margin": everywhere})
    assert list(joined.search.success_curve()) == [1.0, 1.0, 1.0, 1.0]
    assert joined.first is falling
    result = dataclasses.replace(fake_battery([0.04] * 4), search=joined.search, losses=joined)
    title = "success never falls as epsilon grows"
    assert not sanity_checks(result, plan, THRESHOLDS)[title].passed
    alone = dataclasses.replace(result, losses=dataclasses.replace(joined, first=everywhere))
    assert sanity_checks(alone, plan, THRESHOLDS)[title].passed


def test_the_stronger_search_finds_what_a_weak_base_missed_and_keeps_a_converged_one(
    linear_model, linear_images
):
    """Against the closed form: from a base twice the exact minimum the stronger attack comes
    down to the minimum; from the exact minimum it cannot go lower, so the base stands."""
    labels = torch.full((len(linear_images),), SOURCE)
    plan = _plan(bisection_steps=8)
    exact = linear_model.exact_min_epsilon(linear_images, 0.9)
    strong = plan.targeted.stronger(2)
    found = stronger_search(linear_model, plan, strong, linear_images, labels, 2 * exact, 0)
    assert np.allclose(found.epsilon, exact, atol=2 * exact.max() / 2**8 + 1e-3)
    kept = stronger_search(linear_model, plan, strong, linear_images, labels, exact + 1e-4, 0)
    assert np.array_equal(kept.epsilon, exact + 1e-4)


def _threshold_attacks(thresholds: dict[str, np.ndarray], asked: dict[str, list]):
    """A stand-in for pgd_attack: the sample breaks exactly when epsilon reaches its loss's
    threshold; every (sample, epsilon) asked is recorded per loss."""

    def make(network, config, target, seed, on_gradient=None):
        def attack(images, labels, epsilon):
            index = images[:, 0, 0, 0].long()  # the sample's number, written into its pixel
            eps = epsilon.double().numpy()
            asked[config.loss].extend(zip(index.tolist(), eps.tolist(), strict=True))
            ok = torch.as_tensor(eps >= thresholds[config.loss][index.numpy()])
            n = len(images)
            return AttackResult(
                images.clone(), ok, ok.float(), torch.zeros(n).long(), torch.ones(n).long(),
                epsilon,
            )  # fmt: skip

        return attack

    return make


def test_the_second_loss_is_asked_only_at_and_below_the_first_losss_minimum(monkeypatch):
    plan = _plan(extra_losses=("margin",), bisection_steps=8)
    ce = np.array([0.07, 0.15, 0.4, 2.0])  # the last: never broken by ce on the grid
    margin = np.array([0.03, 0.6, 0.4, 0.8])
    asked: dict[str, list] = {"ce": [], "margin": []}
    monkeypatch.setattr(
        battery, "pgd_attack", _threshold_attacks({"ce": ce, "margin": margin}, asked)
    )
    images = torch.arange(4.0)[:, None, None, None].expand(4, 3, 2, 2).contiguous()
    found = targeted_search(None, plan, plan.targeted, images, torch.zeros(4).long(), 0)
    first = found.first.epsilon
    assert np.isinf(first[3]) and np.all(first[:3] >= ce[:3])
    ceiling = np.where(np.isfinite(first), first, GRID[-1])
    assert all(eps <= ceiling[i] + 1e-6 for i, eps in asked["margin"])  # float32 budgets
    # Where margin is the lower it is found (to the bisection's precision), else ce stands.
    lowest = found.search.epsilon
    assert lowest[0] == pytest.approx(0.03, abs=first[0] / 2**8 + 1e-9)
    assert lowest[1] == first[1] and lowest[2] <= first[2]
    assert lowest[3] == pytest.approx(0.8, abs=1.0 / 2**8 + 1e-9)
    assert found.wins["margin"] == 2 and found.below == ("margin",)
    assert set(found.record()["median_min_eps"]) == {"ce"}
    # The joined success curve: each sample from the budget its lowest minimum reached.
    assert np.array_equal(found.search.grid_success[3], np.asarray(GRID) >= lowest[3])


def test_a_raised_budget_lowers_what_a_weak_base_left_and_keeps_the_rest(
    linear_model, linear_images
):
    """Against the closed form: from a base at twice the exact minimum on half the samples,
    the raised search comes down to the minimum there and keeps the exact ones."""
    labels = torch.full((len(linear_images),), SOURCE)
    plan = _plan(bisection_steps=8, grid=(0.05, 0.1, 0.2, 0.3, 0.5, 1.0))
    exact = linear_model.exact_min_epsilon(linear_images, 0.9)
    weak = np.arange(len(exact)) % 2 == 0
    base_eps = np.where(weak, 2 * exact, exact + 1e-4)
    base = dataclasses.replace(
        fake_battery(base_eps, grid=plan.grid).search, adversarial=linear_images.clone()
    )
    joined, found = raised_search(
        linear_model, plan, plan.targeted.stronger(2), linear_images, labels, base, 0
    )
    assert np.allclose(joined.epsilon[weak], exact[weak], atol=2 * exact.max() / 2**8 + 1e-3)
    assert np.array_equal(joined.epsilon[~weak], base_eps[~weak])
    assert np.all(joined.epsilon <= base_eps)
    assert np.array_equal(
        joined.grid_success, joined.epsilon[:, None] <= np.asarray(plan.grid) + 1e-12
    )
    assert found.grid.size == 0 and on_grid(found, plan.grid).grid_success.shape == (10, 6)
