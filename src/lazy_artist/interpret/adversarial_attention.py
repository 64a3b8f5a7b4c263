"""T3's adversarial comparison: one original image and its targeted PGD version, per model,
with Grad-CAM and Integrated Gradients of the predicted class on both.

The attack is T5's (:func:`lazy_artist.attacks.pgd.pgd`: random start, early stop at the
target confidence, best iterate kept), seeded, made on each model itself. The source image is
one every shown model reads correctly, so a change of attention is the attack's doing and not
a misreading to begin with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from lazy_artist.attacks.pgd import PGDConfig, pgd
from lazy_artist.interpret.gradcam import GradCam, grad_cam
from lazy_artist.interpret.integrated_gradients import IntegratedGradients, integrated_gradients
from lazy_artist.interpret.plots import Cell

if TYPE_CHECKING:
    from lazy_artist.data.canvas import CanvasSplit
    from lazy_artist.zoo import StudyModel

TARGET_CONFIDENCE = 0.9  # T5's success criterion for a targeted attack
COLUMN_TITLES = ["original", "adversarial", "Grad-CAM", "Grad-CAM (adv.)", "IG", "IG (adv.)"]


@dataclass(frozen=True)
class AttackSettings:
    source: int  # the digit attacked ...
    target: int  # ... and the class it is pushed towards
    epsilon: float  # L-infinity budget
    steps: int
    seed: int = 0
    ig_steps: int = 64
    ig_baseline: str = "zero"

    def record(self) -> dict[str, Any]:
        return {
            "method": "pgd",
            "epsilon": self.epsilon,
            "steps": self.steps,
            "source": self.source,
            "target": self.target,
            "target_confidence": TARGET_CONFIDENCE,
        }


def targeted_attack(
    network: torch.nn.Module, images: torch.Tensor, settings: AttackSettings
) -> torch.Tensor:
    """The one place the attack is chosen: T5's targeted PGD towards ``settings.target``,
    seeded; returns the adversarial images on the CPU."""
    device = next(network.parameters()).device
    labels = torch.full((len(images),), settings.source, dtype=torch.long, device=device)
    result = pgd(
        network,
        torch.as_tensor(images).float().to(device),
        labels,
        settings.epsilon,
        PGDConfig(steps=settings.steps, target_confidence=TARGET_CONFIDENCE),
        target=settings.target,
        generator=torch.Generator().manual_seed(settings.seed),
    )
    return result.adversarial.cpu()


@dataclass(frozen=True)
class SourceChoice:
    index: int | None  # the image attacked (None: the split has no image of the source digit)
    n_candidates: int  # images of the source digit every model reads correctly
    n_sources: int  # images of the source digit

    @property
    def found(self) -> bool:
        return self.n_candidates > 0


def choose_source(
    predictions: Mapping[str, np.ndarray], labels: np.ndarray, source: int
) -> SourceChoice:
    """The first image of digit ``source`` that every model (``predictions[name]``, one
    prediction per image) reads correctly; failing that, the first image of the digit."""
    sources = np.flatnonzero(np.asarray(labels) == source)
    correct = np.all([np.asarray(p)[sources] == source for p in predictions.values()], axis=0)
    candidates = sources[correct] if len(predictions) else sources
    if len(candidates):
        return SourceChoice(int(candidates[0]), len(candidates), len(sources))
    return SourceChoice(int(sources[0]) if len(sources) else None, 0, len(sources))


@dataclass
class AdversarialView:
    """One model on the original and the adversarial image."""

    original: torch.Tensor  # (1, C, H, W): what the model reads
    adversarial: torch.Tensor
    cams: tuple[GradCam, GradCam]
    igs: tuple[IntegratedGradients, IntegratedGradients]
    target: int

    def record(self) -> dict[str, Any]:
        before, after = (cam.maps[0].ravel() for cam in self.cams)
        with np.errstate(invalid="ignore", divide="ignore"):
            correlation = (
                float(np.corrcoef(before, after)[0, 1])
                if before.std() > 0 and after.std() > 0
                else float("nan")
            )
        return {
            "prediction_before": int(self.cams[0].probabilities[0].argmax()),
            "prediction_after": int(self.cams[1].probabilities[0].argmax()),
            "p_target_before": float(self.cams[0].probabilities[0, self.target]),
            "p_target_after": float(self.cams[1].probabilities[0, self.target]),
            "gradcam_correlation": correlation,
            "linf_distance": float((self.adversarial - self.original).abs().max()),
        }

    def cells(self) -> list[Cell]:
        """The figure row: both images with prediction and P(target), then both Grad-CAM
        maps, then both IG maps."""
        pictures = (self.original, self.adversarial)
        row = []
        for label, picture, cam in zip(
            ("original", "adversarial"), pictures, self.cams, strict=True
        ):
            pred = int(cam.probabilities[0].argmax())
            p_target = cam.probabilities[0, self.target]
            row.append(
                Cell(
                    picture[0].numpy(),
                    caption=f"{label}: pred {pred}\nP({self.target}) {p_target:.0%}",
                )
            )
        row += [
            Cell(p[0].numpy(), c.maps[0], f"class {c.targets[0]}")
            for p, c in zip(pictures, self.cams, strict=True)
        ]
        row += [
            Cell(p[0].numpy(), ig.maps()[0], f"class {ig.targets[0]}")
            for p, ig in zip(pictures, self.igs, strict=True)
        ]
        return row


def adversarial_view(
    network: torch.nn.Module, image: torch.Tensor | np.ndarray, settings: AttackSettings
) -> AdversarialView:
    """Attack ``image`` (1, C, H, W, in the form the model reads) on ``network`` and explain
    the predicted class before and after."""
    original = torch.as_tensor(image).float()
    if original.ndim != 4 or len(original) != 1:
        raise ValueError(f"one image (1, C, H, W) expected, got shape {tuple(original.shape)}")
    adversarial = targeted_attack(network, original, settings)
    pictures = (original, adversarial)
    cams = tuple(grad_cam(network, p) for p in pictures)
    igs = tuple(
        integrated_gradients(network, p, baseline=settings.ig_baseline, steps=settings.ig_steps)
        for p in pictures
    )
    return AdversarialView(original, adversarial, cams, igs, settings.target)


def adversarial_views(
    models: Sequence[StudyModel], split: CanvasSplit, index: int, settings: AttackSettings
) -> list[AdversarialView]:
    """:func:`adversarial_view` of image ``index`` of ``split`` for each study model, in the
    form that model reads."""
    return [
        adversarial_view(m.network, m.inputs(split)[index : index + 1], settings) for m in models
    ]
