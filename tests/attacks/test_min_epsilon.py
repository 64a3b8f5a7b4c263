"""Minimum-epsilon search: against the closed-form answer of a linear model, the bracket it
reports (succeeds at epsilon, fails just below), batching and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lazy_artist.attacks.min_epsilon import min_epsilon, min_epsilon_below, pgd_attack
from lazy_artist.attacks.pgd import PGDConfig, pgd

from .conftest import SOURCE, TARGET

CONFIG = PGDConfig(steps=30, restarts=2, target_confidence=0.9, schedule="cosine")
GRID = [0.05, 0.1, 0.2, 0.3, 0.5, 1.0]


def test_matches_the_closed_form_minimum_of_a_linear_model(linear_model, linear_images):
    labels = torch.full((len(linear_images),), SOURCE)
    exact = linear_model.exact_min_epsilon(linear_images, 0.9)
    assert np.all(np.isfinite(exact)) and np.all(exact > 0.05)  # the fixture is a real test
    result = min_epsilon(
        pgd_attack(linear_model, CONFIG, target=TARGET), linear_images, labels, GRID, 8
    )
    assert np.all(result.lower <= exact + 1e-4) and np.all(exact <= result.epsilon + 1e-4)
    widths = result.epsilon - result.lower
    gaps = np.diff([0.0, *GRID])
    assert np.all(widths <= gaps.max() / 2**8 + 1e-9)
    assert np.allclose(result.epsilon, exact, atol=2e-3)


def test_the_attack_succeeds_at_the_found_epsilon_and_fails_slightly_below(tiny_cnn, images):
    labels = torch.full((len(images),), SOURCE)
    with torch.no_grad():  # confident enough that P(target) >= 0.5 is reachable, not there yet
        tiny_cnn.fc.weight.mul_(20.0)
        tiny_cnn.fc.bias[TARGET] -= 6.0
        assert (torch.softmax(tiny_cnn(images), 1)[:, TARGET] < 0.1).all()
    # Deterministic (no random start), so the bracket can be replayed exactly.
    config = PGDConfig(steps=30, random_start=False, target_confidence=0.5, schedule="cosine")
    result = min_epsilon(pgd_attack(tiny_cnn, config, target=TARGET), images, labels, GRID, 6)
    assert result.found.all()
    assert np.all(result.epsilon - result.lower <= 0.2 / 2**6 + 1e-9)  # "slightly" smaller
    assert np.all(result.lower > 0)

    def replay(epsilon):
        eps = torch.tensor(epsilon, dtype=torch.float32)
        return pgd(tiny_cnn, images, labels, eps, config, target=TARGET)

    assert replay(result.epsilon).success.all()
    assert not replay(result.lower).success.any()
    # The stored adversarial is a real one: within the found epsilon, and it reaches the target.
    delta = (result.adversarial - images).flatten(1).abs().amax(1).numpy()
    assert np.all(delta <= result.epsilon + 1e-6)
    with torch.no_grad():
        probs = torch.softmax(tiny_cnn(result.adversarial), 1)
    assert (probs.argmax(1) == TARGET).all() and (probs[:, TARGET] >= 0.5).all()
    assert np.allclose(result.score, probs[:, TARGET].numpy(), atol=1e-6)


def test_batched_search_equals_one_sample_at_a_time(linear_model, linear_images):
    labels = torch.full((len(linear_images),), SOURCE)
    config = PGDConfig(steps=10, random_start=False, target_confidence=0.9)
    batched = min_epsilon(pgd_attack(linear_model, config, TARGET), linear_images, labels, GRID, 5)
    for i in range(len(linear_images)):
        alone = min_epsilon(
            pgd_attack(linear_model, config, TARGET),
            linear_images[i : i + 1],
            labels[i : i + 1],
            GRID,
            5,
        )
        assert alone.epsilon[0] == batched.epsilon[i] and alone.lower[0] == batched.lower[i]


def test_sweep_all_gives_the_curve_and_the_same_minimum(linear_model, linear_images):
    labels = torch.full((len(linear_images),), SOURCE)
    config = PGDConfig(steps=10, random_start=False, target_confidence=0.9)
    full = min_epsilon(pgd_attack(linear_model, config, TARGET), linear_images, labels, GRID, 4)
    lean = min_epsilon(
        pgd_attack(linear_model, config, TARGET), linear_images, labels, GRID, 4, sweep_all=False
    )
    assert np.array_equal(full.epsilon, lean.epsilon)
    assert lean.sample_attacks < full.sample_attacks
    curve = full.success_curve()
    assert np.all(np.diff(curve) >= 0) and curve[-1] == 1.0
    # The curve from independent runs agrees with the minimum epsilons on the grid.
    assert np.allclose(full.cumulative_share(GRID), curve)


def test_unbroken_samples_get_infinity(linear_model, linear_images):
    labels = torch.full((len(linear_images),), SOURCE)
    result = min_epsilon(
        pgd_attack(linear_model, CONFIG, TARGET), linear_images, labels, [0.01, 0.02], 3
    )
    assert np.all(np.isinf(result.epsilon)) and not result.found.any()
    assert torch.equal(result.adversarial, linear_images)
    assert np.all(result.score < 0.9)


@pytest.mark.parametrize(
    ("grid", "steps", "message"),
    [
        ([0.1, 0.05], 3, "strictly increasing"),
        ([0.0, 0.1], 3, "strictly increasing and > 0"),
        ([0.1, 1.5], 3, "epsilon 1.5"),
        ([], 3, "at least one value"),
        ([0.1], -1, "bisection_steps must be an integer >= 0"),
    ],
)
def test_bad_search_parameters_are_rejected(tiny_cnn, images, grid, steps, message):
    with pytest.raises(ValueError, match=message):
        min_epsilon(pgd_attack(tiny_cnn, CONFIG, TARGET), images, torch.zeros(6), grid, steps)


def test_below_a_ceiling_finds_the_closed_form_minimum_or_nothing(linear_model, linear_images):
    """The convergence check's question: what does the attack find below each ceiling? Above
    the exact minimum it bisects down to it; below it, nothing (inf)."""
    labels = torch.full((len(linear_images),), SOURCE)
    exact = linear_model.exact_min_epsilon(linear_images, 0.9)
    attack = pgd_attack(linear_model, CONFIG, target=TARGET)
    ceiling = np.where(np.arange(len(exact)) % 2 == 0, 2.0 * exact, 0.9 * exact)
    result = min_epsilon_below(attack, linear_images, labels, ceiling, 8)
    above = ceiling > exact
    assert np.all(np.isinf(result.epsilon[~above]))
    assert np.allclose(result.epsilon[above], exact[above], atol=ceiling.max() / 2**8 + 1e-3)
    assert np.all(result.epsilon[above] >= exact[above] - 1e-4)  # never below the exact answer
    assert result.grid.size == 0 and result.grid_success.shape == (len(exact), 0)
    with pytest.raises(ValueError, match="one finite ceiling > 0 per sample"):
        min_epsilon_below(attack, linear_images, labels, ceiling[:3], 2)
    with pytest.raises(ValueError, match="one finite ceiling > 0 per sample"):
        min_epsilon_below(attack, linear_images, labels, np.full(len(exact), np.inf), 2)
