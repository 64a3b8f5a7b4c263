"""A ReLU sparse autoencoder over standardised activation vectors, and its training loop.

z = ReLU(W_enc x + b_enc),   x_hat = W_dec z + b_dec,   W_dec (D, K) with unit-norm columns.

Loss per vector: ||x - x_hat||^2 / D + l1 * ||z||_1 / D (averaged over the batch). Because the
decoder columns are renormalised to unit norm after every optimiser step, the L1 term cannot be
dodged by shrinking z and growing W_dec, and a feature's activation is its size in activation
space. Features that fire on no vector for a whole epoch are counted dead.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class SparseAutoencoder(nn.Module):
    def __init__(self, input_dim: int, n_features: int) -> None:
        super().__init__()
        if input_dim < 1 or n_features < 1:
            raise ValueError(
                f"input_dim and n_features must be >= 1, got {input_dim}, {n_features}"
            )
        self.input_dim, self.n_features = input_dim, n_features
        decoder = torch.randn(input_dim, n_features)
        decoder /= decoder.norm(dim=0, keepdim=True)
        self.W_dec = nn.Parameter(decoder)
        self.b_dec = nn.Parameter(torch.zeros(input_dim))
        # Tied initialisation: each feature starts by reading the direction it writes.
        self.W_enc = nn.Parameter(decoder.T.clone())
        self.b_enc = nn.Parameter(torch.zeros(n_features))

    @classmethod
    def overcomplete(cls, input_dim: int, expansion: float) -> SparseAutoencoder:
        """``expansion`` x as many features as input dimensions (at least one)."""
        return cls(input_dim, max(1, int(round(expansion * input_dim))))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x @ self.W_enc.T + self.b_enc)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return z @ self.W_dec.T + self.b_dec

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(x)
        return self.decode(z), z

    @torch.no_grad()
    def normalise_decoder(self) -> None:
        """Rescale every decoder column to unit L2 norm (a column of zeros stays zero)."""
        norms = self.W_dec.norm(dim=0, keepdim=True)
        self.W_dec.div_(torch.where(norms > 0, norms, torch.ones_like(norms)))

    def loss(self, x: torch.Tensor, l1_coefficient: float) -> tuple[torch.Tensor, torch.Tensor]:
        x_hat, z = self(x)
        reconstruction = ((x - x_hat) ** 2).sum(dim=1).mean() / self.input_dim
        sparsity = z.abs().sum(dim=1).mean() / self.input_dim
        return reconstruction + l1_coefficient * sparsity, z


class DeadFeatureTracker:
    """Vectors seen since each feature last fired; dead = silent for ``window`` vectors (the
    trainer uses one epoch's worth)."""

    def __init__(self, n_features: int, window: int) -> None:
        self.window = window
        self.silent_for = torch.zeros(n_features, dtype=torch.long)

    def update(self, z: torch.Tensor) -> None:
        fired = (z > 0).any(dim=0).cpu()
        self.silent_for += len(z)
        self.silent_for[fired] = 0

    def dead(self) -> np.ndarray:
        return (self.silent_for >= self.window).numpy()

    def dead_fraction(self) -> float:
        return float(self.dead().mean())


@contextmanager
def single_thread() -> Iterator[None]:
    """Run torch ops on one thread: an SAE step is so small that synchronising two threads
    costs more than the work (20x slower on a busy 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@dataclass(frozen=True)
class SaeSettings:
    expansion: float = 4.0  # features per input dimension
    l1_coefficient: float = 1.0
    epochs: int = 10
    # Optimiser steps per epoch, each on a batch from a reshuffled pass over the vectors; None
    # is one pass. A fixed number gives every configuration the same budget, whether it has one
    # vector per image (spatial mean) or many (per position).
    steps_per_epoch: int | None = 300
    batch_size: int = 256
    lr: float = 1e-3
    seed: int = 0


@dataclass
class SaeRun:
    sae: SparseAutoencoder
    history: list[dict[str, float]] = field(default_factory=list)
    dead_in_training: np.ndarray | None = None  # features silent over the whole last epoch
    seconds: float = 0.0


def _batches(n: int, settings: SaeSettings, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Endless batches of indices from consecutive reshuffled passes over ``n`` vectors."""
    while True:
        yield from torch.randperm(n, generator=generator).split(settings.batch_size)


def train_sae(
    vectors: np.ndarray, settings: SaeSettings, device: torch.device | str = "cpu"
) -> SaeRun:
    """Train an SAE with Adam on standardised ``vectors`` (N, D); decoder renormalised after
    every step; per-epoch loss, L0 and dead fraction in the history."""
    if torch.device(device).type == "cpu":
        with single_thread():
            return _train_sae(vectors, settings, torch.device("cpu"))
    return _train_sae(vectors, settings, torch.device(device))


def _train_sae(vectors: np.ndarray, settings: SaeSettings, device: torch.device) -> SaeRun:
    started = time.perf_counter()
    torch.manual_seed(settings.seed)
    x_all = torch.as_tensor(np.asarray(vectors, dtype=np.float32))
    if x_all.ndim != 2 or len(x_all) == 0:
        raise ValueError(
            f"vectors must be a non-empty (N, D) array, got shape {tuple(x_all.shape)}"
        )
    sae = SparseAutoencoder.overcomplete(x_all.shape[1], settings.expansion).to(device)
    with torch.no_grad():
        sae.b_dec.copy_(x_all.mean(dim=0).to(device))
    optimiser = torch.optim.Adam(sae.parameters(), lr=settings.lr)
    batches = _batches(len(x_all), settings, torch.Generator().manual_seed(settings.seed))
    steps = settings.steps_per_epoch or -(-len(x_all) // settings.batch_size)
    tracker = DeadFeatureTracker(
        sae.n_features, window=steps * min(settings.batch_size, len(x_all))
    )
    history = []
    for epoch in range(1, settings.epochs + 1):
        total, active, seen = 0.0, 0.0, 0
        for _ in range(steps):
            x = x_all[next(batches)].to(device)
            loss, z = sae.loss(x, settings.l1_coefficient)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            sae.normalise_decoder()
            tracker.update(z.detach())
            total += float(loss.detach()) * len(x)
            active += float((z > 0).sum())
            seen += len(x)
        history.append(
            {
                "epoch": epoch,
                "loss": total / seen,
                "l0": active / seen,
                "dead_fraction": tracker.dead_fraction(),
            }
        )
    sae.eval()
    return SaeRun(sae, history, tracker.dead(), time.perf_counter() - started)


@torch.no_grad()
def encode_all(sae: SparseAutoencoder, vectors: np.ndarray, batch_size: int = 8192) -> np.ndarray:
    """Feature activations (N, K) for standardised ``vectors`` (N, D), in batches."""
    device = sae.W_dec.device
    parts = [
        sae.encode(torch.as_tensor(vectors[start : start + batch_size]).float().to(device)).cpu()
        for start in range(0, len(vectors), batch_size)
    ]
    return torch.cat(parts).numpy() if parts else np.zeros((0, sae.n_features), np.float32)


@torch.no_grad()
def reconstruct_all(
    sae: SparseAutoencoder, vectors: np.ndarray, batch_size: int = 8192
) -> np.ndarray:
    """Reconstructions (N, D) of standardised ``vectors``, in batches."""
    device = sae.W_dec.device
    parts = [
        sae(torch.as_tensor(vectors[start : start + batch_size]).float().to(device))[0].cpu()
        for start in range(0, len(vectors), batch_size)
    ]
    return torch.cat(parts).numpy() if parts else np.zeros((0, sae.input_dim), np.float32)
