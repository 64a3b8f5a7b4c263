"""Tiny untrained study backbones and an identity SAE: every test here runs in well under a second."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lazy_artist.models import build_model
from lazy_artist.sae.autoencoder import SparseAutoencoder

# Both study backbones, at their smallest: T1's cheater (conv1..conv3) and T4's (conv1..conv4).
BACKBONES = {
    "cheater_cnn": {"width": 4},
    "lenet_cnn": {"width": 4, "hidden": 16},
}


@pytest.fixture(params=list(BACKBONES))
def backbone(request) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(request.param, **BACKBONES[request.param]).eval()


@pytest.fixture
def images() -> np.ndarray:
    return np.random.default_rng(0).random((12, 3, 28, 28), dtype=np.float32)


def _identity_sae(width: int) -> SparseAutoencoder:
    """Features +x_i and -x_i for each input dimension: reconstructs any vector exactly, and
    exactly one of each pair is active wherever x_i != 0 (so L0 = the input width)."""
    sae = SparseAutoencoder(width, 2 * width)
    eye = torch.eye(width)
    with torch.no_grad():
        sae.W_enc.copy_(torch.cat([eye, -eye]))
        sae.b_enc.zero_()
        sae.W_dec.copy_(torch.cat([eye, -eye], dim=1))
        sae.b_dec.zero_()
    return sae.eval()


@pytest.fixture
def identity_sae():
    return _identity_sae


@pytest.fixture(autouse=True)
def _one_thread():
    """These tensors are tiny: one thread beats two that wait on each other (and on the
    other jobs of a busy 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
