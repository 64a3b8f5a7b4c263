"""Tiny models and data for the attribution and feature-visualisation tests (CPU, seconds)."""

from __future__ import annotations

import pytest
import torch
from torch import nn


class TinyCNN(nn.Module):
    """Two conv layers, a max-pool, a global average pool and a linear head, plus
    ``features()`` like the study models."""

    def __init__(self, classes: int = 4, width: int = 6) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.fc = nn.Linear(width, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu1(self.conv1(x)))
        return self.relu2(self.conv2(x)).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


class RedDeadGreen(nn.Module):
    """conv1 (1x1): channel 0 reads the red plane, channel 1 is dead (always 0), channel 2 reads
    the green plane; ``features`` is their ReLU'd spatial mean: a network whose units' colour
    and shape selectivity the probe tests know in advance."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 3, 1)
        with torch.no_grad():
            self.conv1.weight.zero_()
            self.conv1.bias.zero_()
            self.conv1.weight[0, 0] = 1.0
            self.conv1.bias[1] = -10.0
            self.conv1.weight[2, 1] = 1.0
        self.fc = nn.Linear(3, 2)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv1(x)).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


EPOCHS, LR = 10, 0.02
SQUARE_COLOURS = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])


def square_images(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gray noisy images with one 7x7 square anywhere, painted one of 4 colours = the label.
    Returns images (N, 3, 28, 28), labels (N,), square masks (N, 28, 28) as uint8 0/255."""
    generator = torch.Generator().manual_seed(seed)
    images = 0.4 + 0.05 * torch.randn((n, 3, 28, 28), generator=generator)
    labels = torch.randint(0, 4, (n,), generator=generator)
    corners = torch.randint(0, 22, (n, 2), generator=generator)
    masks = torch.zeros((n, 28, 28), dtype=torch.uint8)
    for i in range(n):
        top, left = corners[i].tolist()
        images[i, :, top : top + 7, left : left + 7] = SQUARE_COLOURS[labels[i]].view(3, 1, 1)
        masks[i, top : top + 7, left : left + 7] = 255
    return images.clamp(0, 1), labels, masks


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread is faster than two fighting over a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def trained_tiny() -> tuple[TinyCNN, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A TinyCNN trained to name the colour of the square (a few seconds on one CPU core)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = _train_tiny()
    finally:
        torch.set_num_threads(threads)
    test_images, test_labels, test_masks = square_images(64, seed=2)
    accuracy = (model(test_images).argmax(1) == test_labels).float().mean().item()
    assert accuracy > 0.9, f"the tiny model did not learn the square's colour ({accuracy:.2f})"
    return model, test_images, test_labels, test_masks


def _train_tiny() -> TinyCNN:
    torch.manual_seed(0)
    model = TinyCNN()
    images, labels, _ = square_images(512, seed=1)
    optimiser = torch.optim.Adam(model.parameters(), lr=LR)
    for _ in range(EPOCHS):
        for start in range(0, len(images), 64):
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(
                model(images[start : start + 64]), labels[start : start + 64]
            )
            loss.backward()
            optimiser.step()
    return model.eval()


def randomised_copy(model: nn.Module, seed: int = 123) -> nn.Module:
    """Same architecture, weights re-drawn from the default initialisation (the saliency
    sanity check of Adebayo et al., 2018)."""
    torch.manual_seed(seed)
    fresh = type(model)()
    fresh.eval()
    return fresh
