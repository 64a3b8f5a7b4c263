"""T3's Integrated Gradients summaries: the completeness gap per model, output and baseline,
the worst of them (what the completeness check reads), and one image's map row.

The completeness gap |sum IG - (F(x) - F(b))| / |F(x) - F(b)| measures the quadrature error
of the path integral; it is only defined where the output moves along the path (a saturated
softmax barely does), so images whose output changes by less than ``min_change`` are left
out, and a (model, output, baseline) where none moves has no gap at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lazy_artist.interpret.gradcam import grad_cam
from lazy_artist.interpret.integrated_gradients import BASELINES, integrated_gradients
from lazy_artist.interpret.outputs import OUTPUTS
from lazy_artist.interpret.plots import Cell

if TYPE_CHECKING:
    from lazy_artist.data.canvas import CanvasSplit
    from lazy_artist.zoo import StudyModel

MIN_CHANGE = 0.01  # outputs that move less than this along the path have no relative gap


@dataclass(frozen=True)
class GapSummary:
    model: str  # the study model's name
    backbone: str
    method: str
    seed: int | None
    output: str
    baseline: str
    n: int  # images whose output moved by at least min_change
    median: float  # NaN when n == 0
    max: float
    mean_change: float

    def row(self) -> list[Any]:
        return [
            self.backbone,
            self.method,
            self.seed,
            self.output,
            self.baseline,
            self.n,
            self.median,
            self.max,
            self.mean_change,
        ]


ROW_COLUMNS = [
    "backbone",
    "model",
    "seed",
    "output",
    "baseline",
    "images",
    "median gap",
    "max gap",
    "mean |F(x) - F(b)|",
]


def completeness_gaps(
    models: Sequence[StudyModel],
    split: CanvasSplit,
    steps: int,
    min_change: float = MIN_CHANGE,
) -> list[GapSummary]:
    """IG of the predicted class of every model on ``split``'s images, for every output
    (logits, softmax) and baseline (zero, blur): the gap summary of each."""
    combos = [(m, output, baseline) for m in models for output in OUTPUTS for baseline in BASELINES]
    out = []
    for m, output, baseline in combos:
        ig = integrated_gradients(
            m.network, m.inputs(split), baseline=baseline, steps=steps, output=output
        )
        s = ig.gap_summary(min_change)
        out.append(
            GapSummary(
                m.name,
                m.backbone,
                m.method,
                m.seed,
                output,
                baseline,
                s["n"],
                s["median"],
                s["max"],
                s["mean_change"],
            )
        )
    return out


def gaps_by_model(gaps: Sequence[GapSummary]) -> dict[str, dict[str, dict[str, float]]]:
    """``[model][output][baseline]`` -> median gap (what results.json records)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for g in gaps:
        out.setdefault(g.model, {}).setdefault(g.output, {})[g.baseline] = g.median
    return out


@dataclass(frozen=True)
class Completeness:
    worst: GapSummary | None  # the largest median gap (None: no gap measurable anywhere)
    n_unmeasured: int  # (model, output, baseline) with no output change
    max_gap: float

    @property
    def passed(self) -> bool:
        return self.worst is not None and self.worst.median <= self.max_gap

    def detail(self, n_images: int, steps: int) -> str:
        if self.worst is None:
            return (
                f"no model's output moved by {MIN_CHANGE} along any IG path: completeness not "
                "measurable"
            )
        w = self.worst
        text = (
            f"largest median completeness gap {w.median:.4f} ({w.method} on {w.backbone} "
            f"#{w.seed}, {w.output}, {w.baseline} baseline) over {n_images} images at {steps} "
            f"steps; required <= {self.max_gap:g}"
        )
        if self.n_unmeasured:
            text += f"; {self.n_unmeasured} (model, output, baseline) with no output change"
        return text


def completeness(gaps: Sequence[GapSummary], max_gap: float) -> Completeness:
    """The worst measured median gap against ``max_gap``."""
    measured = [g for g in gaps if np.isfinite(g.median)]
    worst = max(measured, key=lambda g: g.median) if measured else None
    return Completeness(worst, len(gaps) - len(measured), max_gap)


MAP_TITLES = ["input", "Grad-CAM\nlogit", "Grad-CAM\nsoftmax"] + [
    f"IG {output}\n({baseline} baseline)" for baseline in BASELINES for output in OUTPUTS
]


def map_row(
    model: StudyModel,
    split: CanvasSplit,
    index: int,
    steps: int,
    caption: str,
    min_change: float = MIN_CHANGE,
) -> list[Cell]:
    """One figure row for image ``index``: the image, Grad-CAM on logits and softmax, then IG
    for every baseline and output (columns :data:`MAP_TITLES`), each IG map captioned with
    its completeness gap (or the output change where it is below ``min_change``)."""
    image = split.images[index]
    x = model.inputs(split)[index : index + 1]
    row = [Cell(image, caption=caption)]
    for output in OUTPUTS:
        cam = grad_cam(model.network, x, output=output)
        row.append(Cell(image, cam.maps[0], f"class {cam.targets[0]}"))
    for baseline, output in [(b, o) for b in BASELINES for o in OUTPUTS]:
        ig = integrated_gradients(model.network, x, baseline=baseline, steps=steps, output=output)
        gap = ig.relative_gap(min_change=min_change)[0]
        change = ig.input_score[0] - ig.baseline_score[0]
        text = f"gap {gap:.2%}" if np.isfinite(gap) else f"ΔF {change:.3f}"
        row.append(Cell(image, ig.maps()[0], text))
    return row
