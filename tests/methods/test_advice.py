"""T4's preflight advice names each bf16 backbone on a CPU without native bf16, and only then."""

import pytest

from lazy_artist.methods import advice
from lazy_artist.study import STUDY_TASKS


@pytest.fixture
def t4_params():
    return STUDY_TASKS["t4"].defaults()


def test_bf16_recipe_on_a_cpu_without_bf16(monkeypatch, t4_params):
    monkeypatch.setattr(advice, "native_bf16", lambda device: False)
    params = {**t4_params, "recipes": {"lenet_cnn": {"precision": "bf16"}}}
    lines = advice.precision_advice(params, "cpu")
    assert len(lines) == 1 and "lenet_cnn" in lines[0] and '"precision": "fp32"' in lines[0]


def test_silent_with_native_bf16_or_unknown_flags(monkeypatch, t4_params):
    params = {**t4_params, "recipes": {"lenet_cnn": {"precision": "bf16"}}}
    for answer in (True, None):
        monkeypatch.setattr(advice, "native_bf16", lambda device, a=answer: a)
        assert advice.precision_advice(params, "cpu") == []


def test_silent_when_no_recipe_uses_bf16(monkeypatch, t4_params):
    # The study's recipes are all fp32: a CPU without native bf16 needs no advice.
    monkeypatch.setattr(advice, "native_bf16", lambda device: False)
    assert advice.precision_advice(t4_params, "cpu") == []
