"""Colour vs digit selectivity of a unit (a channel, an SAE feature): how much of the variance
of its activation over a dataset is explained by the image's colour, and how much by its digit.

selectivity(factor) = between-class variance / total variance of the unit's (mean) activation,
with classes = the factor's values (the correlation ratio eta^2, in [0, 1]). A unit that is a
function of colour alone scores 1 for colour; one that ignores colour scores ~0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Units whose activation barely varies over the data have no meaningful selectivity.
MIN_TOTAL_VARIANCE = 1e-12


def between_class_share(activations: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """eta^2 per unit: activations (N, U), classes (N,) integer labels -> (U,) in [0, 1].

    Units with (near) zero total variance get 0."""
    acts = np.asarray(activations, dtype=np.float64)
    if acts.ndim == 1:
        acts = acts[:, None]
    classes = np.asarray(classes)
    if acts.ndim != 2 or len(acts) != len(classes):
        raise ValueError(
            f"activations must be (N, units) with N = len(classes); got {acts.shape} "
            f"and {len(classes)} classes"
        )
    grand_mean = acts.mean(axis=0)
    total = ((acts - grand_mean) ** 2).sum(axis=0)
    between = np.zeros(acts.shape[1])
    for value in np.unique(classes):
        members = acts[classes == value]
        between += len(members) * (members.mean(axis=0) - grand_mean) ** 2
    share = np.divide(between, total, out=np.zeros_like(between), where=total > MIN_TOTAL_VARIANCE)
    return np.clip(share, 0.0, 1.0)


@dataclass
class Selectivity:
    colour: np.ndarray  # (U,) eta^2 of the image colour
    digit: np.ndarray  # (U,) eta^2 of the digit label

    @property
    def colour_dominated(self) -> np.ndarray:
        """Units whose colour selectivity exceeds their digit selectivity."""
        return self.colour > self.digit

    def colour_dominated_share(self) -> float:
        return float(self.colour_dominated.mean()) if len(self.colour) else float("nan")


def colour_digit_selectivity(
    activations: np.ndarray, colours: np.ndarray, digits: np.ndarray
) -> Selectivity:
    """Both scores for every unit. Use data where colour and digit are independent (the hard or
    conflict split, or a recoloured set), or the two scores share the easy set's correlation."""
    return Selectivity(
        colour=between_class_share(activations, colours),
        digit=between_class_share(activations, digits),
    )
