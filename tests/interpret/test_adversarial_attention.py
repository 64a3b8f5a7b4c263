"""The adversarial comparison: the source image, the attack and what is recorded per model."""

import numpy as np
import pytest
import torch

from lazy_artist.interpret.adversarial_attention import (
    COLUMN_TITLES,
    AttackSettings,
    adversarial_view,
    adversarial_views,
    choose_source,
    targeted_attack,
)
from lazy_artist.zoo import StudyModel


def test_the_source_is_the_first_image_every_model_reads_correctly():
    labels = np.array([7, 3, 7, 7, 1])
    predictions = {"a": np.array([1, 3, 7, 7, 1]), "b": np.array([7, 3, 2, 7, 1])}
    choice = choose_source(predictions, labels, 7)
    assert (choice.index, choice.n_candidates, choice.n_sources, choice.found) == (3, 1, 3, True)
    # None read correctly: the first image of the digit, and the choice says so.
    wrong = {"a": np.zeros(5, int)}
    assert choose_source(wrong, labels, 7) == choose_source(wrong, labels, 7)
    fallback = choose_source(wrong, labels, 7)
    assert (fallback.index, fallback.found) == (0, False)
    assert choose_source(predictions, labels, 9).index is None


SETTINGS = AttackSettings(source=0, target=2, epsilon=0.5, steps=30, seed=0, ig_steps=8)


def test_the_attack_is_seeded_stays_in_the_ball_and_reaches_the_target(trained_tiny):
    model, images, labels, _ = trained_tiny
    x = images[labels == 0][:2]
    adversarial = targeted_attack(model, x, SETTINGS)
    assert (adversarial - x).abs().max() <= SETTINGS.epsilon + 1e-6
    assert adversarial.min() >= 0 and adversarial.max() <= 1
    assert torch.equal(adversarial, targeted_attack(model, x, SETTINGS))
    with torch.no_grad():
        assert (model(adversarial).argmax(1) == SETTINGS.target).all()


def test_the_view_explains_both_images_and_records_the_change(trained_tiny):
    model, images, labels, _ = trained_tiny
    x = images[labels == 0][:1]
    view = adversarial_view(model, x, SETTINGS)
    record = view.record()
    assert record["prediction_before"] == 0 and record["prediction_after"] == SETTINGS.target
    assert record["p_target_after"] > record["p_target_before"]
    assert record["linf_distance"] <= SETTINGS.epsilon + 1e-6
    assert -1.0 <= record["gradcam_correlation"] <= 1.0
    assert len(view.cells()) == len(COLUMN_TITLES)
    assert view.cells()[1].caption.startswith(f"adversarial: pred {SETTINGS.target}")
    with pytest.raises(ValueError, match="one image"):
        adversarial_view(model, images[:2], SETTINGS)
    assert SETTINGS.record()["method"] == "pgd" and SETTINGS.record()["epsilon"] == 0.5


def test_views_of_several_models_use_each_models_own_inputs(trained_tiny):
    from lazy_artist.data.canvas import CanvasSplit

    model, images, labels, masks = trained_tiny
    split = CanvasSplit(
        images=images.numpy(),
        gray=images.mean(1, keepdim=True).numpy(),
        labels=labels.numpy(),
        colours=labels.numpy(),
        digits=masks.numpy(),
        source_index=np.arange(len(labels)),
    )
    index = int(np.flatnonzero(labels.numpy() == 0)[0])
    models = [StudyModel("tiny", model, "colour", "test", {}) for _ in range(2)]
    views = adversarial_views(models, split, index, SETTINGS)
    assert len(views) == 2 and torch.equal(views[0].original, images[index : index + 1])
