"""Fixed-budget sweeps: epsilon 0 is the clean model, FGSM matches the fgsm function, and PGD
is at least as strong as FGSM on a model where PGD is optimal."""

import pytest
import torch

from lazy_artist.attacks.fgsm import fgsm
from lazy_artist.attacks.pgd import PGDConfig
from lazy_artist.attacks.sweep import fgsm_sweep, pgd_sweep

from .conftest import SOURCE, TARGET


def test_fgsm_sweep_matches_the_attack(tiny_cnn, images):
    labels = tiny_cnn(images).argmax(1).detach()  # the clean model is right on every image
    sweep = fgsm_sweep(tiny_cnn, images, labels, [0.0, 0.1], batch_size=4)
    assert sweep.accuracy[0] == 1.0 and sweep.success[0] == 0.0
    adversarial = fgsm(tiny_cnn, images, labels, 0.1)
    with torch.no_grad():
        expected = (tiny_cnn(adversarial).argmax(1) == labels).float().mean()
    assert sweep.accuracy[1] == pytest.approx(expected.item())


def test_pgd_is_at_least_fgsm_on_a_linear_model(linear_model, linear_images):
    labels = torch.full((len(linear_images),), SOURCE)
    eps = [0.1, 0.2, 0.3]
    f = fgsm_sweep(linear_model, linear_images, labels, eps, target=TARGET, target_confidence=0.9)
    p = pgd_sweep(
        linear_model,
        linear_images,
        labels,
        eps,
        PGDConfig(steps=20, target_confidence=0.9),
        target=TARGET,
    )
    assert all(ps >= fs for ps, fs in zip(p.success, f.success, strict=True))
    assert p.success[-1] == 1.0


def test_bad_epsilon_is_refused(tiny_cnn, images):
    with pytest.raises(ValueError, match="epsilon"):
        fgsm_sweep(tiny_cnn, images, torch.zeros(6), [0.0, -0.1])
    with pytest.raises(ValueError, match="strictly increasing"):
        pgd_sweep(tiny_cnn, images, torch.zeros(6), [0.2, 0.1], PGDConfig())
