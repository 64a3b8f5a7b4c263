"""Tiny models for the attack tests: a small CNN (non-linear, like the study's) and a linear
model whose worst case inside an L-infinity ball has a closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from lazy_artist.attacks.battery import BatteryPlan, SanityThresholds
from lazy_artist.attacks.pgd import PGDConfig

SOURCE, TARGET = 7, 3
# A battery plan whose grid and untargeted budgets match :func:`fake_battery`'s defaults, and
# loose sanity thresholds, for the table, summary and template tests.
PLAN = BatteryPlan(
    targeted=PGDConfig(steps=5, target_confidence=0.9),
    untargeted=PGDConfig(steps=5, loss="margin"),
    target_class=3,
    grid=(0.05, 0.1, 0.5, 1.0),
    untargeted_epsilons=(0.0, 0.1, 0.5),
    bisection_steps=2,
    strength_factor=2,
    n_strength_samples=2,
    report_epsilon=0.1,
    visible_epsilon=0.5,
)
THRESHOLDS = SanityThresholds(1.0, 0.5, 0.05, 0.0)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The attack tests run thousands of tiny steps: on a shared 2-core machine extra intra-op
    threads only contend (a 10-image search took 15 s on 2 threads, 0.5 s on one)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class TinyCNN(nn.Module):
    def __init__(self, in_channels: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(torch.relu(self.conv(x))), 1))


@pytest.fixture
def tiny_cnn() -> TinyCNN:
    torch.manual_seed(0)
    return TinyCNN().eval()


@pytest.fixture
def images() -> torch.Tensor:
    return torch.rand(6, 3, 8, 8, generator=torch.Generator().manual_seed(1))


class TwoClassLinear(nn.Module):
    """Logits W x + b where only the SOURCE and TARGET rows matter (the other classes sit 60
    logits below), so P(TARGET) >= c  <=>  margin m(x) = (w_t - w_s) x + (b_t - b_s) >= log(c / (1 - c))
    up to ~1e-26, and the largest margin within the ball is
    m(x) + sum_i |w_i| * min(eps, room_i), room_i = 1 - x_i (w_i > 0) or x_i (w_i < 0)."""

    def __init__(self, dim: int, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.linear = nn.Linear(dim, 10)
        with torch.no_grad():
            self.linear.weight.zero_()
            self.linear.bias.fill_(-60.0)
            self.linear.weight[TARGET] = 0.5 * torch.randn(dim, generator=generator)
            self.linear.bias[SOURCE] = 8.0
            self.linear.bias[TARGET] = 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.flatten(x, 1))

    def worst_case_margin(self, x: torch.Tensor, epsilon: float) -> np.ndarray:
        w = (self.linear.weight[TARGET] - self.linear.weight[SOURCE]).detach().double().numpy()
        b = float((self.linear.bias[TARGET] - self.linear.bias[SOURCE]).detach())
        flat = torch.flatten(x, 1).double().numpy()
        room = np.where(w > 0, 1.0 - flat, flat)
        return flat @ w + b + (np.abs(w) * np.minimum(epsilon, room)).sum(axis=1)

    def exact_min_epsilon(self, x: torch.Tensor, confidence: float) -> np.ndarray:
        """Smallest epsilon whose worst case reaches the confidence (bisection on the closed
        form, 60 rounds; inf if even epsilon = 1 does not)."""
        needed = math.log(confidence / (1.0 - confidence))
        result = []
        for row in x:
            row = row[None]
            if self.worst_case_margin(row, 1.0)[0] < needed:
                result.append(math.inf)
                continue
            lo, hi = 0.0, 1.0
            for _ in range(60):
                mid = (lo + hi) / 2
                lo, hi = (lo, mid) if self.worst_case_margin(row, mid)[0] >= needed else (mid, hi)
            result.append(hi)
        return np.array(result)


@pytest.fixture
def linear_model() -> TwoClassLinear:
    return TwoClassLinear(dim=3 * 6 * 6).eval()


@pytest.fixture
def linear_images() -> torch.Tensor:
    return torch.rand(10, 3, 6, 6, generator=torch.Generator().manual_seed(2)) * 0.8 + 0.1


def fake_battery(
    epsilon,
    grid=(0.05, 0.1, 0.5, 1.0),
    untargeted=(0.0, 0.1, 0.5),
    strength=True,
    success_curve=None,
    untargeted_accuracy=None,
    zero=0.0,
):
    """A BatteryResult with the given per-sample minimum epsilons (inf: unbroken) and curves
    that are consistent with them unless given: for table, summary and checklist tests that
    must not depend on an attack's numerics."""
    from lazy_artist.attacks.battery import BatteryResult
    from lazy_artist.attacks.min_epsilon import MinEpsilonResult
    from lazy_artist.attacks.sweep import SweepResult

    epsilon = np.asarray(epsilon, dtype=float)
    grid_values = np.asarray(grid, dtype=float)
    grid_success = epsilon[:, None] <= grid_values[None, :]
    if success_curve is not None:  # override: rows do not matter to the curve-based checks
        grid_success = np.zeros((len(epsilon), len(grid_values)), dtype=bool)
        for k, rate in enumerate(success_curve):
            grid_success[: int(round(rate * len(epsilon))), k] = True
    curve = grid_success.mean(axis=0).tolist()
    search = MinEpsilonResult(
        epsilon=epsilon,
        lower=np.zeros_like(epsilon),
        grid=grid_values,
        grid_success=grid_success,
        grid_score=np.where(grid_success, 0.95, 0.2),
        adversarial=torch.zeros(len(epsilon), 3, 4, 4),
        score=np.full(len(epsilon), 0.95),
        sample_attacks=len(epsilon) * len(grid_values),
        gradient_steps=10 * len(epsilon),
    )
    accuracy = list(untargeted_accuracy or np.linspace(1.0, 0.0, len(untargeted)))
    fgsm_u = SweepResult(
        list(untargeted), [1 - a for a in accuracy], accuracy, [0.5] * len(accuracy)
    )
    fgsm_t = SweepResult(list(grid), [c / 2 for c in curve], [0.0] * len(grid), [0.5] * len(grid))
    return BatteryResult(
        search=search,
        fgsm_targeted=fgsm_t,
        fgsm_untargeted=fgsm_u,
        pgd_untargeted=fgsm_u,
        zero_targeted=zero,
        zero_untargeted=zero,
        seconds=1.0,
        strong=search if strength else None,
    )
