"""Datasets: MNIST from any available source, and T0's biased Coloured-MNIST canvas."""

from lazy_artist.data.mnist import (
    DataIntegrityError,
    DataUnavailableError,
    MnistArrays,
    load_mnist,
    mnist_fingerprint,
)

__all__ = [
    "DataIntegrityError",
    "DataUnavailableError",
    "MnistArrays",
    "load_mnist",
    "mnist_fingerprint",
]
