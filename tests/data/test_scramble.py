"""T7's pixel permutation: one fixed permutation, the same for every image, and invertible."""

import numpy as np
import pytest

from lazy_artist.data.scramble import pixel_permutation, scramble


def test_the_permutation_depends_on_the_seed_only():
    first, again, other = (pixel_permutation(784, s) for s in (0, 0, 1))
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert sorted(first.tolist()) == list(range(784))


def test_scramble_moves_pixels_not_values_and_is_the_same_for_every_image():
    rng = np.random.default_rng(0)
    images = rng.random((5, 2, 4, 4)).astype(np.float32)
    perm = pixel_permutation(16, 3)
    out = scramble(images, perm)
    assert out.shape == images.shape
    # Output pixel k of each image (every channel alike) is input pixel perm[k].
    flat_in, flat_out = images.reshape(5, 2, 16), out.reshape(5, 2, 16)
    for k in range(16):
        assert np.array_equal(flat_out[..., k], flat_in[..., perm[k]])
    inverse = np.argsort(perm)
    assert np.array_equal(scramble(out, inverse), images)
    assert np.allclose(np.sort(out.reshape(5, -1), 1), np.sort(images.reshape(5, -1), 1))


def test_a_wrong_permutation_is_refused():
    with pytest.raises(ValueError, match="permutation of 16"):
        scramble(np.zeros((1, 4, 4)), np.arange(15))
