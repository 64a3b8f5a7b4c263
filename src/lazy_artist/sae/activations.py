"""Activations at named layers of any study model, turned into the vectors an SAE reads.

A *site* is a place in the network: every ``nn.Conv2d`` found in ``named_modules()`` (its
block output: the ReLU module registered right after it, or the conv itself when there is
none) and ``features``, the penultimate vector the model's last linear layer reads (the
output of its ``features()`` method). No architecture is listed here: the cheater (conv1..conv3)
and the T4 backbone (conv1..conv4, fc1) are discovered alike.

An *aggregation* turns a site's activation into rows of vectors and back:

- ``spatial_mean``: a conv map (N, C, H, W) -> its mean over space (N, C);
- ``per_position``: a conv map -> one C-vector per spatial position (N*H*W, C);
- ``vector``: the penultimate (N, D) as it is.

Each also maps a change of those vectors back onto the activation (``apply_delta``), which is
how an edited SAE reconstruction is spliced into the classifier (:func:`spliced`). Vectors are
standardised per dimension with statistics fitted on training-split activations only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lazy_artist.precision import channels_last

FEATURES = "features"  # the penultimate site: the input of the model's last linear layer
LAST_CONV = "last_conv"  # alias: the deepest conv site of whichever model is analysed
CONV, VECTOR = "conv", "vector"


@dataclass(frozen=True)
class Site:
    name: str  # what configurations call it: the conv's module name, or "features"
    module: str  # the module whose output (or, for "features", input) is read and edited
    kind: str  # CONV: (N, C, H, W) maps; VECTOR: (N, D)


def discover_sites(model: nn.Module) -> dict[str, Site]:
    """Every conv site (shallow to deep), then ``features`` (when the model ends in an
    ``nn.Linear`` head): name -> :class:`Site`."""
    modules = list(model.named_modules())
    sites: dict[str, Site] = {}
    for position, (name, module) in enumerate(modules):
        if not isinstance(module, nn.Conv2d):
            continue
        # The block output is the activation after the non-linearity, when it is a module
        # registered straight after the conv (relu1 after conv1); otherwise the conv output.
        following = modules[position + 1] if position + 1 < len(modules) else None
        hooked = following[0] if following and isinstance(following[1], nn.ReLU) else name
        sites[name] = Site(name, hooked, CONV)
    linears = [name for name, module in modules if isinstance(module, nn.Linear)]
    if linears:
        sites[FEATURES] = Site(FEATURES, linears[-1], VECTOR)
    return sites


def get_site(model: nn.Module, name: str) -> Site:
    sites = discover_sites(model)
    if name == LAST_CONV:
        convs = [site for site in sites.values() if site.kind == CONV]
        if not convs:
            raise KeyError(f"{type(model).__name__} has no conv layer for {LAST_CONV!r}")
        return convs[-1]
    if name not in sites:
        raise KeyError(
            f"{type(model).__name__} has no layer {name!r}; its layers are {', '.join(sites)}"
        )
    return sites[name]


class Aggregation:
    """How a site's activation becomes SAE input rows, and how a change of rows goes back."""

    name: str
    applies_to: str  # CONV or VECTOR

    def vectors(self, activation: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def rows_per_image(self, activation: torch.Tensor) -> int:
        return 1

    def apply_delta(self, activation: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
        """The activation whose vectors are ``vectors(activation) + delta``."""
        raise NotImplementedError


class SpatialMean(Aggregation):
    name, applies_to = "spatial_mean", CONV

    def vectors(self, activation: torch.Tensor) -> torch.Tensor:
        return activation.mean(dim=(2, 3))

    def apply_delta(self, activation: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
        # Shifting every position of a channel by d shifts its spatial mean by exactly d.
        return activation + delta[:, :, None, None]


class PerPosition(Aggregation):
    name, applies_to = "per_position", CONV

    def vectors(self, activation: torch.Tensor) -> torch.Tensor:
        n, c, h, w = activation.shape
        return activation.permute(0, 2, 3, 1).reshape(n * h * w, c)  # image-major rows

    def rows_per_image(self, activation: torch.Tensor) -> int:
        return activation.shape[2] * activation.shape[3]

    def apply_delta(self, activation: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
        n, c, h, w = activation.shape
        return activation + delta.reshape(n, h, w, c).permute(0, 3, 1, 2)


class Vector(Aggregation):
    name, applies_to = "vector", VECTOR

    def vectors(self, activation: torch.Tensor) -> torch.Tensor:
        return activation

    def apply_delta(self, activation: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
        return activation + delta


AGGREGATIONS: dict[str, Aggregation] = {
    agg.name: agg for agg in (SpatialMean(), PerPosition(), Vector())
}


@dataclass(frozen=True)
class Config:
    """One SAE configuration: a layer and an aggregation, written ``"layer:aggregation"``."""

    layer: str
    aggregation: str

    @property
    def label(self) -> str:
        return f"{self.layer}:{self.aggregation}"

    def for_model(self, model: nn.Module) -> Config:
        """The alias ``last_conv`` replaced by the model's deepest conv layer."""
        return Config(get_site(model, self.layer).name, self.aggregation)

    @classmethod
    def parse(cls, text: str) -> Config:
        layer, sep, aggregation = str(text).strip().partition(":")
        if not sep or not layer or aggregation not in AGGREGATIONS:
            raise ValueError(
                f"configuration {text!r} must be 'layer:aggregation' with aggregation one of "
                f"{', '.join(AGGREGATIONS)} (e.g. 'conv2:spatial_mean', 'features:vector')"
            )
        kind = VECTOR if layer == FEATURES else CONV
        if AGGREGATIONS[aggregation].applies_to != kind:
            allowed = [name for name, agg in AGGREGATIONS.items() if agg.applies_to == kind]
            raise ValueError(
                f"configuration {text!r}: a {kind} layer takes aggregation "
                f"{' or '.join(allowed)}, not {aggregation!r}"
            )
        return cls(layer, aggregation)


ALL = "all"


def all_configs(model: nn.Module) -> list[Config]:
    """Every conv site with every conv aggregation, then the penultimate vector."""
    configs = []
    for site in discover_sites(model).values():
        for name, agg in AGGREGATIONS.items():
            if agg.applies_to == site.kind:
                configs.append(Config(site.name, name))
    return configs


def resolve_configs(spec: str | Sequence[str], model: nn.Module) -> list[Config]:
    """``"all"`` or a list of ``"layer:aggregation"`` -> the configs this model has (a listed
    layer the model lacks is left out: the two study backbones differ in depth)."""
    if isinstance(spec, str):
        if spec == ALL:
            return all_configs(model)
        spec = [part for part in spec.split(",") if part.strip()]
    sites = discover_sites(model)
    configs = [Config.parse(text) for text in spec]
    resolved = [
        config.for_model(model) for config in configs if config.layer in (*sites, LAST_CONV)
    ]
    return list(dict.fromkeys(resolved))  # an alias may repeat a listed layer


@dataclass
class Standardiser:
    """Per-dimension (x - mean) / scale, fitted once on training activations."""

    mean: np.ndarray
    scale: np.ndarray

    # A (nearly) constant dimension, such as a channel that almost never fires, keeps a scale of
    # at least this share of the mean scale: blown up to unit variance, its rare activations
    # would be huge outliers that dominate the SAE's loss and its variance explained.
    MIN_RELATIVE_SCALE = 0.1

    @classmethod
    def fit(cls, vectors: np.ndarray) -> Standardiser:
        vectors = np.asarray(vectors, dtype=np.float64)
        if vectors.ndim != 2 or len(vectors) < 2:
            raise ValueError(f"need (N >= 2, D) training vectors, got shape {vectors.shape}")
        std = vectors.std(axis=0)
        floor = max(cls.MIN_RELATIVE_SCALE * float(std.mean()), 1e-8)
        scale = np.maximum(std, floor)
        return cls(vectors.mean(axis=0).astype(np.float32), scale.astype(np.float32))

    def transform(self, vectors: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        mean, scale = self._like(vectors)
        return (vectors - mean) / scale

    def inverse(self, vectors: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        mean, scale = self._like(vectors)
        return vectors * scale + mean

    def delta_to_raw(self, delta: torch.Tensor) -> torch.Tensor:
        """A change in standardised units -> the same change in activation units."""
        return delta * self._like(delta)[1]

    def _like(self, vectors):
        if torch.is_tensor(vectors):
            return (
                torch.as_tensor(self.mean, device=vectors.device),
                torch.as_tensor(self.scale, device=vectors.device),
            )
        return self.mean, self.scale


def _site_hook(
    model: nn.Module,
    site: Site,
    edit: Callable[[torch.Tensor], torch.Tensor | None],
):
    """Register ``edit`` on the site: it receives the activation and may return a replacement."""
    module = dict(model.named_modules())[site.module]
    if site.kind == VECTOR:

        def pre_hook(_module, inputs):
            replaced = edit(inputs[0])
            return None if replaced is None else (replaced, *inputs[1:])

        return module.register_forward_pre_hook(pre_hook)

    def hook(_module, _inputs, output):
        return edit(output)

    return module.register_forward_hook(hook)


@contextmanager
def spliced(
    model: nn.Module, site: Site, edit: Callable[[torch.Tensor], torch.Tensor | None]
) -> Iterator[None]:
    """While open, every forward pass passes the site's activation through ``edit``."""
    handle = _site_hook(model, site, edit)
    try:
        yield
    finally:
        handle.remove()


def image_batches(
    images: np.ndarray | torch.Tensor, batch_size: int, device: torch.device | str
) -> Iterator[torch.Tensor]:
    """Consecutive float batches of ``images`` on ``device``, channels-last: oneDNN's preferred
    convolution layout runs the study's CNNs about 1.6x faster on one CPU thread. Every T6
    pass over images goes through here, so the activations an SAE is fitted on, the ones it
    edits and the logits compared against each other all come from the same computation."""
    for start in range(0, len(images), batch_size):
        yield channels_last(torch.as_tensor(images[start : start + batch_size]).float().to(device))


@torch.no_grad()
def collect_vectors(
    model: nn.Module,
    images: np.ndarray | torch.Tensor,
    configs: Sequence[Config],
    positions_per_image: int | None = None,
    seed: int = 0,
    batch_size: int = 512,
) -> dict[Config, np.ndarray]:
    """SAE input rows for every config in one pass over ``images`` (float32, raw units).

    ``per_position`` keeps ``positions_per_image`` random positions of each image (all of them
    when None), drawn with ``seed``; the other aggregations give one row per image.
    """
    device = next(model.parameters()).device
    sites = discover_sites(model)
    missing = [config.label for config in configs if config.layer not in sites]
    if missing:
        raise KeyError(
            f"{type(model).__name__} has no layer for {', '.join(missing)}; "
            f"its layers are {', '.join(sites)}"
        )
    generator = torch.Generator().manual_seed(seed)
    chunks: dict[Config, list[np.ndarray]] = {config: [] for config in configs}
    current: dict[str, torch.Tensor] = {}

    def keep(name: str):
        def edit(activation: torch.Tensor) -> None:
            current[name] = activation

        return edit

    with ExitStack() as stack:
        for name in {config.layer for config in configs}:
            stack.enter_context(spliced(model, sites[name], keep(name)))
        for batch in image_batches(images, batch_size, device):
            model(batch)
            for config in configs:
                activation = current[config.layer]
                agg = AGGREGATIONS[config.aggregation]
                rows = agg.vectors(activation)
                per_image = agg.rows_per_image(activation)
                if positions_per_image is not None and per_image > positions_per_image:
                    picks = torch.stack(
                        [
                            torch.randperm(per_image, generator=generator)[:positions_per_image]
                            for _ in range(len(batch))
                        ]
                    )
                    offsets = torch.arange(len(batch))[:, None] * per_image
                    rows = rows[(picks + offsets).reshape(-1).to(rows.device)]
                chunks[config].append(rows.float().cpu().numpy())
    return {config: np.concatenate(parts) for config, parts in chunks.items()}
