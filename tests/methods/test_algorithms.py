"""Every registered method trains and predicts; each loss term does what it claims."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lazy_artist.data.canvas import Canvas, build_canvas
from lazy_artist.data.mnist import MnistArrays
from lazy_artist.methods.algorithms import (
    ALGORITHMS,
    GroupDRO,
    build_algorithm,
    chroma_saliency_penalty,
    exponentiated_gradient_step,
    ganin_ramp,
    generalised_ce,
    get_algorithm_class,
    grad_reverse,
    group_losses,
    input_gradient_penalty,
    invariance_penalty,
    lff_weights,
    symmetric_kl,
)
from lazy_artist.methods.base import Batch
from lazy_artist.methods.hparams import METHOD_SPECS

TINY = {"width": 4}


def synthetic_mnist(n_train: int = 400, n_test: int = 200, seed: int = 0) -> MnistArrays:
    """Digit k is a fixed random 5x5 glyph scaled to 20x20 (jittered, random stroke intensity):
    shapes as large as MNIST strokes that a CNN can tell apart."""
    rng = np.random.default_rng(seed)
    glyphs = np.random.default_rng(1234).random((10, 5, 5)) < 0.5
    glyphs = glyphs.repeat(4, axis=1).repeat(4, axis=2)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, 10, size=n)
        images = np.zeros((n, 28, 28), dtype=np.uint8)
        for i, k in enumerate(labels):
            row, col = rng.integers(0, 9, size=2)
            images[i, row : row + 20, col : col + 20] = glyphs[k] * rng.integers(150, 256)
        return images, labels.astype(np.int64)

    train_images, train_labels = draw(n_train)
    test_images, test_labels = draw(n_test)
    return MnistArrays(train_images, train_labels, test_images, test_labels, "synthetic glyphs")


def tiny_canvas(seed: int = 0, n_train: int = 256) -> Canvas:
    return build_canvas(synthetic_mnist(seed=seed), bias=0.9, seed=seed, n_train=n_train, n_val=100)


def make_batch(canvas: Canvas, n: int = 32, seed: int = 0) -> Batch:
    split = canvas["train"]
    return Batch(
        images=torch.from_numpy(split.images[:n]),
        gray=torch.from_numpy(split.gray[:n]),
        labels=torch.from_numpy(split.labels[:n]),
        colours=torch.from_numpy(split.colours[:n]),
        digits=torch.from_numpy(split.digits[:n]),
        generator=torch.Generator().manual_seed(seed),
        index=torch.arange(n),
    )


@pytest.fixture(scope="module")
def canvas() -> Canvas:
    return tiny_canvas()


def test_registry_lists_every_method_once():
    assert ALGORITHMS == [
        "erm",
        "gray_oracle",
        "colour_aug",
        "colour_invariance",
        "cf_invar",
        "logit_consistency",
        "dann",
        "dann_colour",
        "saliency_penalty",
        "input_gradient",
        "group_dro",
        "lff",
    ]
    assert list(METHOD_SPECS) == ALGORITHMS
    for name in ALGORITHMS:
        assert get_algorithm_class(name).name == name
    with pytest.raises(ValueError, match="unknown algorithm 'irm'; known algorithms: erm, "):
        get_algorithm_class("irm")


@pytest.mark.parametrize("name", ALGORITHMS)
def test_each_method_trains_and_predicts(name, canvas):
    algorithm = build_algorithm(name, {"batch_size": 32}, backbone_kwargs=TINY, seed=0)
    algorithm.prepare(total_steps=4, n_train=len(canvas["train"]))
    before = [p.detach().clone() for p in algorithm.network.parameters()]
    for step in range(4):
        batch = make_batch(canvas, seed=step)
        terms = algorithm.update(batch, epoch=3)  # past logit consistency's warm-up
        algorithm.step_schedules()
        assert terms and all(np.isfinite(v) for v in terms.values()), terms
    after = list(algorithm.network.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    # The network is the backbone itself: named layers for later tasks to hook.
    names = dict(algorithm.network.named_modules())
    assert {"conv1", "conv2", "conv3", "gap", "fc"} <= set(names)
    channels = 1 if algorithm.input_kind == "gray" else 3
    assert names["conv1"].in_channels == channels
    x = make_batch(canvas).gray if channels == 1 else make_batch(canvas).images
    assert algorithm.predict(x).shape == (32, 10)
    assert algorithm(x).shape == (32, 10)


def test_invariance_penalty():
    z = torch.randn(8, 16)
    assert invariance_penalty(z, z.clone()) == 0
    shifted = z + 0.5
    assert torch.isclose(invariance_penalty(z, shifted), torch.tensor(16 * 0.25))


def test_symmetric_kl():
    a, b = torch.randn(8, 10), torch.randn(8, 10)
    assert symmetric_kl(a, a.clone()).abs() < 1e-7
    assert symmetric_kl(a, a + 3.0).abs() < 1e-6  # same distribution, shifted logits
    log_p, log_q = F.log_softmax(a, 1), F.log_softmax(b, 1)
    reference = F.kl_div(log_q, log_p, log_target=True, reduction="batchmean") + F.kl_div(
        log_p, log_q, log_target=True, reduction="batchmean"
    )
    assert torch.isclose(symmetric_kl(a, b), reference, atol=1e-6)
    assert torch.isclose(symmetric_kl(a, b), symmetric_kl(b, a))
    assert symmetric_kl(a, b) > 0


@pytest.mark.parametrize("strength", [1.0, 0.25, 3.0])
def test_gradient_reversal_flips_and_scales(strength):
    x = torch.randn(5, 4, requires_grad=True)
    weights = torch.randn(5, 4)
    (grad_plain,) = torch.autograd.grad((x * weights).sum(), x)
    y = grad_reverse(x, strength)
    assert torch.equal(y, x)
    (grad_reversed,) = torch.autograd.grad((y * weights).sum(), x)
    assert torch.allclose(grad_reversed, -strength * grad_plain)


def test_input_gradient_penalty_matches_a_per_image_reference(canvas):
    network = build_algorithm("erm", backbone_kwargs=TINY).network.double()
    batch = make_batch(canvas, n=6)
    x, y = batch.images.double(), batch.labels
    ce, penalty = input_gradient_penalty(network, x, y)
    expected = []
    for i in range(len(x)):
        xi = x[i : i + 1].clone().requires_grad_(True)
        (g,) = torch.autograd.grad(F.cross_entropy(network(xi), y[i : i + 1]), xi)
        expected.append(g.pow(2).sum())
    assert torch.isclose(penalty, torch.stack(expected).mean())
    assert torch.isclose(ce, F.cross_entropy(network(x), y))
    assert penalty.requires_grad  # double backprop: the penalty trains the weights
    # Finite-difference check of one gradient entry behind the penalty.
    xi = x[:1].clone()
    eps, loc = 1e-6, (0, 1, 14, 14)
    up, down = xi.clone(), xi.clone()
    up[loc] += eps
    down[loc] -= eps
    y0 = y[:1]
    fd = (F.cross_entropy(network(up), y0) - F.cross_entropy(network(down), y0)) / (2 * eps)
    xi.requires_grad_(True)
    (g,) = torch.autograd.grad(F.cross_entropy(network(xi), y0), xi)
    assert torch.isclose(g[loc], fd, rtol=1e-4, atol=1e-8)


def test_saliency_penalty_is_masked_and_chromatic(canvas):
    network = build_algorithm("erm", backbone_kwargs=TINY).network.double()
    batch = make_batch(canvas, n=6)
    x, y = batch.images.double(), batch.labels
    zeros, ones = torch.zeros(6, 1, 28, 28), torch.ones(6, 1, 28, 28)
    _, none = chroma_saliency_penalty(network, x, y, zeros)
    assert none == 0
    _, full = chroma_saliency_penalty(network, x, y, ones)
    xg = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(network(xg).gather(1, y[:, None]).sum(), xg)
    chroma = g - g.mean(1, keepdim=True)
    assert torch.isclose(full, chroma.pow(2).sum((1, 2, 3)).mean())
    half = ones.clone()
    half[..., 14:] = 0
    _, part = chroma_saliency_penalty(network, x, y, half)
    assert torch.isclose(part, chroma[..., :14].pow(2).sum((1, 2, 3)).mean())
    assert 0 < part < full


def test_logit_consistency_is_plain_ce_during_warm_up(canvas):
    algorithm = build_algorithm("logit_consistency", backbone_kwargs=TINY, seed=0)
    erm = build_algorithm("erm", backbone_kwargs=TINY, seed=0)
    assert [algorithm.consistency_weight(e) for e in (1, 2, 3, 9)] == [0.0, 0.0, 0.5, 0.5]
    terms = algorithm.update(make_batch(canvas), epoch=2)
    erm.update(make_batch(canvas), epoch=2)
    assert terms["consistency_weight"] == 0.0 and terms["loss"] == terms["ce"]
    for a, b in zip(algorithm.network.parameters(), erm.network.parameters(), strict=True):
        assert torch.equal(a, b)  # the same step as ERM
    terms = algorithm.update(make_batch(canvas), epoch=3)
    assert terms["consistency_weight"] == 0.5 and terms["mse"] > 0
    assert np.isclose(terms["loss"], terms["ce"] + 0.5 * terms["mse"], rtol=1e-5)


def test_cf_invar_loss_is_the_sum_of_its_terms(canvas):
    algorithm = build_algorithm("cf_invar", {"lambda_cf": 0.5, "lambda_cons": 2.0}, TINY)
    terms = algorithm.update(make_batch(canvas), epoch=1)
    expected = terms["ce"] + 0.5 * terms["ce_cf"] + 2.0 * terms["sym_kl"]
    assert np.isclose(terms["loss"], expected, rtol=1e-5)


def test_colour_aug_recolours_the_chosen_fraction(canvas):
    batch = make_batch(canvas, n=64)
    kept = build_algorithm("colour_aug", {"p": 0.0}, TINY).inputs(batch)
    assert torch.equal(kept, batch.images)
    changed = build_algorithm("colour_aug", {"p": 1.0}, TINY).inputs(batch)
    assert torch.all((changed - batch.images).abs().flatten(1).amax(1) > 0)
    half = build_algorithm("colour_aug", {"p": 0.5}, TINY).inputs(batch)
    same = (half == batch.images).flatten(1).all(1).float().mean()
    assert 0.2 < same < 0.8


def test_dann_takes_k_adversary_steps_per_joint_step(canvas):
    algorithm = build_algorithm("dann", {"disc_steps": 3}, TINY)
    counts = {"adv": 0, "main": 0}
    for key, optimiser in (("adv", algorithm.adv_optimiser), ("main", algorithm.optimiser)):
        optimiser.register_step_post_hook(
            lambda *_, key=key: counts.__setitem__(key, counts[key] + 1)
        )
    terms = algorithm.update(make_batch(canvas), epoch=1)
    assert counts == {"adv": 4, "main": 1}  # 3 adversary-only steps + the joint step
    assert {"ce", "adversary", "disc"} <= set(terms)


def test_ganin_ramp_rises_from_zero_to_one():
    values = [ganin_ramp(p / 10, gamma=10.0) for p in range(11)]
    assert values[0] == 0.0 and values[-1] == pytest.approx(1.0, abs=1e-4)
    assert all(a < b for a, b in zip(values, values[1:], strict=False))  # strictly rising
    assert ganin_ramp(0.1, gamma=10.0) == pytest.approx(2 / (1 + math.exp(-1.0)) - 1)
    assert ganin_ramp(0.0, gamma=0.0) == ganin_ramp(0.5, gamma=0.0) == 1.0  # no ramp
    assert ganin_ramp(2.0, gamma=10.0) == ganin_ramp(1.0, gamma=10.0)  # progress is clamped


def test_dann_reversal_strength_follows_the_ramp_over_the_run(canvas):
    algorithm = build_algorithm("dann", {"grl_strength": 0.5, "grl_ramp": 10.0}, TINY)
    algorithm.prepare(total_steps=4, n_train=len(canvas["train"]))
    seen = [algorithm.update(make_batch(canvas), epoch=1)["grl_strength"] for _ in range(4)]
    expected = [0.5 * ganin_ramp(step / 4, 10.0) for step in range(4)]
    assert seen == pytest.approx(expected)
    assert seen[0] == 0.0  # the first joint step: the adversary does not yet push on the encoder
    constant = build_algorithm("dann", {"grl_strength": 0.5, "grl_ramp": 0.0}, TINY)
    constant.prepare(total_steps=4, n_train=len(canvas["train"]))
    assert constant.update(make_batch(canvas), epoch=1)["grl_strength"] == 0.5


def test_group_dro_weights_move_toward_the_worst_group():
    q = torch.full((20,), 1 / 20)
    groups = torch.tensor([0, 0, 1, 3, 3])
    losses = torch.tensor([0.1, 0.3, 0.5, 4.0, 2.0])
    per_group, counts = group_losses(losses, groups, 20)
    assert torch.allclose(per_group[[0, 1, 3]], torch.tensor([0.2, 0.5, 3.0]))
    assert counts[2] == 0 and per_group[2] == 0
    updated = exponentiated_gradient_step(q, per_group, eta=0.1)
    assert torch.isclose(updated.sum(), torch.tensor(1.0))
    assert updated.argmax() == 3 and updated[3] > q[3]
    assert updated[2] < q[2]  # groups absent from the batch lose weight relatively
    assert torch.equal(
        GroupDRO.groups(torch.tensor([4, 4]), torch.tensor([4, 7])), torch.tensor([8, 9])
    )


def test_group_dro_update_upweights_conflicting_groups(canvas):
    algorithm = build_algorithm("group_dro", {"eta": 1.0}, TINY)
    batch = make_batch(canvas, n=64)
    algorithm.update(batch, epoch=1)
    groups = GroupDRO.groups(batch.labels, batch.colours)
    assert torch.isclose(algorithm.q.sum(), torch.tensor(1.0))
    present = torch.zeros(20, dtype=torch.bool)
    present[groups] = True
    assert algorithm.q[present].min() > algorithm.q[~present].max()


def test_lff_weights_favour_what_the_biased_model_gets_wrong():
    labels = torch.tensor([0, 1])
    biased_logits = torch.tensor([[5.0, 0.0], [5.0, 0.0]])  # right on sample 0, wrong on 1
    debiased_logits = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    ce_b = F.cross_entropy(biased_logits, labels, reduction="none")
    ce_d = F.cross_entropy(debiased_logits, labels, reduction="none")
    weights = lff_weights(ce_b, ce_d)
    assert weights[1] > 0.9 and weights[0] < 0.05
    assert torch.all((weights >= 0) & (weights <= 1))
    # GCE puts more weight on the samples the biased model already fits: it amplifies the bias.
    gce = generalised_ce(biased_logits.requires_grad_(True), labels, q=0.7)
    assert gce[0] < gce[1]


def test_lff_keeps_per_sample_loss_averages(canvas):
    algorithm = build_algorithm("lff", {"ema_alpha": 0.5}, TINY)
    algorithm.prepare(total_steps=2, n_train=len(canvas["train"]))
    batch = make_batch(canvas, n=16)
    algorithm.update(batch, epoch=1)
    first = algorithm.ema_biased[:16].clone()
    assert torch.all(first > 0) and torch.all(algorithm.ema_biased[16:] == 0)
    algorithm.update(batch, epoch=1)
    assert not torch.equal(algorithm.ema_biased[:16], first)
