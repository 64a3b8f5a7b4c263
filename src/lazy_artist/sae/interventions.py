"""Edit SAE features and splice the result into the classifier at the SAE's layer.

An intervention changes the feature activations z -> z' of every SAE input row. The edited
activation is decoded *with the reconstruction error added back*:

    x' = decode(z') + (x - decode(z)) = x + (z' - z) W_dec^T

so only the change the edit makes reaches the network: a no-op (scale 1, or ablating a feature
that is already 0) leaves the activation, and therefore the logits, exactly as they were. The
change is made in standardised units and scaled back to activation units before it is added.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

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
    spliced,
)
from lazy_artist.sae.autoencoder import SparseAutoencoder


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
    local = Intervention(intervention.kind, tuple(range(len(features))), intervention.value)
    return (local.apply(z) - z) @ sae.W_dec[:, features].T


@dataclass
class LayerSae:
    """An SAE bound to the layer and aggregation it was trained on, inside a given model."""

    model: nn.Module
    config: Config
    sae: SparseAutoencoder
    standardiser: Standardiser

    @property
    def site(self) -> Site:
        return get_site(self.model, self.config.layer)

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
        for start in range(0, len(images), batch_size):
            batch = torch.as_tensor(images[start : start + batch_size]).float().to(device)
            if edit is None:
                parts.append(self.model(batch).cpu())
            else:
                with spliced(self.model, site, edit):
                    parts.append(self.model(batch).cpu())
        return torch.cat(parts).numpy()

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
            for start in range(0, len(images), batch_size):
                self.model(torch.as_tensor(images[start : start + batch_size]).float().to(device))
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
