"""Seeding, device selection and torch's thread count, shared by every task."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so that the same seed gives the same numbers on CPU."""
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else CPU; anything else must be a valid torch device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"unknown device {device!r}: use 'auto', 'cpu' or 'cuda[:N]'") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {device!r} asked for, but CUDA is not available here: use 'auto' or 'cpu'"
        )
    return resolved


def configure_threads(threads: int = 0) -> int:
    """Set torch's intra-op thread count and return it: ``threads`` when positive (a task's
    ``threads`` parameter), else every available core, but never more threads than cores."""
    if threads < 0:
        raise ValueError(f"threads must be >= 0 (0: every available core), got {threads}")
    if threads:
        torch.set_num_threads(threads)
        return threads
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    threads = max(1, min(cores, torch.get_num_threads()))
    torch.set_num_threads(threads)
    return threads
