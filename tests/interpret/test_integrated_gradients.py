import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients as CaptumIG
from torch import nn

from lazy_artist.interpret.attention import background_stroke_ratio
from lazy_artist.interpret.integrated_gradients import integrated_gradients, make_baseline

from .conftest import TinyCNN, randomised_copy, square_images


def test_linear_model_gets_exact_attributions_at_any_step_count():
    # F(x) = w . x + c along a straight path: IG = (x - b) * w exactly, even with one step.
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 28 * 28, 4)).eval()
    images = torch.rand(3, 3, 28, 28)
    ig = integrated_gradients(model, images, target=2, steps=1)
    expected = images * model[1].weight[2].view(3, 28, 28)
    np.testing.assert_allclose(ig.attributions, expected.detach().numpy(), atol=1e-6)
    assert np.all(ig.relative_gap() < 1e-4)


@pytest.mark.parametrize("output", ["logits", "softmax"])
@pytest.mark.parametrize("baseline", ["zero", "blur"])
def test_completeness_within_one_percent_and_the_gap_shrinks_with_steps(
    trained_tiny, output, baseline
):
    model, images, labels, _ = trained_tiny
    images, labels = images[:8], labels[:8]
    gaps = {
        steps: integrated_gradients(
            model, images, target=labels, baseline=baseline, steps=steps, output=output
        )
        for steps in (2, 16, 256)
    }
    coarse, fine = gaps[2].completeness_gap.mean(), gaps[256].completeness_gap.mean()
    assert fine < gaps[16].completeness_gap.mean() < coarse
    # Within 1% of F(x) - F(b); where a saturated softmax barely moves along the path (the
    # blurred baseline keeps the colour the model reads), the gap is float rounding.
    fine_ig = gaps[256]
    change = np.abs(fine_ig.input_score - fine_ig.baseline_score)
    ok = (fine_ig.completeness_gap <= 0.01 * change) | (fine_ig.completeness_gap < 1e-4)
    assert ok.all(), (fine_ig.completeness_gap, change)
    # The endpoint scores are the model's own outputs.
    with torch.no_grad():
        logits = model(images)
        scores = logits if output == "logits" else torch.softmax(logits, 1)
    np.testing.assert_allclose(
        gaps[256].input_score, scores[torch.arange(8), labels].numpy(), rtol=1e-5
    )


def test_agrees_with_captum_at_many_steps(trained_tiny):
    model, images, labels, _ = trained_tiny
    images, labels = images[:4], labels[:4]
    ours = integrated_gradients(model, images, target=labels, steps=256)
    reference = CaptumIG(model).attribute(
        images, baselines=torch.zeros_like(images), target=labels, n_steps=128
    )
    reference = reference.detach().numpy()
    scale = np.abs(reference).max()
    assert np.abs(ours.attributions - reference).max() < 0.02 * scale


def test_trained_model_attributes_the_square_and_randomised_weights_do_not(trained_tiny):
    model, images, labels, masks = trained_tiny
    trained = integrated_gradients(model, images[:16], target=labels[:16], steps=32)
    random = integrated_gradients(randomised_copy(model), images[:16], target=labels[:16], steps=32)
    assert np.median(background_stroke_ratio(trained.maps(), masks[:16])) < 0.5
    correlations = [
        np.corrcoef(a.ravel(), b.ravel())[0, 1]
        for a, b in zip(trained.attributions, random.attributions, strict=True)
    ]
    assert np.mean(correlations) < 0.5, np.mean(correlations)


def test_baselines_and_bad_arguments():
    images = square_images(2)[0]
    assert torch.all(make_baseline(images, "zero") == 0)
    blurred = make_baseline(images, "blur")
    # The blurred baseline keeps each image's mean colour but not its square's edges.
    np.testing.assert_allclose(blurred.mean(dim=(2, 3)), images.mean(dim=(2, 3)), atol=0.02)
    assert blurred.std() < images.std()
    model = TinyCNN().eval()
    with pytest.raises(ValueError, match="unknown baseline 'noise'"):
        integrated_gradients(model, images, baseline="noise")
    with pytest.raises(ValueError, match="unknown output 'probits'"):
        integrated_gradients(model, images, output="probits")
    with pytest.raises(ValueError, match="steps must be >= 1"):
        integrated_gradients(model, images, steps=0)


def test_gap_summary_leaves_out_outputs_that_do_not_move():
    from lazy_artist.interpret.integrated_gradients import IntegratedGradients

    ig = IntegratedGradients(
        attributions=np.array([1.01, 0.5, 0.0]).reshape(3, 1, 1, 1),
        targets=np.zeros(3, int),
        input_score=np.array([1.0, 0.5, 0.001]),
        baseline_score=np.zeros(3),
    )
    summary = ig.gap_summary(min_change=0.01)
    assert summary["n"] == 2
    assert summary["median"] == pytest.approx(0.005) and summary["max"] == pytest.approx(0.01)
    assert summary["mean_change"] == pytest.approx(1.501 / 3)
    assert np.isnan(ig.gap_summary(min_change=10.0)["median"])
