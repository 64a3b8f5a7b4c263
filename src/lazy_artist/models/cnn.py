"""The cheater: a deliberately small CNN that learns the colour shortcut rather than shape.

Few channels, max-pooling after every convolution and a global average pool before the linear
head: colour is readable from any single pixel of the stroke, while shape needs spatial
structure that the tiny receptive field and the average pool mostly throw away. Named
submodules (conv1..conv3, relu1..relu3, pool1..pool3, gap, fc) let later tasks hook layers.
"""

from __future__ import annotations

import torch
from torch import nn

from lazy_artist.models import register_model


@register_model("cheater_cnn")
class CheaterCNN(nn.Module):
    def __init__(self, in_channels: int = 3, width: int = 8, num_classes: int = 10) -> None:
        super().__init__()
        # Constructor arguments, stored in checkpoints so the registry can rebuild the model.
        self.config = {"in_channels": in_channels, "width": width, "num_classes": num_classes}
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)  # 28 -> 14
        self.conv2 = nn.Conv2d(width, 2 * width, kernel_size=3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)  # 14 -> 7
        self.conv3 = nn.Conv2d(2 * width, 2 * width, kernel_size=3, padding=1)
        self.relu3 = nn.ReLU()
        self.pool3 = nn.MaxPool2d(2)  # 7 -> 3
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * width, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate vector (N, 2*width) the linear head reads."""
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.pool3(self.relu3(self.conv3(x)))
        return torch.flatten(self.gap(x), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


@register_model("lenet_cnn")
class LeNetCNN(nn.Module):
    """A standard MNIST CNN: two conv-conv-pool blocks, a flattened spatial map and an MLP head.

    The flatten keeps where each feature is, so shape is cheap to learn (the grayscale version
    passes 98% in a couple of epochs); it is the shared backbone the T4 methods are compared on.
    """

    def __init__(
        self, in_channels: int = 3, width: int = 16, hidden: int = 128, num_classes: int = 10
    ) -> None:
        super().__init__()
        self.config = {
            "in_channels": in_channels,
            "width": width,
            "hidden": hidden,
            "num_classes": num_classes,
        }
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(width, width, kernel_size=3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)  # 28 -> 14
        self.conv3 = nn.Conv2d(width, 2 * width, kernel_size=3, padding=1)
        self.relu3 = nn.ReLU()
        self.conv4 = nn.Conv2d(2 * width, 2 * width, kernel_size=3, padding=1)
        self.relu4 = nn.ReLU()
        self.pool4 = nn.MaxPool2d(2)  # 14 -> 7
        self.fc1 = nn.Linear(2 * width * 7 * 7, hidden)
        self.relu5 = nn.ReLU()
        self.fc = nn.Linear(hidden, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate vector (N, hidden) the linear head reads."""
        x = self.relu2(self.conv2(self.relu1(self.conv1(x))))
        x = self.pool2(x)
        x = self.relu4(self.conv4(self.relu3(self.conv3(x))))
        x = self.pool4(x)
        return self.relu5(self.fc1(torch.flatten(x, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))
