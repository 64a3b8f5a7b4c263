"""The FCNN of T7: registered, shapes, and blind to a pixel permutation (what T7 relies on)."""

import numpy as np
import pytest
import torch

from lazy_artist.data.scramble import pixel_permutation, scramble
from lazy_artist.models import build_model, known_models
from lazy_artist.models.checkpoints import load_checkpoint, save_checkpoint


def test_registered_and_shapes():
    assert "mlp" in known_models()
    model = build_model("mlp", in_channels=1, hidden=[32, 16])
    assert model(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    assert model.features(torch.rand(3, 1, 28, 28)).shape == (3, 16)


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = build_model("mlp", in_channels=1, hidden=[8])
    path = save_checkpoint(tmp_path / "m.pt", "mlp", model)
    again = load_checkpoint(path)
    x = torch.rand(2, 1, 28, 28)
    assert torch.equal(model(x), again(x))


def test_permuting_the_first_layer_undoes_a_pixel_permutation():
    """An FCNN on scrambled pixels is the same function class: permuting its first layer's
    input weights gives exactly the unscrambled network's outputs."""
    torch.manual_seed(0)
    model = build_model("mlp", in_channels=1, hidden=[16]).eval()
    perm = pixel_permutation(784, 5)
    x = np.random.default_rng(0).random((4, 1, 28, 28)).astype(np.float32)
    scrambled_model = build_model("mlp", in_channels=1, hidden=[16]).eval()
    scrambled_model.load_state_dict(model.state_dict())
    with torch.no_grad():
        first = scrambled_model.body[1]
        first.weight.copy_(model.body[1].weight[:, torch.as_tensor(perm)])
    expected = model(torch.as_tensor(x))
    got = scrambled_model(torch.as_tensor(scramble(x, perm)))
    assert torch.allclose(expected, got, atol=1e-5)


def test_bad_hidden_layers_are_refused():
    with pytest.raises(ValueError, match="hidden"):
        build_model("mlp", hidden=[])
