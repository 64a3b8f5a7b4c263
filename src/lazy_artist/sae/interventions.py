"""Edit SAE features and splice the result into the classifier at the SAE's layer.

An intervention changes the feature activations z -> z' of every SAE input row. The edited
activation is decoded *with the reconstruction error added back*:

    x' = decode(z') + (x - decode(z)) = x + (z' - z) W_dec^T

so only the change the edit makes reaches the network: a no-op (scale 1, or ablating a feature
that is already 0) leaves the activation, and therefore the logits, exactly as they were. The
change is made in standardised units and scaled back to activation units before it is added.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from lazy_artist.sae.activations import (
    AGGREGATIONS,
    Config,
    Site,
    Standardiser,
    get_site,
    image_batches,
    spliced,
)
from lazy_artist.sae.autoencoder import SparseAutoencoder
from lazy_artist.sae.tail import SiteSplit


def _ablate(z: torch.Tensor, features: list[int], value: float) -> None:
    z[:, features] = 0.0


def _scale(z: torch.Tensor, features: list[int], value: float) -> None:
    z[:, features] *= value


def _add(z: torch.Tensor, features: list[int], value: float) -> None:
    z[:, features] += value


# kind -> in-place edit of the selected feature columns of z
INTERVENTIONS: dict[str, Callable[[torch.Tensor, list[int], float], None]] = {
    "ablate": _ablate,
    "scale": _scale,
    "add": _add,
}
# kind -> z' - z in closed form, for a z holding only the edited columns (no copy, no indexed
# write: on a per-position SAE z has a row per position, and these run a dozen times a batch).
CHANGES: dict[str, Callable[[torch.Tensor, float], torch.Tensor]] = {
    "ablate": lambda z, value: -z,
    "scale": lambda z, value: z * (value - 1.0),
    "add": lambda z, value: torch.full_like(z, value),
}


@dataclass(frozen=True)
class Intervention:
    kind: str  # a key of INTERVENTIONS
    features: tuple[int, ...]
    value: float = 0.0  # the factor for "scale", the amount for "add"; unused by "ablate"

    def __post_init__(self) -> None:
        if self.kind not in INTERVENTIONS:
            raise ValueError(
                f"unknown intervention {self.kind!r}: choose from {', '.join(INTERVENTIONS)}"
            )

    def apply(self, z: torch.Tensor) -> torch.Tensor:
        """A copy of ``z`` (rows, K) with the selected features edited."""
        edited = z.clone()
        if self.features:
            INTERVENTIONS[self.kind](edited, list(self.features), self.value)
        return edited

    def describe(self) -> str:
        what = {"ablate": "set to 0", "scale": f"x{self.value:g}", "add": f"{self.value:+g}"}
        return f"{len(self.features)} feature(s) {what[self.kind]}"


def intervention_delta(
    sae: SparseAutoencoder, x: torch.Tensor, intervention: Intervention
) -> torch.Tensor:
    """decode(z') - decode(z) for standardised rows ``x``: the change that reaches the network.

    Computed as (z'_S - z_S) W_dec[:, S]^T over the edited features S only (the others cancel,
    and so does the bias), so unedited rows get exactly zero and a per-position SAE does not
    encode every feature at every position for a handful of edited ones."""
    features = list(intervention.features)
    if not features:
        return torch.zeros_like(x)
    z = F.relu(x @ sae.W_enc[features].T + sae.b_enc[features])
    if intervention.kind in CHANGES:
        change = CHANGES[intervention.kind](z, intervention.value)
    else:  # a registered kind without a closed form
        local = Intervention(intervention.kind, tuple(range(len(features))), intervention.value)
        change = local.apply(z) - z
    return change @ sae.W_dec[:, features].T


@dataclass
class LayerSae:
    """An SAE bound to the layer and aggregation it was trained on, inside a given model."""

    model: nn.Module
    config: Config
    sae: SparseAutoencoder
    standardiser: Standardiser
    _split: SiteSplit | None = field(default=None, init=False, repr=False)

    @property
    def site(self) -> Site:
        return get_site(self.model, self.config.layer)

    @property
    def split(self) -> SiteSplit:
        if self._split is None:
            self._split = SiteSplit.of(self.model, self.site)
        return self._split

    def __getstate__(self) -> dict:
        # The traced tail is rebuilt on demand: an analysis returned by a worker process
        # carries its network and SAE, not generated code.
        return {**self.__dict__, "_split": None}

    @property
    def aggregation(self):
        return AGGREGATIONS[self.config.aggregation]

    def _edit(self, delta_std: Callable[[torch.Tensor], torch.Tensor]):
        aggregation, standardiser = self.aggregation, self.standardiser

        def edit(activation: torch.Tensor) -> torch.Tensor:
            x = standardiser.transform(aggregation.vectors(activation))
            return aggregation.apply_delta(activation, standardiser.delta_to_raw(delta_std(x)))

        return edit

    def intervention_edit(self, intervention: Intervention):
        """Site edit applying ``intervention`` with the reconstruction error added back."""
        return self._edit(lambda x: intervention_delta(self.sae, x, intervention))

    def reconstruction_edit(self):
        """Site edit replacing the activation's rows by their SAE reconstruction (no error)."""
        return self._edit(lambda x: self.sae(x)[0] - x)

    @torch.no_grad()
    def logits(
        self,
        images: np.ndarray | torch.Tensor,
        edit: Callable[[torch.Tensor], torch.Tensor] | None = None,
        batch_size: int = 512,
    ) -> np.ndarray:
        """The model's logits (N, classes), with ``edit`` spliced in at the layer if given."""
        device = next(self.model.parameters()).device
        self.model.eval()
        parts = []
        site = self.site
        for batch in image_batches(images, batch_size, device):
            if edit is None:
                parts.append(self.model(batch).cpu())
            else:
                with spliced(self.model, site, edit):
                    parts.append(self.model(batch).cpu())
        return torch.cat(parts).numpy()

    @torch.no_grad()
    def logits_under(
        self,
        images: np.ndarray | torch.Tensor,
        edits: Mapping[str, Callable[[torch.Tensor], torch.Tensor] | None],
        batch_size: int = 512,
    ) -> dict[str, np.ndarray]:
        """The model's logits under each edit (None: as it is), as :meth:`logits` would give
        them, but running the layers before the site once per batch for all the edits when the
        model can be split at the site (:mod:`lazy_artist.sae.tail`)."""
        split = self.split
        if not split.available:
            return {name: self.logits(images, edit, batch_size) for name, edit in edits.items()}
        device = next(self.model.parameters()).device
        self.model.eval()
        parts: dict[str, list[torch.Tensor]] = {name: [] for name in edits}
        for batch in image_batches(images, batch_size, device):
            activation = split.head(batch)
            for name, edit in edits.items():
                # A clone per edit: an edit that worked in place must not reach the next one.
                edited = activation if edit is None else edit(activation.clone())
                parts[name].append(split.tail(edited).cpu())
        return {name: torch.cat(chunks).numpy() for name, chunks in parts.items()}

    @torch.no_grad()
    def intervention_logits(
        self,
        images: np.ndarray | torch.Tensor,
        interventions: Mapping[str, Intervention | None],
        batch_size: int = 512,
    ) -> dict[str, np.ndarray]:
        """The logits under each intervention (None: as it is), equal to :meth:`logits` with
        :meth:`intervention_edit`, but per batch the layers before the site run once and the
        activation's standardised vectors are computed once for all the interventions."""
        split = self.split
        if not split.available:
            return {
                name: self.logits(
                    images, None if iv is None else self.intervention_edit(iv), batch_size
                )
                for name, iv in interventions.items()
            }
        device = next(self.model.parameters()).device
        self.model.eval()
        aggregation, standardiser = self.aggregation, self.standardiser
        parts: dict[str, list[torch.Tensor]] = {name: [] for name in interventions}
        for batch in image_batches(images, batch_size, device):
            activation = split.head(batch)
            x = standardiser.transform(aggregation.vectors(activation))
            for name, intervention in interventions.items():
                edited = activation
                if intervention is not None:
                    delta = standardiser.delta_to_raw(intervention_delta(self.sae, x, intervention))
                    edited = aggregation.apply_delta(activation, delta)
                parts[name].append(split.tail(edited).cpu())
        return {name: torch.cat(chunks).numpy() for name, chunks in parts.items()}

    @torch.no_grad()
    def image_codes(self, images: np.ndarray | torch.Tensor, batch_size: int = 256) -> np.ndarray:
        """Each image's feature activations (N, K); per-position SAEs average over positions."""
        device = next(self.model.parameters()).device
        self.model.eval()
        aggregation, parts = self.aggregation, []

        def read(activation: torch.Tensor) -> None:
            z = self.sae.encode(self.standardiser.transform(aggregation.vectors(activation)))
            per_image = aggregation.rows_per_image(activation)
            parts.append(z.reshape(len(activation), per_image, -1).mean(dim=1).cpu())

        with spliced(self.model, self.site, read):
            for batch in image_batches(images, batch_size, device):
                self.model(batch)
        return torch.cat(parts).numpy()


def top_activating(codes: np.ndarray, feature: int, n: int) -> np.ndarray:
    """Indices of the ``n`` images on which ``feature`` is largest (largest first)."""
    return np.argsort(-codes[:, feature], kind="stable")[:n]


def random_feature_sets(
    candidates: Sequence[int], size: int, draws: int, seed: int
) -> list[tuple[int, ...]]:
    """``draws`` random sets of ``size`` distinct features from ``candidates`` (seeded)."""
    rng = np.random.default_rng(seed)
    candidates = np.asarray(list(candidates))
    size = min(size, len(candidates))
    return [
        tuple(int(i) for i in rng.choice(candidates, size, replace=False)) for _ in range(draws)
    ]
