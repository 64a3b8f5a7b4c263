"""The study's trained models, loaded by name for the tasks that inspect or attack them.

``cheater`` is T1's CNN; any other name is a T4 method (``best`` = T4's winner, chosen on
validation). Every model takes inputs in [0, 1] and returns logits; ``input_kind`` says whether
it reads the colour images or their grayscale version (the oracle).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lazy_artist.data.canvas import CanvasSplit
from lazy_artist.methods.artefacts import BEST, load_method, read_index
from lazy_artist.results import artefact
from lazy_artist.training import checkpoint_extra, load_checkpoint

CHEATER = "cheater"


@dataclass
class StudyModel:
    name: str  # what the report calls it: "cheater", "erm", "colour_aug", ...
    network: nn.Module  # eval mode, on the requested device
    input_kind: str  # "colour" or "gray"
    source: str  # "t1" or "t4"
    meta: dict[str, Any]

    def inputs(self, split: CanvasSplit) -> Any:
        """The split's images in the form this model reads (N, C, 28, 28) in [0, 1]."""
        return split.gray if self.input_kind == "gray" else split.images


def load_study_model(
    upstream: Mapping[str, str | Path],
    name: str,
    device: torch.device | str = "cpu",
    seed: int | None = None,
) -> StudyModel:
    """Load ``cheater`` (needs upstream t1) or a T4 method / ``best`` (needs upstream t4).

    ``best`` resolves to the winning method's own name, so tables and figures say which it is.
    """
    if name == CHEATER:
        if "t1" not in upstream:
            raise KeyError("model 'cheater' comes from task t1, which this task does not depend on")
        path = artefact(Path(upstream["t1"]), "model.pt")
        network = load_checkpoint(path, device=device)
        return StudyModel(CHEATER, network, "colour", "t1", checkpoint_extra(path))
    if "t4" not in upstream:
        raise KeyError(
            f"model {name!r} comes from task t4, which this task does not depend on; "
            f"the only other model is {CHEATER!r} (t1)"
        )
    t4_dir = Path(upstream["t4"])
    resolved = read_index(t4_dir)["best"] if name == BEST else name
    network, input_kind, meta = load_method(t4_dir, resolved, seed=seed, device=device)
    return StudyModel(resolved, network, input_kind, "t4", meta)


def parse_model_names(value: str | list[str]) -> list[str]:
    """``"cheater,best"`` or a list -> names, stripped, empty entries dropped, order kept."""
    names = value.split(",") if isinstance(value, str) else list(value)
    return [name.strip() for name in names if name and name.strip()]
