"""How good an SAE is, and what an intervention did to the classifier's predictions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lazy_artist.sae.autoencoder import SparseAutoencoder, encode_all, reconstruct_all
from lazy_artist.sae.interventions import LayerSae


def fraction_variance_explained(x: np.ndarray, x_hat: np.ndarray) -> float:
    """1 - sum of squared errors / total sum of squares about each dimension's mean."""
    x, x_hat = np.asarray(x, np.float64), np.asarray(x_hat, np.float64)
    if x.shape != x_hat.shape:
        raise ValueError(f"shapes differ: {x.shape} vs {x_hat.shape}")
    total = ((x - x.mean(axis=0)) ** 2).sum()
    if total == 0:
        raise ValueError("the vectors do not vary: fraction of variance explained is undefined")
    return float(1.0 - ((x - x_hat) ** 2).sum() / total)


def l0(codes: np.ndarray) -> float:
    """Mean number of active (non-zero) features per row."""
    return float((np.asarray(codes) > 0).sum(axis=1).mean())


def dead_mask(codes: np.ndarray) -> np.ndarray:
    """Features that are zero on every row."""
    return ~(np.asarray(codes) > 0).any(axis=0)


def dead_fraction(codes: np.ndarray) -> float:
    return float(dead_mask(codes).mean())


@dataclass
class SaeQuality:
    fve: float
    l0: float
    dead_fraction: float
    dead: np.ndarray  # (K,) bool


def sae_quality(sae: SparseAutoencoder, vectors: np.ndarray) -> SaeQuality:
    """FVE, L0 and dead fraction on held-out standardised ``vectors``."""
    codes = encode_all(sae, vectors)
    dead = dead_mask(codes)
    return SaeQuality(
        fraction_variance_explained(vectors, reconstruct_all(sae, vectors)),
        l0(codes),
        float(dead.mean()),
        dead,
    )


def spliced_accuracy(bound: LayerSae, images: np.ndarray, labels: np.ndarray) -> float:
    """The classifier's accuracy when the SAE reconstruction replaces the layer's activation."""
    logits = bound.logits(images, bound.reconstruction_edit())
    return float((logits.argmax(axis=1) == np.asarray(labels)).mean())


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


@dataclass
class InterventionEffect:
    flip_rate: float  # share of images whose predicted class changed
    confidence_change: float  # mean change of the probability of the original prediction
    accuracy_before: float
    accuracy_after: float
    colour_following_before: float  # share predicted as the digit their colour stands for
    colour_following_after: float
    colour_prob_before: float  # mean probability of the digit the image's colour stands for
    colour_prob_after: float

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def intervention_effect(
    before: np.ndarray, after: np.ndarray, labels: np.ndarray, colours: np.ndarray
) -> InterventionEffect:
    """Compare logits (N, classes) before and after an intervention on the same images."""
    pred_before, pred_after = before.argmax(axis=1), after.argmax(axis=1)
    rows = np.arange(len(before))
    prob_before, prob_after = softmax(before), softmax(after)
    confidence = prob_after[rows, pred_before] - prob_before[rows, pred_before]
    labels, colours = np.asarray(labels), np.asarray(colours)
    return InterventionEffect(
        flip_rate=float((pred_before != pred_after).mean()),
        confidence_change=float(confidence.mean()),
        accuracy_before=float((pred_before == labels).mean()),
        accuracy_after=float((pred_after == labels).mean()),
        colour_following_before=float((pred_before == colours).mean()),
        colour_following_after=float((pred_after == colours).mean()),
        colour_prob_before=float(prob_before[rows, colours].mean()),
        colour_prob_after=float(prob_after[rows, colours].mean()),
    )
