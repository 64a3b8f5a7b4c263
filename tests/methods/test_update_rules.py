"""The update rules of the methods that follow a paper, on constructed cases computed by hand:
GroupDRO's group weights and l2 penalty, LfF's per-sample averages, per-class normalisation and
weights, the GCE gradient, DANN's reversed gradient and both adversary targets, the saliency
mask and colour augmentation's effective bias."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lazy_artist.methods.algorithms import (
    DANN,
    DANNColour,
    build_algorithm,
    chroma_saliency_penalty,
    class_max_normalised,
    colour_aug_effective_bias,
    ema_update,
    ganin_ramp,
    generalised_ce,
    l2_penalty,
    lff_weights,
)
from lazy_artist.methods.base import Batch
from lazy_artist.methods.counterfactual import background_mask, stroke_mask
from tests.methods.test_algorithms import TINY, make_batch, tiny_canvas


@pytest.fixture(scope="module")
def canvas():
    return tiny_canvas()


def _grads(module: nn.Module) -> list[torch.Tensor]:
    return [p.grad.detach().clone() for p in module.parameters()]


# --- GroupDRO -------------------------------------------------------------------------------


def test_group_dro_weights_match_a_hand_computation(canvas):
    """One step from uniform q: q_g proportional to exp(eta * mean loss of group g in the batch),
    0-loss (factor 1) for absent groups; the loss is q . group losses + l2/2 ||theta||^2."""
    eta, l2 = 0.5, 0.01
    algorithm = build_algorithm("group_dro", {"eta": eta, "l2_penalty": l2}, TINY, seed=0)
    batch = make_batch(canvas, n=64)
    before = copy.deepcopy(algorithm.network)
    losses = F.cross_entropy(before(batch.images), batch.labels, reduction="none")
    groups = (2 * batch.labels + (batch.colours != batch.labels).long()).tolist()
    per_group = [0.0] * 20
    for g in set(groups):  # the group's mean loss, by hand
        members = [losses[i].item() for i in range(64) if groups[i] == g]
        per_group[g] = sum(members) / len(members)
    unnormalised = [math.exp(eta * loss) / 20 for loss in per_group]
    expected_q = torch.tensor([u / sum(unnormalised) for u in unnormalised])

    terms = algorithm.update(batch, epoch=1)
    assert torch.allclose(algorithm.q, expected_q, atol=1e-6)
    robust = sum(q * loss for q, loss in zip(expected_q.tolist(), per_group, strict=True))
    norm = sum(p.pow(2).sum().item() for p in before.parameters())
    assert terms["robust"] == pytest.approx(robust, rel=1e-5)
    assert terms["loss"] == pytest.approx(robust + l2 * norm / 2, rel=1e-5)
    # The step's gradient is that of the robust loss plus l2 * theta (coupled weight decay).
    group_loss = torch.zeros(20).index_add(0, torch.tensor(groups), losses)
    counts = torch.bincount(torch.tensor(groups), minlength=20).clamp(min=1)
    reference = (expected_q * group_loss / counts).sum()
    reference_grads = torch.autograd.grad(reference, list(before.parameters()))
    for grad, ref, weight in zip(
        _grads(algorithm.network), reference_grads, before.parameters(), strict=True
    ):
        assert torch.allclose(grad, ref + l2 * weight.detach(), atol=1e-6)


def test_group_dro_weights_accumulate_over_steps():
    """q after two steps is the product of both exponentiated steps (online mirror ascent)."""
    from lazy_artist.methods.algorithms import exponentiated_gradient_step

    q = torch.full((4,), 0.25)
    first, second = torch.tensor([1.0, 0.0, 2.0, 0.0]), torch.tensor([0.0, 3.0, 1.0, 0.0])
    q = exponentiated_gradient_step(exponentiated_gradient_step(q, first, 0.1), second, 0.1)
    raw = torch.exp(0.1 * (first + second))
    assert torch.allclose(q, raw / raw.sum())


def test_l2_penalty_gradient_is_the_weights():
    layer = nn.Linear(3, 2)
    (grad,) = torch.autograd.grad(l2_penalty([layer.weight]), layer.weight)
    assert torch.allclose(grad, layer.weight)
    assert l2_penalty(layer.parameters()).item() == pytest.approx(
        0.5 * (layer.weight.pow(2).sum() + layer.bias.pow(2).sum()).item()
    )


# --- LfF ------------------------------------------------------------------------------------


def test_ema_starts_at_the_first_loss_then_averages():
    ema = torch.zeros(4)
    index = torch.tensor([1, 3])
    ema_update(ema, index, torch.tensor([2.0, 4.0]), torch.tensor([True, True]), alpha=0.7)
    assert ema.tolist() == [0.0, 2.0, 0.0, 4.0]  # first visit: the loss itself, not 0.3 * loss
    ema_update(ema, index, torch.tensor([1.0, 0.0]), torch.tensor([False, False]), alpha=0.7)
    assert ema.tolist() == pytest.approx([0.0, 0.7 * 2 + 0.3 * 1, 0.0, 0.7 * 4])


def test_class_max_normalisation_divides_by_the_class_maximum():
    ema = torch.tensor([1.0, 2.0, 4.0, 0.5, 9.0, 0.0])
    sample_labels = torch.tensor([0, 0, 1, 1, 0, -1])  # sample 4 belongs to class 0
    index, labels = torch.tensor([0, 3]), torch.tensor([0, 1])
    out = class_max_normalised(ema, sample_labels, index, labels)
    assert out.tolist() == pytest.approx([1.0 / 9.0, 0.5 / 4.0])  # over the whole split
    # The maximum is per class: a larger loss in another class changes nothing.
    ema[2] = 100.0
    assert class_max_normalised(
        ema, sample_labels, torch.tensor([0]), torch.tensor([0])
    ).item() == (pytest.approx(1.0 / 9.0))


def test_lff_weights_use_the_class_normalised_averages(canvas):
    """Class 0 has biased losses 10x those of class 1: without the per-class normalisation the
    two classes' weights would differ; with it both classes' hardest samples get 1 / (1 + 1)."""
    algorithm = build_algorithm("lff", {"ema_alpha": 0.7}, TINY)
    algorithm.prepare(total_steps=1, n_train=4)
    index, labels = torch.arange(4), torch.tensor([0, 0, 1, 1])
    ce_b = torch.tensor([10.0, 5.0, 1.0, 0.5])
    ce_d = torch.tensor([1.0, 1.0, 1.0, 1.0])
    weights = algorithm.relative_difficulty(index, labels, ce_b, ce_d)
    # Normalised: b = [1, 0.5, 1, 0.5], d = [1, 1, 1, 1] -> W = b / (b + d).
    expected = torch.tensor([0.5, 1 / 3, 0.5, 1 / 3])
    assert torch.allclose(weights, expected, atol=1e-6)
    assert not torch.allclose(lff_weights(ce_b, ce_d), expected, atol=1e-2)
    # Second visit: both averages move by (1 - alpha) toward the new losses.
    weights = algorithm.relative_difficulty(index, labels, torch.zeros(4), ce_d)
    ema_b = 0.7 * ce_b
    norm_b = ema_b / torch.tensor([7.0, 7.0, 0.7, 0.7])
    assert torch.allclose(algorithm.ema_biased, ema_b)
    assert torch.allclose(weights, norm_b / (norm_b + 1.0), atol=1e-6)


def test_lff_update_trains_the_debiased_model_with_those_weights(canvas):
    algorithm = build_algorithm("lff", {"gce_q": 0.7}, TINY, seed=0)
    algorithm.prepare(total_steps=1, n_train=len(canvas["train"]))
    batch = make_batch(canvas, n=16)
    network = copy.deepcopy(algorithm.network)
    probe = copy.deepcopy(algorithm)
    logits_b = probe.biased(batch.images)
    ce_b = F.cross_entropy(logits_b, batch.labels, reduction="none").detach()
    ce_d = F.cross_entropy(network(batch.images), batch.labels, reduction="none")
    weights = probe.relative_difficulty(batch.index, batch.labels, ce_b, ce_d.detach())
    algorithm.update(batch, epoch=1)
    reference = torch.autograd.grad((weights * ce_d).mean(), list(network.parameters()))
    for grad, ref in zip(_grads(algorithm.network), reference, strict=True):
        assert torch.allclose(grad, ref, atol=1e-6)


def test_lff_refuses_a_batch_without_sample_indices(canvas):
    algorithm = build_algorithm("lff", backbone_kwargs=TINY)
    algorithm.prepare(total_steps=1, n_train=len(canvas["train"]))
    batch = make_batch(canvas, n=8)
    batch.index = None
    with pytest.raises(ValueError, match="batch.index"):
        algorithm.update(batch, epoch=1)


@pytest.mark.parametrize("q", [0.7, 0.3, 1.0])
def test_gce_gradient_is_p_to_the_q_times_ce_gradient(q):
    torch.manual_seed(0)
    logits = torch.randn(6, 10, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 3, 3, 9, 1, 5])
    (g_gce,) = torch.autograd.grad(generalised_ce(logits, labels, q).sum(), logits)
    p_y = F.softmax(logits, 1).gather(1, labels[:, None]).detach()
    ce = F.cross_entropy(logits, labels, reduction="none")
    (g_ce,) = torch.autograd.grad(ce.sum(), logits)
    assert torch.allclose(g_gce, p_y**q * g_ce)
    # Finite difference of the closed form (1 - p^q) / q on one logit.
    eps, loc = 1e-6, (1, 4)
    up, down = logits.detach().clone(), logits.detach().clone()
    up[loc] += eps
    down[loc] -= eps
    fd = (generalised_ce(up, labels, q).sum() - generalised_ce(down, labels, q).sum()) / (2 * eps)
    assert g_gce[loc].item() == pytest.approx(fd.item(), rel=1e-6)
    assert generalised_ce(logits, labels, q)[0].item() == pytest.approx(
        (1 - p_y[0].item() ** q) / q
    )


# --- DANN -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dann", "dann_colour"])
def test_dann_joint_step_reverses_the_adversary_gradient_into_the_encoder(canvas, name):
    """Encoder gradient = d CE - s * lambda * d adv; adversary gradient = + lambda * d adv, with
    s the ramped strength at this step (here half-way through the run)."""
    hp = {"lambda_adv": 0.7, "grl_strength": 2.0, "grl_ramp": 10.0, "disc_steps": 1}
    algorithm = build_algorithm(name, hp, TINY, seed=0)
    algorithm.prepare(total_steps=10, n_train=len(canvas["train"]))
    algorithm._steps_done = 5
    strength = 2.0 * ganin_ramp(0.5, 10.0)
    batch = make_batch(canvas, n=32)
    probe = copy.deepcopy(algorithm)
    terms = algorithm.update(batch, epoch=1)
    assert terms["grl_strength"] == pytest.approx(strength)
    # Replay: the adversary-only step first (on the detached embedding), then plain gradients.
    target = probe.domain_labels(batch)
    z = probe.network.features(batch.images)
    probe.step(
        F.cross_entropy(probe.adversary_logits(z.detach(), batch), target), probe.adv_optimiser
    )
    encoder = [p for n, p in probe.network.named_parameters() if not n.startswith("fc.")]
    ce = F.cross_entropy(probe.network.fc(z), batch.labels)
    adv = F.cross_entropy(probe.adversary_logits(z, batch), target)
    g_ce = torch.autograd.grad(ce, encoder, retain_graph=True)
    g_adv = torch.autograd.grad(adv, encoder + list(probe.adversary.parameters()))
    trained = [p for n, p in algorithm.network.named_parameters() if not n.startswith("fc.")]
    for p, gc, ga in zip(trained, g_ce, g_adv[: len(encoder)], strict=True):
        assert torch.allclose(p.grad, gc - strength * 0.7 * ga, atol=1e-6)
    for p, ga in zip(algorithm.adversary.parameters(), g_adv[len(encoder) :], strict=True):
        assert torch.allclose(p.grad, 0.7 * ga, atol=1e-6)


def test_dann_targets_binary_dominance_and_dann_colour_the_colour(canvas):
    batch = make_batch(canvas, n=64)
    binary = build_algorithm("dann", backbone_kwargs=TINY)
    colour = build_algorithm("dann_colour", backbone_kwargs=TINY)
    assert isinstance(binary, DANN) and isinstance(colour, DANNColour)
    assert torch.equal(binary.domain_labels(batch), (batch.colours == batch.labels).long())
    assert torch.equal(colour.domain_labels(batch), batch.colours)
    assert binary.domain_labels(batch).max() == 1 and colour.domain_labels(batch).max() > 1
    embedding = colour.network.fc.in_features
    z = torch.randn(64, embedding)
    assert binary.adversary_logits(z, batch).shape == (64, 2)
    assert colour.adversary_logits(z, batch).shape == (64, 10)


def test_dann_colour_conditions_its_adversary_on_the_label(canvas):
    batch = make_batch(canvas, n=16)
    conditional = build_algorithm("dann_colour", backbone_kwargs=TINY)
    plain = build_algorithm("dann_colour", {"adv_condition": "none"}, TINY)
    embedding = conditional.network.fc.in_features
    assert conditional.adversary[0].in_features == embedding + 10
    assert plain.adversary[0].in_features == embedding
    z = torch.randn(16, embedding)
    relabelled = Batch(labels=(batch.labels + 1) % 10, colours=batch.colours)
    assert not torch.allclose(
        conditional.adversary_logits(z, batch), conditional.adversary_logits(z, relabelled)
    )
    assert torch.equal(plain.adversary_logits(z, batch), plain.adversary_logits(z, relabelled))


# --- Saliency penalty -----------------------------------------------------------------------


class _Linear(nn.Module):
    """logits_k = <w_k, x>: the input gradient of the true-class logit is w_y, known exactly."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("kchw,bchw->bk", self.weight, x)


def _constructed_digit() -> torch.Tensor:
    digits = torch.zeros(1, 28, 28, dtype=torch.uint8)
    digits[0, 10:18, 12:16] = 200  # a bar of stroke, everything else background
    return digits


def test_stroke_and_background_masks_split_the_constructed_digit():
    digits = _constructed_digit()
    stroke, background = stroke_mask(digits, 0.1), background_mask(digits, 0.1)
    assert stroke.shape == (1, 1, 28, 28) and stroke.sum() == 8 * 4
    assert torch.equal(stroke + background, torch.ones_like(stroke))
    assert stroke[0, 0, 10:18, 12:16].all() and stroke[0, 0, :10].sum() == 0


def test_saliency_default_penalises_colour_on_the_stroke_only(canvas):
    """A model that reads the stroke's redness (red minus green on stroke pixels) is penalised
    by the default stroke mask and not by the background mask; a model that reads the stroke's
    intensity (the same weight in every channel) is penalised by neither."""
    digits = _constructed_digit()
    on_stroke = stroke_mask(digits, 0.1)[0, 0]
    colour_reader = torch.zeros(10, 3, 28, 28)
    colour_reader[3, 0] = on_stroke
    colour_reader[3, 1] = -on_stroke
    intensity_reader = torch.zeros(10, 3, 28, 28)
    intensity_reader[3] = on_stroke
    x = torch.rand(1, 3, 28, 28)
    y = torch.tensor([3])
    stroke_alg = build_algorithm("saliency_penalty", backbone_kwargs=TINY)
    background_alg = build_algorithm("saliency_penalty", {"region": "background"}, TINY)
    batch = Batch(digits=digits)
    assert stroke_alg.hparams["region"] == "stroke"  # the default removes the colour cue
    penalties = {}
    for name, weight in (("colour", colour_reader), ("intensity", intensity_reader)):
        for region, alg in (("stroke", stroke_alg), ("background", background_alg)):
            _, penalty = chroma_saliency_penalty(_Linear(weight), x, y, alg.mask(batch))
            penalties[(name, region)] = penalty.item()
    # chroma of (1, -1, 0) is (1, -1, 0) (channel mean 0): 2 per stroke pixel.
    assert penalties[("colour", "stroke")] == pytest.approx(2.0 * 32)
    assert penalties[("colour", "background")] == 0.0
    assert penalties[("intensity", "stroke")] == pytest.approx(0.0, abs=1e-10)
    assert penalties[("intensity", "background")] == 0.0


# --- Colour augmentation --------------------------------------------------------------------


def test_colour_aug_effective_bias_formula_and_measurement(canvas):
    assert colour_aug_effective_bias(0.9, 0.95) == pytest.approx(0.185)
    assert colour_aug_effective_bias(1.0, 0.95) == pytest.approx(0.1)  # chance
    assert colour_aug_effective_bias(0.0, 0.95) == pytest.approx(0.95)
    batch = make_batch(canvas, n=256)
    aligned = (batch.colours == batch.labels).float().mean().item()
    kept = build_algorithm("colour_aug", {"p": 0.0}, TINY).update(batch, epoch=1)
    assert kept["own_colour"] == pytest.approx(aligned)
    shares = [
        build_algorithm("colour_aug", {"p": 0.9}, TINY).update(make_batch(canvas, 256, s), 1)[
            "own_colour"
        ]
        for s in range(8)
    ]
    expected = colour_aug_effective_bias(0.9, aligned)
    # 2048 draws: the binomial standard error is about 0.009.
    assert sum(shares) / len(shares) == pytest.approx(expected, abs=0.03)
