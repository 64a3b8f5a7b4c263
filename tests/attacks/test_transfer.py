"""Transfer matrix: the diagonal is the white-box result, identical models transfer fully, and
perturbations cross input spaces by the documented maps."""

import numpy as np
import pytest
import torch

from lazy_artist.attacks.pgd import PGDConfig, pgd
from lazy_artist.attacks.transfer import AdversarialSet, map_perturbation, transfer_matrix

from .conftest import SOURCE, TARGET, TinyCNN


def test_identical_models_transfer_exactly_and_the_diagonal_is_white_box(
    linear_model, linear_images
):
    labels = torch.full((len(linear_images),), SOURCE)
    config = PGDConfig(steps=20, target_confidence=0.9)
    made = pgd(
        linear_model,
        linear_images,
        labels,
        0.25,
        config,
        target=TARGET,
        generator=torch.Generator().manual_seed(0),
    )
    twin = type(linear_model)(dim=linear_images[0].numel()).eval()
    twin.load_state_dict(linear_model.state_dict())
    examples = {
        "a": AdversarialSet("colour", linear_images, made.adversarial),
        "b": AdversarialSet("colour", linear_images, linear_images.clone()),  # no attack at all
    }
    result = transfer_matrix(
        examples, {"a": (linear_model, "colour"), "b": (twin, "colour")}, labels, TARGET, 0.9
    )
    assert result.names == ["a", "b"]
    assert result.success[0, 0] == pytest.approx(made.success_rate)
    assert result.success[0, 1] == pytest.approx(made.success_rate)  # same weights
    assert result.success[1, 0] == 0 and result.success[1, 1] == 0  # clean images: no success
    assert np.all(result.accuracy[1] == 1.0)


def test_gray_and_colour_models_exchange_perturbations():
    torch.manual_seed(0)
    colour, gray = TinyCNN(3).eval(), TinyCNN(1).eval()
    x_colour, x_gray = torch.rand(4, 3, 8, 8), torch.rand(4, 1, 8, 8)
    delta = torch.rand(4, 3, 8, 8) * 0.1
    examples = {
        "c": AdversarialSet("colour", x_colour, x_colour + delta),
        "g": AdversarialSet("gray", x_gray, x_gray + delta[:, :1]),
    }
    result = transfer_matrix(
        examples, {"c": (colour, "colour"), "g": (gray, "gray")}, torch.zeros(4), TARGET
    )
    with torch.no_grad():  # colour -> gray: the channel mean, added to the gray view, clipped
        expected = gray((x_gray + delta.mean(1, keepdim=True)).clamp(0, 1)).softmax(1)[:, TARGET]
    assert result.target_probability[0, 1] == pytest.approx(expected.mean().item(), abs=1e-6)
    assert torch.equal(
        map_perturbation(delta[:, :1], "gray", "colour"), delta[:, :1].expand(-1, 3, -1, -1)
    )


def test_unknown_input_kind_and_missing_model_are_refused():
    with pytest.raises(ValueError, match="no perturbation map"):
        map_perturbation(torch.zeros(1, 3, 2, 2), "colour", "infrared")
    x = torch.zeros(1, 3, 8, 8)
    with pytest.raises(ValueError, match="no model given for source"):
        transfer_matrix({"a": AdversarialSet("colour", x, x)}, {}, torch.zeros(1), TARGET)
