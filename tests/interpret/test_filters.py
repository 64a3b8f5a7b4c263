import numpy as np
import pytest
import torch

from lazy_artist.interpret.filters import gaussian_blur, gaussian_kernel1d


def test_kernel_is_normalised_and_symmetric():
    taps = gaussian_kernel1d(1.0)
    assert len(taps) == 7 and taps.sum().item() == pytest.approx(1.0)
    assert torch.allclose(taps, taps.flip(0))
    with pytest.raises(ValueError, match="sigma must be > 0"):
        gaussian_kernel1d(0.0)


def test_blur_keeps_constants_and_spreads_an_impulse():
    constant = torch.full((1, 3, 28, 28), 0.4)
    assert torch.allclose(gaussian_blur(constant, 2.0), constant, atol=1e-6)
    impulse = torch.zeros(1, 1, 28, 28)
    impulse[0, 0, 14, 14] = 1.0
    out = gaussian_blur(impulse, 1.0)[0, 0].numpy()
    assert out.sum() == pytest.approx(1.0, abs=1e-6)
    assert out[14, 14] == out.max() and out[14, 15] == pytest.approx(out[15, 14])
    # A sigma bigger than the image still works (the kernel is cut at the border).
    assert np.isfinite(gaussian_blur(impulse, 30.0).numpy()).all()
