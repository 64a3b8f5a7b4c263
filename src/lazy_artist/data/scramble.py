"""One fixed, seeded pixel permutation for T7: the same shuffle of pixel positions for every
image of every split (train and test alike), so the task stays learnable but spatial
neighbourhoods are destroyed."""

from __future__ import annotations

import numpy as np


def pixel_permutation(n_pixels: int, seed: int) -> np.ndarray:
    """A permutation of ``range(n_pixels)`` determined by ``seed`` alone."""
    if n_pixels < 1:
        raise ValueError(f"n_pixels must be >= 1, got {n_pixels}")
    return np.random.default_rng([int(seed), 7]).permutation(n_pixels)


def scramble(images: np.ndarray, permutation: np.ndarray) -> np.ndarray:
    """Apply the permutation to the pixels of every image (N, ..., H, W): output pixel k of each
    image is input pixel ``permutation[k]``; channels (if any) move together."""
    images = np.asarray(images)
    side_h, side_w = images.shape[-2:]
    if sorted(np.asarray(permutation).tolist()) != list(range(side_h * side_w)):
        raise ValueError(
            f"need a permutation of {side_h * side_w} pixel positions, got {len(permutation)} values"
        )
    flat = images.reshape(*images.shape[:-2], side_h * side_w)
    return flat[..., permutation].reshape(images.shape)
