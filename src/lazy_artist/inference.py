"""Prediction: class and softmax probabilities of a network over in-memory images, in batches.

Every task's accuracies go through :func:`predict` (training loops, attacks, probes), always in
eval mode and fp32, with the images channels-last like the training loops'.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from lazy_artist.precision import channels_last


@torch.no_grad()
def predict(
    model: nn.Module,
    images: Any,
    batch_size: int = 1024,
    device: torch.device | str = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """Predicted class (int64, N) and softmax probabilities (float32, N x classes)."""
    was_training = model.training
    model.eval()
    device = torch.device(device)
    x_all = (
        images if torch.is_tensor(images) else torch.as_tensor(np.asarray(images, dtype=np.float32))
    )
    probs = []
    for start in range(0, len(x_all), batch_size):
        logits = model(channels_last(x_all[start : start + batch_size].float().to(device)))
        probs.append(torch.softmax(logits, dim=1).cpu())
    model.train(was_training)
    if not probs:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    prob = torch.cat(probs).numpy().astype(np.float32)
    return prob.argmax(1).astype(np.int64), prob
