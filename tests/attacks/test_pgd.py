"""PGD against a straightforward reference loop, its projection, best-so-far tracking, early
stop, batching and parameter validation."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from lazy_artist.attacks.pgd import PGDConfig, judge, pgd, project_linf, validate_pgd

from .conftest import SOURCE, TARGET


def reference_pgd(model, x, labels, epsilon, alpha, steps, target=None):
    """The textbook loop (Madry et al.), no random start: every iterate."""
    iterates, x_adv = [], x.clone()
    for _ in range(steps):
        x_adv.requires_grad_(True)
        logits = model(x_adv)
        if target is None:
            loss = F.cross_entropy(logits, labels)
            direction = 1.0
        else:
            loss = F.cross_entropy(logits, torch.full_like(labels, target))
            direction = -1.0
        (grad,) = torch.autograd.grad(loss, x_adv)
        x_adv = x_adv.detach() + direction * alpha * grad.sign()
        x_adv = torch.min(torch.max(x_adv, x - epsilon), x + epsilon).clamp(0, 1)
        iterates.append(x_adv.clone())
    return iterates


@pytest.mark.parametrize("target", [TARGET, None])
def test_matches_the_reference_step_for_step_without_random_start(tiny_cnn, images, target):
    labels = torch.full((len(images),), SOURCE)
    epsilon, fraction, steps = 0.1, 0.3, 6
    config = PGDConfig(
        steps=steps, random_start=False, step_fraction=fraction, early_stop=False, loss="ce"
    )
    seen = []
    pgd(
        tiny_cnn,
        images,
        labels,
        epsilon,
        config,
        target=target,
        on_step=lambda restart, step, idx, x: seen.append((step, idx.clone(), x.clone())),
    )
    expected = reference_pgd(tiny_cnn, images, labels, epsilon, fraction * epsilon, steps, target)
    assert [step for step, _, _ in seen] == list(range(steps))
    for (_, idx, ours), theirs in zip(seen, expected, strict=True):
        assert idx.tolist() == list(range(len(images)))
        assert torch.allclose(ours, theirs, atol=1e-6), (ours - theirs).abs().max()
    # The iterates really moved: the attack is not trivially equal to the clean images.
    assert (expected[-1] - images).abs().max() > 0.09


def test_every_iterate_stays_within_epsilon_and_the_pixel_range(tiny_cnn, images):
    epsilon = torch.tensor([0.0, 0.01, 0.05, 0.2, 0.5, 1.0])
    x = images.clone()
    x[0] = 0.0  # pixels at the borders of [0, 1] must be clipped, not pushed out
    x[1] = 1.0
    config = PGDConfig(steps=8, restarts=3, step_fraction=1.5, early_stop=False)

    def check(restart, step, idx, x_adv):
        eps = epsilon[idx].reshape(-1, 1, 1, 1)
        assert ((x_adv - x[idx]).abs() <= eps + 1e-6).all()
        assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0

    result = pgd(
        tiny_cnn,
        x,
        torch.full((6,), SOURCE),
        epsilon,
        config,
        target=TARGET,
        generator=torch.Generator().manual_seed(0),
        on_step=check,
    )
    check(0, 0, torch.arange(6), result.adversarial)
    assert torch.equal(result.adversarial[0], x[0])  # epsilon 0 changes nothing


def test_projection_is_the_nearest_point_of_the_ball_and_the_box():
    generator = torch.Generator().manual_seed(3)
    clean = torch.rand(50, 1, 4, 4, generator=generator)
    wild = clean + 2 * torch.randn(50, 1, 4, 4, generator=generator)
    eps = torch.rand(50, generator=generator)
    projected = project_linf(wild, clean, eps)
    low = torch.maximum(clean - eps.reshape(-1, 1, 1, 1), torch.zeros(()))
    high = torch.minimum(clean + eps.reshape(-1, 1, 1, 1), torch.ones(()))
    # Coordinate-wise the nearest point of the interval [low, high] is the clip.
    assert torch.allclose(projected, torch.minimum(torch.maximum(wild, low), high))
    assert ((projected - clean).abs() <= eps.reshape(-1, 1, 1, 1) + 1e-7).all()


def test_best_so_far_is_kept_and_reported_honestly(tiny_cnn, images):
    labels = torch.full((len(images),), SOURCE)
    best_seen = torch.full((len(images),), -1.0)

    def track(restart, step, idx, x_adv):
        with torch.no_grad():
            score = torch.softmax(tiny_cnn(x_adv), 1)[:, TARGET]
        best_seen[idx] = torch.maximum(best_seen[idx], score)

    config = PGDConfig(steps=10, restarts=2, step_fraction=1.0, early_stop=False)
    result = pgd(
        tiny_cnn,
        images,
        labels,
        0.3,
        config,
        target=TARGET,
        generator=torch.Generator().manual_seed(0),
        on_step=track,
    )
    with torch.no_grad():
        probs = torch.softmax(tiny_cnn(result.adversarial), 1)
    assert torch.allclose(result.score, probs[:, TARGET], atol=1e-6)
    assert torch.equal(result.prediction, probs.argmax(1))
    # The reported score is at least the best iterate seen (it also scores the clean image).
    assert (result.score >= best_seen - 1e-6).all()


def test_early_stop_at_the_target_confidence(linear_model, linear_images):
    labels = torch.full((len(linear_images),), SOURCE)
    config = PGDConfig(steps=50, restarts=1, target_confidence=0.9, early_stop=True)
    result = pgd(
        linear_model,
        linear_images,
        labels,
        0.5,
        config,
        target=TARGET,
        generator=torch.Generator().manual_seed(0),
    )
    assert result.success.all()
    assert (result.score >= 0.9).all()
    assert (result.steps < 50).all()  # each sample left the batch once it succeeded
    # Without early stop every sample spends the whole budget.
    full = pgd(
        linear_model,
        linear_images,
        labels,
        0.5,
        PGDConfig(steps=50, target_confidence=0.9, early_stop=False),
        target=TARGET,
        generator=torch.Generator().manual_seed(0),
    )
    assert (full.steps == 50).all() and full.success.all()


def test_batching_does_not_change_a_deterministic_attack(tiny_cnn, images):
    labels = torch.full((len(images),), SOURCE)
    common = dict(steps=7, random_start=False, target_confidence=0.6, schedule="cosine")
    whole = pgd(tiny_cnn, images, labels, 0.2, PGDConfig(**common, batch_size=64), target=TARGET)
    split = pgd(tiny_cnn, images, labels, 0.2, PGDConfig(**common, batch_size=2), target=TARGET)
    assert torch.equal(whole.adversarial, split.adversarial)
    assert torch.equal(whole.success, split.success) and torch.equal(whole.steps, split.steps)


def test_same_seed_same_attack(tiny_cnn, images):
    labels = torch.full((len(images),), SOURCE)
    config = PGDConfig(steps=5, restarts=2)
    runs = [
        pgd(tiny_cnn, images, labels, 0.1, config, generator=torch.Generator().manual_seed(4))
        for _ in range(2)
    ]
    assert torch.equal(runs[0].adversarial, runs[1].adversarial)


def test_untargeted_margin_attack_breaks_a_linear_model_it_should(linear_model, linear_images):
    labels = torch.full((len(linear_images),), SOURCE)
    result = pgd(
        linear_model,
        linear_images,
        labels,
        1.0,
        PGDConfig(steps=20, loss="margin"),
        generator=torch.Generator().manual_seed(0),
    )
    assert result.success.all() and (result.prediction != SOURCE).all()


def test_judge_scores():
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]))
    score, ok, pred = judge(logits, torch.tensor([1, 2]), targeted=True, target_confidence=0.5)
    assert torch.allclose(score, torch.tensor([0.2, 0.6])) and ok.tolist() == [False, True]
    score, ok, pred = judge(logits, torch.tensor([0, 0]), targeted=False, target_confidence=None)
    assert torch.allclose(score, torch.tensor([0.2, 0.6])) and ok.tolist() == [False, True]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epsilon": -0.1}, "epsilon -0.1 is not a valid"),
        ({"epsilon": 1.5}, "use 0 <= epsilon <= 1"),
        ({"epsilon": float("nan")}, "epsilon nan"),
        ({"epsilon": torch.tensor([0.1, -0.2])}, "epsilon -0.2"),
        ({"steps": 0}, "steps must be an integer >= 1"),
        ({"restarts": 0}, "restarts must be an integer >= 1"),
        ({"restarts": 3, "random_start": False}, "would repeat the same deterministic attack"),
        ({"schedule": "warp"}, "unknown step schedule 'warp'"),
        ({"loss": "hinge"}, "unknown attack loss 'hinge'"),
        ({"target_confidence": 1.5}, "target_confidence must be a probability"),
        ({"step_fraction": 0.0}, "step_fraction"),
        ({"target": 10}, "unknown target class 10: the model has classes 0..9"),
        ({"target": -1}, "unknown target class -1"),
        ({"target": 2.5}, "target class must be an integer"),
    ],
)
def test_bad_parameters_are_rejected_before_the_attack(tiny_cnn, images, kwargs, message):
    kwargs = dict(kwargs)
    epsilon = kwargs.pop("epsilon", 0.1)
    target = kwargs.pop("target", TARGET)
    calls = []
    handle = tiny_cnn.fc.register_forward_hook(lambda *args: calls.append(1))
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        pgd(tiny_cnn, images, torch.zeros(len(images)), epsilon, PGDConfig(**kwargs), target=target)
    handle.remove()
    if "target" not in message:  # the class range needs one forward pass to know the classes
        assert not calls


def test_validate_pgd_knows_the_number_of_classes():
    validate_pgd(0.1, PGDConfig(), target=9, num_classes=10)
    with pytest.raises(ValueError, match="unknown target class 10"):
        validate_pgd(0.1, PGDConfig(), target=10, num_classes=10)


def test_works_when_called_under_no_grad(tiny_cnn, images):
    labels = torch.full((len(images),), SOURCE)
    config = PGDConfig(steps=3, random_start=False)
    expected = pgd(tiny_cnn, images, labels, 0.1, config, target=TARGET)
    with torch.no_grad():
        inside = pgd(tiny_cnn, images, labels, 0.1, config, target=TARGET)
    assert torch.equal(expected.adversarial, inside.adversarial)


def test_the_input_layout_changes_nothing_and_results_come_back_contiguous(tiny_cnn, images):
    # The attack iterates channels-last internally (faster convolutions on CPU); callers see
    # ordinary tensors, whatever layout they passed in.
    labels = torch.full((len(images),), SOURCE)
    config = PGDConfig(steps=5, random_start=False, early_stop=False)
    default = pgd(tiny_cnn, images.contiguous(), labels, 0.1, config, target=TARGET)
    cl = images.contiguous(memory_format=torch.channels_last)
    other = pgd(tiny_cnn, cl, labels, 0.1, config, target=TARGET)
    torch.testing.assert_close(other.adversarial, default.adversarial, rtol=0, atol=1e-6)
    assert default.adversarial.is_contiguous() and other.adversarial.is_contiguous()
