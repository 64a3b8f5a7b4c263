"""T5's adversarial examples as an artefact, so later tasks (T3's Grad-CAM / IG of an original and
its adversarial) can load them: one .npz, no pickles, a JSON header saying what is inside.

Per model: the clean inputs in that model's own input space (colour or gray), the adversarial
found at each sample's minimum epsilon, that epsilon (inf where no budget broke the sample,
whose "adversarial" is then the clean input), whether the attack succeeded and P(target).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ARTEFACT_NAME = "adversarial_examples.npz"
_PER_MODEL = ("clean", "adversarial", "epsilon", "success", "p_target")


@dataclass
class ModelExamples:
    input_kind: str  # "colour" or "gray"
    clean: np.ndarray  # float32 (N, C, 28, 28) in [0, 1]
    adversarial: np.ndarray  # float32 (N, C, 28, 28) in [0, 1]
    epsilon: np.ndarray  # float64 (N,) minimum epsilon (inf: not broken)
    success: np.ndarray  # bool (N,)
    p_target: np.ndarray  # float64 (N,) P(target) at the adversarial


@dataclass
class AdversarialExamples:
    split: str  # canvas split the samples come from
    sample_index: np.ndarray  # int64 (N,) positions in that split
    labels: np.ndarray  # int64 (N,)
    source_class: int
    target_class: int
    target_confidence: float
    models: dict[str, ModelExamples] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def save_adversarial_examples(examples: AdversarialExamples, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {
        "split": examples.split,
        "source_class": examples.source_class,
        "target_class": examples.target_class,
        "target_confidence": examples.target_confidence,
        "models": {name: m.input_kind for name, m in examples.models.items()},
        "meta": examples.meta,
    }
    payload: dict[str, np.ndarray] = {
        "header": np.array(json.dumps(header, sort_keys=True)),
        "sample_index": np.asarray(examples.sample_index, dtype=np.int64),
        "labels": np.asarray(examples.labels, dtype=np.int64),
    }
    for name, model in examples.models.items():
        for key in _PER_MODEL:
            payload[f"{name}/{key}"] = np.asarray(getattr(model, key))
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez_compressed(tmp, **payload)
    tmp.replace(path)
    return path


def load_adversarial_examples(path: str | Path) -> AdversarialExamples:
    with np.load(Path(path), allow_pickle=False) as data:
        header = json.loads(str(data["header"]))
        models = {
            name: ModelExamples(kind, *(data[f"{name}/{key}"] for key in _PER_MODEL))
            for name, kind in header["models"].items()
        }
        return AdversarialExamples(
            split=header["split"],
            sample_index=data["sample_index"],
            labels=data["labels"],
            source_class=int(header["source_class"]),
            target_class=int(header["target_class"]),
            target_confidence=float(header["target_confidence"]),
            models=models,
            meta=header["meta"],
        )
