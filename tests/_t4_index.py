"""Untrained runs in a T4 model index: the upstream that T3, T5, T6 and the zoo's tests load
models from, without training anything."""

from __future__ import annotations

from torch import nn

from lazy_artist.methods.algorithms import build_algorithm
from lazy_artist.methods.artefacts import MethodIndex
from lazy_artist.methods.trainer import MethodResult


def stub_result(method: str) -> MethodResult:
    """A run's result with both rules' selections and nothing measured."""
    selections = {
        rule: {"epoch": 1, "score": 0.5, "selected": {"val": 0.5}}
        for rule in ("easy_val", "conflict_val")
    }
    return MethodResult(method, {}, [], 1, "val", 0.5, {}, 0.0, 0.0, 0, 0, selections=selections)


def add_untrained_run(
    index: MethodIndex,
    method: str,
    backbone: str,
    seed: int,
    default_rule: str,
    distinct_rules: bool = False,
) -> dict[str, nn.Module]:
    """Add ``method``'s untrained width-4 network at ``seed`` to ``index``; with
    ``distinct_rules`` its conflict_val checkpoint is another network (seed + 10), so which
    rule is loaded visibly matters. Returns each rule's network."""
    kwargs = {"backbone": backbone, "backbone_kwargs": {"width": 4}}
    algorithm = build_algorithm(method, None, seed=seed, **kwargs)
    networks = {"easy_val": algorithm.network, "conflict_val": algorithm.network}
    if distinct_rules:
        networks["conflict_val"] = build_algorithm(method, None, seed=seed + 10, **kwargs).network
        algorithm.rule_states = {rule: net.state_dict() for rule, net in networks.items()}
    index.add(method, seed, algorithm, stub_result(method), default_rule=default_rule)
    return networks
