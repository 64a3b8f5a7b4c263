"""The robustness checklist: PGD's iterates against torchattacks (an independent
implementation; a test-only dependency), the margin loss on constructed logits, Square Attack
on a linear model with a closed-form answer, the gradient-masking flag and gradient health on
a model whose gradient is zero, the per-sample lowest of two losses, and each checklist item
held and failed on constructed inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torchattacks
from torch import nn

from lazy_artist.attacks.battery import (
    GRADIENT_FREE,
    GRADIENT_HEALTH,
    LOSS_CHOICE,
    MANY_RESTARTS,
    BatteryPlan,
    SanityThresholds,
    run_battery,
    sanity_checks,
)
from lazy_artist.attacks.checklist import (
    all_converged,
    checklist_rows,
    converged_levels,
    loss_choice_agrees,
    many_restarts_agree,
    no_gradient_masking,
    white_box_beats_transfer,
)
from lazy_artist.attacks.gradient_health import GradientNorms, gradient_health, healthy_gradients
from lazy_artist.attacks.min_epsilon import MinEpsilonResult, lowest_of
from lazy_artist.attacks.pgd import OBJECTIVES, PGDConfig, pgd
from lazy_artist.attacks.sanity import SanityCheck
from lazy_artist.attacks.square import SquareConfig, square_attack, window_share, window_side

from .conftest import SOURCE, TARGET, TwoClassLinear

# --- PGD against torchattacks -----------------------------------------------------------------


def _our_iterates(model, images, labels, epsilon, fraction, steps, loss, target):
    config = PGDConfig(
        steps=steps, random_start=False, step_fraction=fraction, early_stop=False, loss=loss
    )
    seen = []
    pgd(
        model,
        images,
        labels,
        epsilon,
        config,
        target=target,
        on_step=lambda restart, step, idx, x: seen.append(x.clone()),
    )
    return seen


def _torchattacks_iterates(model, images, labels, epsilon, alpha, steps, target):
    """torchattacks.PGD stopped after 1, 2, ... steps (deterministic without random start)."""
    iterates = []
    for k in range(1, steps + 1):
        attack = torchattacks.PGD(model, eps=epsilon, alpha=alpha, steps=k, random_start=False)
        if target is not None:
            attack.set_mode_targeted_by_label(quiet=True)
            iterates.append(attack(images, torch.full_like(labels, target)))
        else:
            iterates.append(attack(images, labels))
    return iterates


class MarginAsTwoLogits(nn.Module):
    """Logits [m(x), 0] with m the targeted CW margin z_t - max_{j != t} z_j, computed here
    independently of lazy_artist. torchattacks' targeted CE on these logits is
    log(1 + exp(-m)), whose input gradient is -sigmoid(-m) * grad m: the same sign as the
    margin's, so its sign steps are the margin attack's."""

    def __init__(self, model: nn.Module, target: int) -> None:
        super().__init__()
        self.model, self.target = model, target

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.model(x)
        others = torch.cat([z[:, : self.target], z[:, self.target + 1 :]], dim=1)
        margin = z[:, self.target] - others.max(dim=1).values
        return torch.stack([margin, torch.zeros_like(margin)], dim=1)


@pytest.mark.parametrize("target", [TARGET, None])
def test_ce_iterates_match_torchattacks_step_for_step(tiny_cnn, images, target):
    labels = torch.full((len(images),), SOURCE)
    epsilon, fraction, steps = 0.1, 0.3, 5
    ours = _our_iterates(tiny_cnn, images, labels, epsilon, fraction, steps, "ce", target)
    theirs = _torchattacks_iterates(
        tiny_cnn, images, labels, epsilon, fraction * epsilon, steps, target
    )
    assert len(ours) == steps
    for a, b in zip(ours, theirs, strict=True):
        assert torch.allclose(a, b, atol=1e-6), (a - b).abs().max()
    assert (theirs[-1] - images).abs().max() > 0.09  # the iterates really moved


def test_targeted_margin_iterates_match_torchattacks_on_the_margin_as_logits(tiny_cnn, images):
    labels = torch.full((len(images),), SOURCE)
    epsilon, fraction, steps = 0.1, 0.3, 5
    ours = _our_iterates(tiny_cnn, images, labels, epsilon, fraction, steps, "margin", TARGET)
    wrapped = MarginAsTwoLogits(tiny_cnn, TARGET).eval()
    # Class 0 of the wrapper is "the margin": targeted at it.
    theirs = _torchattacks_iterates(
        wrapped, images, torch.ones_like(labels), epsilon, fraction * epsilon, steps, 0
    )
    for a, b in zip(ours, theirs, strict=True):
        assert torch.allclose(a, b, atol=1e-6), (a - b).abs().max()
    # ... and the margin path is not the CE path (the test would notice a swapped loss).
    ce = _our_iterates(tiny_cnn, images, labels, epsilon, fraction, steps, "ce", TARGET)
    assert not torch.allclose(ce[-1], ours[-1], atol=1e-6)


# --- the margin loss --------------------------------------------------------------------------


def test_the_margin_loss_on_constructed_logits():
    logits = torch.tensor([[1.0, 5.0, 2.0, 4.0], [3.0, -1.0, 0.5, 3.0]])
    classes = torch.tensor([1, 3])
    margin = OBJECTIVES["margin"]
    # targeted: z_t - max_{j != t} z_j
    assert margin(logits, classes, True).tolist() == [5.0 - 4.0, 3.0 - 3.0]
    # untargeted: max_{j != y} z_j - z_y
    assert margin(logits, classes, False).tolist() == [4.0 - 5.0, 3.0 - 3.0]
    # torchattacks' CW objective f (targeted: other - real, for positive logits) agrees.
    positive = torch.rand(5, 10, generator=torch.Generator().manual_seed(0)) + 0.1
    targets = torch.tensor([0, 3, 9, 3, 5])
    cw = torchattacks.CW(nn.Identity(), kappa=1e9)
    cw.set_mode_targeted_by_label(quiet=True)
    assert torch.allclose(margin(positive, targets, True), -cw.f(positive, targets))


# --- Square Attack ----------------------------------------------------------------------------


def test_the_window_schedule_follows_the_paper():
    assert window_share(0.8, 0, 10000) == 0.8
    assert window_share(0.8, 11, 10000) == 0.4
    assert window_share(0.8, 9000, 10000) == pytest.approx(0.8 / 512)
    assert window_share(0.8, 100, 1000) == pytest.approx(0.8 / 16)  # rescaled: 1000 of 10 000
    assert window_side(0.8, 28, 28) == 25 and window_side(1e-4, 28, 28) == 1
    assert window_side(1.0, 6, 6) == 5  # never the whole image: the place stays random


def test_square_finds_the_linear_models_success_above_its_minimum_and_never_below(
    linear_model, linear_images
):
    labels = torch.full((len(linear_images),), SOURCE)
    exact = linear_model.exact_min_epsilon(linear_images, 0.9)
    assert np.all(np.isfinite(exact))
    config = SquareConfig(queries=1500, target_confidence=0.9)
    above = square_attack(
        linear_model,
        linear_images,
        labels,
        torch.as_tensor(exact * 1.15, dtype=torch.float32),
        config,
        target=TARGET,
        generator=torch.Generator().manual_seed(0),
    )
    assert above.success.all(), above.score
    assert (
        (above.adversarial - linear_images)
        .abs()
        .amax(dim=(1, 2, 3))
        .le(torch.as_tensor(exact * 1.15, dtype=torch.float32) + 1e-6)
        .all()
    )
    assert above.adversarial.min() >= 0 and above.adversarial.max() <= 1
    below = square_attack(
        linear_model,
        linear_images,
        labels,
        torch.as_tensor(exact * 0.97, dtype=torch.float32),
        config,
        target=TARGET,
        generator=torch.Generator().manual_seed(0),
    )
    assert not below.success.any()  # the closed form says it cannot be done
    assert int(below.steps.max()) == config.queries + 1  # it tried with its whole budget


class RoundedInput(nn.Module):
    """The linear model after rounding the input to 1/8 steps: the gradient is zero
    everywhere (round's derivative), while the function is as attackable as before."""

    def __init__(self, linear: TwoClassLinear) -> None:
        super().__init__()
        self.linear = linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.round(x * 8.0) / 8.0)


def test_square_never_spends_a_query_on_an_unchanged_image():
    """With a flat objective no proposal is ever kept, so every query after the first two
    (the initial stripes and the clean image) must differ from the current image: a window
    whose new signs change nothing is redrawn, as in the reference implementation."""

    class Flat(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[torch.Tensor] = []

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.seen.append(x.clone())
            return torch.zeros(len(x), 10)

    model = Flat()
    images = torch.full((3, 3, 6, 6), 0.5)
    config = SquareConfig(queries=200, p_init=0.05)  # one-pixel windows: repeats are likely
    result = square_attack(
        model, images, torch.zeros(3, dtype=torch.long), 0.1, config, target=TARGET,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    initial = model.seen[0]
    assert not result.success.any()
    for queried in model.seen[2:]:
        assert (queried != initial).flatten(1).any(1).all()


def test_masked_gradients_fool_pgd_but_not_square_and_both_flags_trigger(
    linear_model, linear_images
):
    masked = RoundedInput(linear_model).eval()
    labels = torch.full((len(linear_images),), SOURCE)
    epsilon = 0.5
    norms = GradientNorms()
    made = pgd(
        masked,
        linear_images,
        labels,
        epsilon,
        PGDConfig(steps=10, random_start=False, target_confidence=0.9),
        target=TARGET,
        on_gradient=norms,
    )
    square = square_attack(
        masked,
        linear_images,
        labels,
        epsilon,
        SquareConfig(queries=500, target_confidence=0.9),
        target=TARGET,
        generator=torch.Generator().manual_seed(0),
    )
    assert not made.success.any() and square.success.all()
    flag = no_gradient_masking(made.success.numpy(), square.success.numpy(), 500, epsilon)
    assert not flag.passed and "gradient masking" in flag.detail
    health = gradient_health(norms.values(), 1e-8)
    assert health.n_steps == 10 * len(linear_images) and health.zero_share == 1.0
    assert not healthy_gradients(health, 0.01).passed
    # The same attacks on the unmasked model: PGD succeeds, nothing is flagged.
    clean_norms = GradientNorms()
    unmasked = pgd(
        linear_model,
        linear_images,
        labels,
        epsilon,
        PGDConfig(steps=10, random_start=False, target_confidence=0.9),
        target=TARGET,
        on_gradient=clean_norms,
    )
    assert unmasked.success.all()
    assert no_gradient_masking(unmasked.success.numpy(), square.success.numpy(), 500, 0.5).passed
    assert healthy_gradients(gradient_health(clean_norms.values(), 1e-8), 0.01).passed


# --- the lowest of two losses -----------------------------------------------------------------


def _search(epsilon, grid=(0.1, 0.5, 1.0)):
    epsilon = np.asarray(epsilon, dtype=float)
    grid = np.asarray(grid)
    success = epsilon[:, None] <= grid[None, :]
    return MinEpsilonResult(
        epsilon=epsilon,
        lower=np.where(np.isfinite(epsilon), epsilon / 2, 0.0),
        grid=grid,
        grid_success=success,
        grid_score=np.where(success, 0.95, 0.1),
        adversarial=torch.as_tensor(epsilon.copy()).reshape(-1, 1, 1, 1).float(),
        score=np.full(len(epsilon), 0.95),
        sample_attacks=3,
        gradient_steps=10,
    )


def test_lowest_of_keeps_each_samples_lowest_and_counts_who_won():
    ce = _search([0.2, 0.3, math.inf, 0.4])
    margin = _search([0.1, 0.3, 0.6, math.inf])
    joined = lowest_of({"ce": ce, "margin": margin})
    assert joined.search.epsilon.tolist() == [0.1, 0.3, 0.6, 0.4]
    assert joined.wins == {"ce": 1, "margin": 2, "equal": 1}
    # the adversarial and bracket come from the winner
    assert joined.search.adversarial.flatten().tolist() == pytest.approx([0.1, 0.3, 0.6, 0.4])
    assert joined.search.lower.tolist() == [0.05, 0.15, 0.3, 0.2]
    assert joined.search.grid_success[2].tolist() == [False, False, True]
    assert joined.search.gradient_steps == 20
    with pytest.raises(ValueError, match="other samples"):
        lowest_of({"ce": ce, "margin": _search([0.1])})


# --- each checklist item held and failed --------------------------------------------------------


def test_loss_choice_holds_unless_the_second_loss_lowers_the_median_much():
    ce = np.array([0.1, 0.2, 0.3])
    held = loss_choice_agrees({"ce": ce, "margin": ce * 0.98}, {"ce": 0}, "ce", 0.05)
    failed = loss_choice_agrees({"ce": ce, "margin": ce * 0.5}, {"ce": 0}, "ce", 0.05)
    assert held.passed and not failed.passed and "-50.0%" in failed.figure


def test_many_restarts_hold_within_the_declared_tolerance():
    base = np.array([True, False, False, False])
    assert many_restarts_agree(base, base, 0.0, 4, 40, 0.05).passed
    rise = many_restarts_agree(base, np.array([True, True, False, False]), 0.2, 4, 40, 0.05)
    assert not rise.passed and "25% -> 50%" in rise.figure


def test_white_box_must_beat_every_transfer_per_target_model():
    names = ["a", "b", "c"]
    good = np.array([[0.9, 0.2, 0.1], [0.3, 0.8, 0.0], [0.1, 0.1, 0.5]])
    assert all(check.passed for check in white_box_beats_transfer(names, good).values())
    bad = good.copy()
    bad[0, 2] = 0.7  # examples made on a break c more often than c's own white-box attack
    checks = white_box_beats_transfer(names, bad)
    assert not checks["c"].passed and checks["a"].passed and "(from a)" in checks["c"].detail


def test_convergence_holds_at_a_raised_budget_or_reports_not_converged():
    first = {"steps": 10, "restarts": 2, "median_base": 0.2, "median_stronger": 0.15}
    second = {"steps": 20, "restarts": 4, "median_base": 0.15, "median_stronger": 0.149}
    raised = converged_levels([{**first, "passed": False}, {**second, "passed": True}], 2)
    assert raised.passed and raised.figure == "converged at 20x4"
    never = converged_levels([{**first, "passed": False}, {**second, "passed": False}], 2)
    assert not never.passed and never.figure == "not converged by 40x8"
    assert all_converged(["a", "b"], {"a": True, "b": True})
    assert not all_converged(["a", "b"], {"a": True, "b": None})  # unchecked is not converged
    assert not all_converged(["a", "b"], {"a": True, "b": False})


def test_the_checklist_table_has_one_row_per_item_and_names_the_failures():
    checks = {
        "x agrees [m1]": SanityCheck(True, "d", 0.0, "fig1", "<= 5%"),
        "x agrees [m2]": SanityCheck(False, "d", 0.1, "fig2", "<= 5%"),
        "y holds [m1]": SanityCheck(True, "d", 0.0, "fig3", "= 0"),
    }
    columns, rows = checklist_rows(checks)
    assert columns[0] == "item" and len(rows) == 2
    assert rows[0] == ["x agrees", "1/2", "fig2 (m2)", "<= 5%", "failed: m2"]
    assert rows[1] == ["y holds", "1/1", "fig3 (m1)", "= 0", "held"]


# --- the battery runs the whole checklist -------------------------------------------------------


def _plan(**changes) -> BatteryPlan:
    values = dict(
        targeted=PGDConfig(steps=20, restarts=2, schedule="cosine", target_confidence=0.9),
        untargeted=PGDConfig(steps=10, restarts=1, loss="margin"),
        target_class=TARGET,
        grid=(0.05, 0.1, 0.2, 0.3, 0.5, 1.0),
        untargeted_epsilons=(0.0, 0.1, 0.5),
        bisection_steps=6,
        strength_factor=2,
        n_strength_samples=4,
        report_epsilon=0.1,
        visible_epsilon=0.5,
        extra_losses=("margin",),
        max_doublings=1,
        n_probe_samples=5,
        square=SquareConfig(queries=200),
    )
    values.update(changes)
    return BatteryPlan(**values)


THRESHOLDS = SanityThresholds(1.0, 0.5, 0.05, 0.01, loss_tolerance=0.05, restart_tolerance=0.2)


def test_the_battery_runs_every_item_and_all_hold_on_the_linear_model(linear_model, linear_images):
    labels = torch.full((len(linear_images),), SOURCE)
    plan = _plan()
    result = run_battery(linear_model, linear_images, labels, linear_images, labels, plan, seed=3)
    exact = linear_model.exact_min_epsilon(linear_images, 0.9)
    assert np.allclose(result.min_epsilon, exact, atol=0.5 / 2**6 + 1e-3)
    assert set(result.losses.per_loss) == {"ce", "margin"}
    assert result.converged is True and result.convergence.level == 0
    assert result.gradients.n_steps > 0 and result.probes.many_restarts == 20
    checks = sanity_checks(result, plan, THRESHOLDS)
    for title in (LOSS_CHOICE, MANY_RESTARTS, GRADIENT_FREE, GRADIENT_HEALTH):
        assert title in checks
    assert all(check.passed for check in checks.values()), {
        t: c.detail for t, c in checks.items() if not c.passed
    }


def test_a_model_the_budget_never_converges_on_is_reported_not_converged(
    linear_model, linear_images
):
    labels = torch.full((len(linear_images),), SOURCE)
    # One step of a tiny step size cannot reach the minimum; 2x and 4x budgets keep finding
    # smaller epsilons, and a zero tolerance admits no drop at all.
    plan = _plan(
        targeted=PGDConfig(steps=1, restarts=1, step_fraction=0.05, target_confidence=0.9),
        strength_tolerance=0.0,
        max_doublings=1,
        n_probe_samples=0,
    )
    result = run_battery(linear_model, linear_images, labels, linear_images, labels, plan, seed=3)
    assert result.converged is False and len(result.convergence.levels) == 2
    check = sanity_checks(result, plan, THRESHOLDS)["2x steps and restarts agree"]
    assert not check.passed and check.figure.startswith("not converged")
