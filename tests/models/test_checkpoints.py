"""Checkpoints: the same weights give the same bytes, whatever layout training held them in."""

import hashlib

import torch

from lazy_artist.models import build_model
from lazy_artist.models.checkpoints import load_checkpoint, save_checkpoint


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_channels_last_network_saves_the_bytes_of_its_restored_copy(tmp_path):
    """T4 saves a trained run's checkpoint from channels-last weights and a memoised run's from
    weights loaded into a fresh network; later tasks key on the bytes, so they must agree."""
    torch.manual_seed(0)
    trained = build_model("cheater_cnn", width=8).to(memory_format=torch.channels_last)
    restored = build_model("cheater_cnn", width=8)
    restored.load_state_dict(trained.state_dict())
    a = save_checkpoint(
        tmp_path / "a" / "model.pt", "cheater_cnn", trained, model_kwargs={"width": 8}
    )
    b = save_checkpoint(
        tmp_path / "b" / "model.pt", "cheater_cnn", restored, model_kwargs={"width": 8}
    )
    assert _sha(a) == _sha(b)
    loaded = load_checkpoint(a).state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in trained.state_dict().items())
