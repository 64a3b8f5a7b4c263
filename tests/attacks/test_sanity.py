"""The sanity checks fail when they should: falling success, PGD weaker than FGSM, incomplete
success at a huge budget, a stronger attack finding smaller epsilons, masked gradients."""

import numpy as np
import torch
from torch import nn

from lazy_artist.attacks import sanity

EPS = [0.01, 0.05, 0.1, 1.0]


def test_monotonicity():
    assert sanity.never_falls(EPS, [0.0, 0.2, 0.2, 1.0]).passed
    falling = sanity.never_falls(EPS, [0.0, 0.4, 0.3, 1.0])
    assert not falling.passed and "between epsilon 0.05 and 0.1" in falling.detail
    assert sanity.never_rises(EPS, [1.0, 0.5, 0.5, 0.0]).passed
    assert not sanity.never_rises(EPS, [1.0, 0.5, 0.6, 0.0]).passed


def test_pgd_must_match_fgsm_everywhere():
    assert sanity.at_least_as_strong(EPS, [0.1, 0.5, 0.9, 1.0], [0.1, 0.3, 0.9, 1.0]).passed
    weaker = sanity.at_least_as_strong(EPS, [0.1, 0.2, 0.9, 1.0], [0.1, 0.3, 0.9, 1.0])
    assert not weaker.passed and "weaker than FGSM at epsilon 0.05" in weaker.detail
    # Accuracy under attack: lower is stronger.
    assert sanity.at_least_as_strong(EPS, [0.9, 0.1, 0, 0], [0.9, 0.5, 0.2, 0], False).passed
    assert not sanity.at_least_as_strong(EPS, [0.9, 0.6, 0, 0], [0.9, 0.5, 0.2, 0], False).passed


def test_large_budget_and_combination():
    assert sanity.reaches(EPS, [0, 0, 0.5, 1.0], 1.0, 1.0, "success").passed
    assert not sanity.reaches(EPS, [0, 0, 0.5, 0.95], 1.0, 1.0, "success").passed
    assert not sanity.reaches(EPS, [0, 0, 0.5, 1.0], 0.5, 1.0, "success").passed  # not swept
    assert sanity.reaches(EPS, [1, 0.5, 0.1, 0.0], 1.0, 0.0, "acc", higher_is_better=False).passed
    both = sanity.combine(sanity.SanityCheck(True, "x"), sanity.SanityCheck(False, "y"))
    assert not both.passed and both.detail == "x; y"


def test_stronger_attack_tolerance():
    assert sanity.stronger_attack_agrees(0.10, 0.097, 0.05).passed
    assert not sanity.stronger_attack_agrees(0.10, 0.09, 0.05).passed
    assert sanity.stronger_attack_agrees(0.10, 0.12, 0.05).passed  # stronger found larger: fine
    assert not sanity.stronger_attack_agrees(float("inf"), 0.1, 0.05).passed


def test_zero_gradient_share_sees_a_dead_network():
    dead = nn.Sequential(nn.Flatten(), nn.Linear(12, 4), nn.ReLU(), nn.Linear(4, 10))
    with torch.no_grad():
        dead[1].bias.fill_(-100.0)  # every ReLU is off: no input gradient anywhere
    x, classes = torch.rand(5, 3, 2, 2), torch.full((5,), 3)
    assert sanity.zero_gradient_share(dead, x, classes, targeted=True) == 1.0
    torch.manual_seed(0)
    alive = nn.Sequential(nn.Flatten(), nn.Linear(12, 10))
    assert sanity.zero_gradient_share(alive, x, classes, targeted=True, loss="margin") == 0.0
    assert not sanity.no_zero_gradients(0.2, 0.0, "targeted loss").passed


def test_float32_rounding_of_the_same_share_is_not_weakness():
    share32 = float(np.float32(3 / 10))  # 0.30000001...: FGSM's share, counted in float32
    assert share32 > 0.3
    assert sanity.at_least_as_strong([0.1], [0.3], [share32]).passed
    assert not sanity.at_least_as_strong([0.1], [0.3], [0.31]).passed
