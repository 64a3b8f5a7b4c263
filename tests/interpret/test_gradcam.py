import numpy as np
import pytest
import torch
from captum.attr import LayerAttribution, LayerGradCam

from lazy_artist.interpret.attention import background_stroke_ratio
from lazy_artist.interpret.gradcam import grad_cam, last_conv_layer

from .conftest import TinyCNN, randomised_copy, square_images


def _captum_cam(forward, layer, images, targets):
    attr = LayerGradCam(forward, layer).attribute(images, target=targets, relu_attributions=True)
    return LayerAttribution.interpolate(attr, (28, 28), interpolate_mode="bilinear")[:, 0]


@pytest.mark.parametrize("output", ["logits", "softmax"])
@pytest.mark.parametrize("layer", ["conv1", "conv2"])
def test_matches_captum_layer_gradcam(output, layer):
    torch.manual_seed(0)
    model = TinyCNN().eval()
    images, _, _ = square_images(8, seed=3)
    targets = torch.arange(8) % 4
    ours = grad_cam(model, images, layer=layer, target=targets, output=output, batch_size=3)
    forward = model if output == "logits" else (lambda x: torch.softmax(model(x), dim=1))
    reference = _captum_cam(forward, getattr(model, layer), images, targets).detach().numpy()
    assert reference.max() > 0, "the comparison needs non-trivial maps"
    np.testing.assert_allclose(ours.raw, reference, atol=1e-5, rtol=0)
    assert ours.targets.tolist() == targets.tolist()


def test_default_is_the_last_conv_layer_and_the_predicted_class():
    torch.manual_seed(0)
    model = TinyCNN().eval()
    images, _, _ = square_images(4, seed=4)
    assert last_conv_layer(model) == "conv2"
    cam = grad_cam(model, images)
    predicted = model(images).argmax(1)
    assert cam.targets.tolist() == predicted.tolist()
    reference = _captum_cam(model, model.conv2, images, predicted).detach().numpy()
    np.testing.assert_allclose(cam.raw, reference, atol=1e-5, rtol=0)
    # Normalised: each map peaks at 1 (or is all zero), nothing negative.
    peaks = cam.maps.reshape(4, -1).max(axis=1)
    assert np.all((np.abs(peaks - 1) < 1e-6) | (peaks == 0)) and cam.maps.min() >= 0
    np.testing.assert_allclose(cam.probabilities.sum(axis=1), 1, atol=1e-6)


def test_parameters_get_no_gradients():
    model = TinyCNN().eval()
    grad_cam(model, square_images(2)[0])
    assert all(p.grad is None for p in model.parameters())


def test_trained_model_looks_at_the_square_and_randomised_weights_do_not(trained_tiny):
    model, images, labels, masks = trained_tiny
    trained = grad_cam(model, images, target=labels)
    random = grad_cam(randomised_copy(model), images, target=labels)
    # The trained model's evidence sits on the square ...
    ratio = np.nanmedian(background_stroke_ratio(trained.maps, masks))
    assert ratio < 0.5, ratio
    # ... and the sanity check: re-drawn weights give substantially different maps.
    correlations = [
        np.corrcoef(a.ravel(), b.ravel())[0, 1]
        for a, b in zip(trained.maps, random.maps, strict=True)
        if a.std() > 0 and b.std() > 0
    ]
    assert np.mean(correlations) < 0.5, np.mean(correlations)


def test_a_layer_that_is_not_a_conv_map_is_rejected():
    model = TinyCNN().eval()
    with pytest.raises(ValueError, match="not conv maps"):
        grad_cam(model, square_images(2)[0], layer="fc")
    with pytest.raises(KeyError, match="no layer 'conv9'"):
        grad_cam(model, square_images(2)[0], layer="conv9")


def test_the_map_records_its_layer_and_the_resolution_it_was_computed_at():
    from lazy_artist.interpret.gradcam import map_resolution
    from lazy_artist.models import build_model

    torch.manual_seed(0)
    model = TinyCNN().eval()
    images, _, _ = square_images(3, seed=5)
    cam = grad_cam(model, images, layer="conv1")
    assert (cam.layer, cam.resolution) == ("conv1", (28, 28))
    cam = grad_cam(model, images)  # conv2 runs after the 2x2 pool
    assert (cam.layer, cam.resolution) == ("conv2", (14, 14))
    assert cam.maps.shape == (3, 28, 28), "maps are upsampled to the input whatever the layer"
    assert map_resolution(model, images[0]) == (14, 14)
    # The study's backbones: their last conv layers work at different resolutions, which is
    # why T3 compares maps only within a backbone.
    cheater, lenet = build_model("cheater_cnn"), build_model("lenet_cnn")
    assert map_resolution(cheater, images[:1]) == (7, 7)
    assert map_resolution(lenet, images[:1]) == (14, 14)
    assert grad_cam(cheater.eval(), images).resolution == (7, 7)
    with pytest.raises(ValueError, match="not conv maps"):
        map_resolution(model, images, layer="fc")
