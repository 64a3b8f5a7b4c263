"""Precision and layout of the training loops: bf16 autocast, channels-last tensors and modules."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lazy_artist.models import build_model
from lazy_artist.precision import autocast, channels_last, channels_last_module, check_precision


def test_an_unknown_precision_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16, got 'fp16'"):
        check_precision("fp16")
    with pytest.raises(ValueError, match="precision"):
        with autocast("cpu", "half"):
            pass


def test_bf16_autocast_runs_convolutions_in_bf16_and_fp32_is_a_no_op():
    model = build_model("lenet_cnn", width=4)
    x = torch.rand(2, 3, 28, 28)
    with autocast("cpu", "bf16"):
        assert model.conv1(x).dtype == torch.bfloat16
    with autocast("cpu", "fp32"):
        assert model.conv1(x).dtype == torch.float32
    assert model.conv1(x).dtype == torch.float32  # nothing leaks out of the context


def test_bf16_gradients_agree_with_fp32():
    # The invariant that makes bf16 training a speed setting, not another method: the gradient
    # direction of a training step is the fp32 one up to bf16 rounding (8 mantissa bits).
    torch.manual_seed(0)
    model = build_model("lenet_cnn", width=8)
    x, y = torch.rand(64, 3, 28, 28), torch.randint(0, 10, (64,))
    grads = {}
    for precision in ("fp32", "bf16"):
        model.zero_grad()
        with autocast("cpu", precision):
            loss = F.cross_entropy(model(channels_last(x)), y)
        loss.backward()
        grads[precision] = torch.cat([p.grad.flatten() for p in model.parameters()])
    cosine = F.cosine_similarity(grads["fp32"], grads["bf16"], dim=0)
    assert cosine > 0.99
    assert grads["bf16"].dtype == torch.float32  # the weights (and so their grads) stay fp32


def test_channels_last_keeps_values_and_shape_and_leaves_other_ranks_alone():
    x = torch.rand(3, 3, 5, 5)
    y = channels_last(x)
    assert y.is_contiguous(memory_format=torch.channels_last) and not y.is_contiguous()
    assert torch.equal(x, y) and y.shape == x.shape
    flat = torch.rand(3, 7)
    assert channels_last(flat) is flat


def test_channels_last_module_gives_the_default_layout_back_even_on_error():
    model = build_model("lenet_cnn", width=4)
    with channels_last_module(model):
        assert model.conv1.weight.is_contiguous(memory_format=torch.channels_last)
        assert not model.conv1.weight.is_contiguous()
    assert model.conv1.weight.is_contiguous()
    with pytest.raises(RuntimeError, match="boom"):
        with channels_last_module(model):
            raise RuntimeError("boom")
    assert all(p.is_contiguous() for p in model.parameters())


def test_a_channels_last_forward_equals_the_default_layout_forward():
    model = build_model("lenet_cnn", width=4).eval()
    x = torch.rand(8, 3, 28, 28)
    with torch.no_grad():
        expected = model(x)
        with channels_last_module(model):
            got = model(channels_last(x))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
