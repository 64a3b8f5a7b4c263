"""The colour-probe memo: a stored score is the score, read back only for the same weights,
images and probe; anything else (or a damaged file) is scored again."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lazy_artist.methods import probe_memo
from lazy_artist.methods.probe_memo import PROBES_DIR, ProbeMemo, weights_digest
from lazy_artist.methods.reliance import colour_following
from lazy_artist.models.cnn import CheaterCNN
from tests.methods.test_algorithms import tiny_canvas

CANVAS_RANGE = (0.05, 0.25)


@pytest.fixture(scope="module")
def split():
    return tiny_canvas(n_train=64)["hard_test"]


def network(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return CheaterCNN(width=4).eval()


@pytest.fixture
def counted(monkeypatch):
    """Count the probes actually computed (the memo's own counters are not the evidence)."""
    calls = []

    def probe(*args, **kwargs):
        calls.append(1)
        return colour_following(*args, **kwargs)

    monkeypatch.setattr(probe_memo, "colour_following", probe)
    return calls


def score(memo: ProbeMemo, net: nn.Module, split, n_images: int = 40, seed: int = 0):
    return memo.colour_following(net, "colour", split, n_images, seed, "cpu", bg_range=CANVAS_RANGE)


def test_a_stored_score_is_the_computed_one_and_is_not_computed_again(tmp_path, split, counted):
    net = network()
    direct = colour_following(net, "colour", split, 40, 0, "cpu", bg_range=CANVAS_RANGE)
    first = score(ProbeMemo(tmp_path), net, split)
    again = score(ProbeMemo(tmp_path), network(), split)  # a new memo, the same weights
    assert first == again == direct
    assert len(counted) == 1
    assert len(list((tmp_path / PROBES_DIR).glob("*.json"))) == 1


@pytest.mark.parametrize(
    "change",
    [
        lambda net, kw: (network(seed=1), kw),  # other weights
        lambda net, kw: (net, {**kw, "n_images": 30}),  # fewer probe images
        lambda net, kw: (net, {**kw, "seed": 1}),  # other backgrounds
    ],
)
def test_other_weights_or_another_probe_are_scored_again(tmp_path, split, counted, change):
    net, kwargs = change(network(), {"n_images": 40, "seed": 0})
    score(ProbeMemo(tmp_path), network(), split)
    score(ProbeMemo(tmp_path), net, split, **kwargs)
    assert len(counted) == 2


def test_a_damaged_score_file_is_scored_again_and_rewritten(tmp_path, split, counted):
    first = score(ProbeMemo(tmp_path), network(), split)
    (stored,) = (tmp_path / PROBES_DIR).glob("*.json")
    stored.write_text('{"following": "lots"}')
    assert score(ProbeMemo(tmp_path), network(), split) == first
    assert len(counted) == 2
    stored.write_text("{not json")
    assert score(ProbeMemo(tmp_path), network(), split) == first
    assert len(counted) == 3


def test_without_a_directory_every_probe_is_computed(split, counted):
    memo = ProbeMemo(None)
    score(memo, network(), split)
    score(memo, network(), split)
    assert len(counted) == 2


def test_the_weights_digest_ignores_memory_layout_and_sees_one_value():
    net = network()
    same = network().to(memory_format=torch.channels_last)
    assert weights_digest(same) == weights_digest(net)
    with torch.no_grad():
        weight = next(same.parameters())
        weight[(0,) * weight.dim()] += 1e-6
    assert weights_digest(same) != weights_digest(net)


def test_the_probe_code_digest_covers_the_probe_and_what_it_calls():
    digests = probe_memo.module_digests(probe_memo.reachable_modules(probe_memo._PROBE_SOURCE))
    assert {"methods/reliance.py", "metrics.py", "data/canvas.py"} <= set(digests)
