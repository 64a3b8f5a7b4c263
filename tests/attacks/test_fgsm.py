import pytest
import torch
from torch import nn
from torch.nn import functional as F

from lazy_artist.attacks.fgsm import fgsm


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 10))


def test_fgsm_is_one_signed_step_within_budget():
    model, x = _model(), torch.rand(6, 3, 4, 4)
    y = torch.randint(0, 10, (6,))
    adv = fgsm(model, x, y, 0.1)
    assert (adv - x).abs().max() <= 0.1 + 1e-6
    assert adv.min() >= 0 and adv.max() <= 1
    # Reference: the gradient of the summed loss has the same sign.
    xr = x.clone().requires_grad_(True)
    F.cross_entropy(model(xr), y).backward()
    expected = (x + 0.1 * xr.grad.sign()).clamp(0, 1)
    assert torch.allclose(adv, expected)


def test_targeted_fgsm_raises_target_probability_on_a_linear_model():
    model, x = _model(), torch.rand(8, 3, 4, 4) * 0.5 + 0.25
    before = model(x).softmax(1)[:, 3]
    after = model(fgsm(model, x, torch.zeros(8), 0.05, target=3)).softmax(1)[:, 3]
    assert torch.all(after > before)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_bad_epsilon_is_rejected(bad):
    with pytest.raises(ValueError, match="epsilon"):
        fgsm(_model(), torch.rand(1, 3, 4, 4), torch.zeros(1), bad)
