"""Torch's thread count: a task's count, or every available core and never more."""

from __future__ import annotations

import os

import pytest
import torch

from lazy_artist.runtime import configure_threads


def test_configure_threads_takes_a_count_or_every_core():
    before = torch.get_num_threads()
    try:
        assert configure_threads(1) == 1 == torch.get_num_threads()
        cores = len(os.sched_getaffinity(0))
        torch.set_num_threads(cores + 4)  # more threads than cores are capped at the cores
        assert configure_threads() == cores == torch.get_num_threads()
        with pytest.raises(ValueError, match="threads must be >= 0"):
            configure_threads(-1)
    finally:
        torch.set_num_threads(before)
