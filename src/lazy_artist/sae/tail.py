"""Run a classifier from one of its sites onward, so that many edits of one activation cost
one pass through the layers before the site.

T6 measures a dozen interventions per SAE (the colour ablation, the amplification, random
ablations) on the same hard images. Through a forward hook each of them re-runs the whole
network; but the layers before the site compute the same activation every time. Here the
network is split at the site: :meth:`SiteSplit.head` runs it up to the site and stops,
:meth:`SiteSplit.tail` runs the rest from a (possibly edited) activation. The tail is the
network's own traced graph (``torch.fx``) from the site onward, calling the very same modules,
so ``tail(head(x))`` performs the same operations as ``model(x)`` and gives bit-identical
logits (tested). A model whose graph cannot be traced, or whose output depends on something
before the site other than through it (a skip connection around the site), gets no tail: the
caller falls back to full forward passes with a hook.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import fx, nn

from lazy_artist.sae.activations import VECTOR, Site


class _Stop(Exception):
    """Raised by the head's hook once the site's activation is in hand."""


def _tail_graph(model: nn.Module, site: Site) -> fx.GraphModule | None:
    try:
        traced = fx.symbolic_trace(model)
    except Exception:  # noqa: BLE001 - any tracing failure means: no tail, use hooks
        return None
    nodes = list(traced.graph.nodes)
    calls = [n for n in nodes if n.op == "call_module" and n.target == site.module]
    if len(calls) != 1:  # a module called twice has no single site
        return None
    start = calls[0]
    if site.kind == VECTOR:  # the site is the input of the head module, not its output
        if not calls[0].args or not isinstance(calls[0].args[0], fx.Node):
            return None
        start = calls[0].args[0]
    graph = fx.Graph()
    env: dict[fx.Node, fx.Node] = {start: graph.placeholder("activation")}
    for node in nodes[nodes.index(start) + 1 :]:
        for needed in node.all_input_nodes:
            if needed not in env and needed.op == "get_attr":  # a parameter or buffer
                env[needed] = graph.node_copy(needed, lambda n: env[n])
        if all(needed in env for needed in node.all_input_nodes):
            env[node] = graph.node_copy(node, lambda n: env[n])
    output = nodes[-1]
    if output.op != "output" or output not in env:
        return None
    graph.lint()
    return fx.GraphModule(traced, graph)


@dataclass
class SiteSplit:
    """A model split at ``site``: ``head(x)`` is the site's activation, ``tail(a)`` the logits
    computed from activation ``a`` (None when the model cannot be split)."""

    model: nn.Module
    site: Site
    tail_module: fx.GraphModule | None

    @classmethod
    def of(cls, model: nn.Module, site: Site) -> SiteSplit:
        return cls(model, site, _tail_graph(model, site))

    @property
    def available(self) -> bool:
        return self.tail_module is not None

    def head(self, images: torch.Tensor) -> torch.Tensor:
        """The site's activation for ``images`` (the model stops right after the site)."""
        module = dict(self.model.named_modules())[self.site.module]
        found: list[torch.Tensor] = []

        def keep(activation: torch.Tensor) -> None:
            found.append(activation)
            raise _Stop

        if self.site.kind == VECTOR:
            handle = module.register_forward_pre_hook(lambda _m, inputs: keep(inputs[0]))
        else:
            handle = module.register_forward_hook(lambda _m, _i, output: keep(output))
        try:
            self.model(images)
        except _Stop:
            pass
        finally:
            handle.remove()
        if not found:
            raise RuntimeError(f"the forward pass never reached site {self.site.name!r}")
        return found[0]

    def tail(self, activation: torch.Tensor) -> torch.Tensor:
        if self.tail_module is None:
            raise RuntimeError(f"{type(self.model).__name__} cannot be split at {self.site.name!r}")
        return self.tail_module(activation)
