"""The base class, the registry and ERM: what every method and T7's plain classifiers share."""

from __future__ import annotations

import pytest
import torch

from lazy_artist.methods.algorithms import ALGORITHMS, build_algorithm
from lazy_artist.methods.base import (
    ERM,
    GROUPS,
    REGISTRY,
    Algorithm,
    Batch,
    GrayOracle,
    register,
    seeded,
)

HPARAMS = {"lr": 1e-2, "batch_size": 16, "weight_decay": 0.0, "schedule": "constant"}


def test_the_registry_holds_erm_first_then_every_debiasing_method():
    assert list(REGISTRY) == ALGORITHMS
    assert REGISTRY["erm"] is ERM and REGISTRY["gray_oracle"] is GrayOracle
    assert all(cls.__dict__["privileged"] in GROUPS for cls in REGISTRY.values())


def test_a_method_must_declare_its_privileged_information():
    class Undeclared(ERM):
        name = "undeclared"

    with pytest.raises(TypeError, match="must declare privileged"):
        register(Undeclared)
    assert "undeclared" not in REGISTRY


def test_seeded_weights_depend_on_the_seed_only_and_leave_the_global_rng_alone():
    state = torch.get_rng_state()
    first, again, other = (seeded(ERM, HPARAMS, s, backbone_kwargs={"width": 4}) for s in (1, 1, 2))
    assert torch.equal(torch.get_rng_state(), state)
    weights = [a.network.conv1.weight for a in (first, again, other)]
    assert torch.equal(weights[0], weights[1]) and not torch.equal(weights[0], weights[2])
    # build_algorithm (the registry's builder, hparams validated) seeds the same way.
    built = build_algorithm("erm", HPARAMS, backbone_kwargs={"width": 4}, seed=1)
    assert torch.equal(built.network.conv1.weight, weights[0])


def test_erm_update_is_one_cross_entropy_step():
    torch.manual_seed(0)
    erm = seeded(ERM, HPARAMS, 0, backbone_kwargs={"width": 4})
    x, y = torch.rand(16, 3, 28, 28), torch.randint(0, 10, (16,))
    expected = torch.nn.functional.cross_entropy(erm.network(x), y).item()
    terms = erm.update(Batch(images=x, labels=y), epoch=0)
    assert terms == {"loss": pytest.approx(expected, rel=1e-6)}
    assert erm.backward_passes == 1


def test_gray_erm_reads_the_gray_field_and_refuses_colour_input():
    gray = seeded(GrayOracle, HPARAMS, 0, backbone_kwargs={"width": 4})
    assert isinstance(gray, Algorithm) and gray.network.conv1.in_channels == 1
    with pytest.raises(ValueError, match="needs batch.gray"):
        gray.update(
            Batch(images=torch.rand(4, 3, 28, 28), labels=torch.zeros(4, dtype=torch.long)), 0
        )
    with pytest.raises(ValueError, match="in_channels=3"):
        build_algorithm("gray_oracle", backbone_kwargs={"in_channels": 3})
