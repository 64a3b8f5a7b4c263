"""T4's trained models as artefacts that later tasks load by method name.

T4 writes ``artefacts/models/<method>-seed<k>.pt`` and an ``index.json`` naming every
checkpoint and the best method (chosen on conflict validation, never on the hard test set).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from lazy_artist.fileio import atomic_write_json, read_json
from lazy_artist.methods.algorithms import Algorithm
from lazy_artist.methods.trainer import MethodResult, load_method_network, save_method_checkpoint

INDEX_FILE = "index.json"
MODELS_DIR = "models"
BEST = "best"


class MethodIndex:
    """Collects checkpoints while T4 trains; ``save()`` writes the index last."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.methods: dict[str, dict[str, str]] = {}
        self.best: str | None = None

    def add(self, method: str, seed: int, algorithm: Algorithm, result: MethodResult) -> Path:
        path = self.directory / f"{method}-seed{seed}.pt"
        save_method_checkpoint(
            path,
            method,
            algorithm,
            extra={
                "seed": seed,
                "selected_epoch": result.selected_epoch,
                "selection_rule": result.selection_rule,
            },
        )
        self.methods.setdefault(method, {})[str(seed)] = path.name
        return path

    def set_best(self, method: str) -> None:
        if method not in self.methods:
            raise ValueError(
                f"best method {method!r} has no checkpoint; trained: {', '.join(self.methods)}"
            )
        self.best = method

    def save(self) -> Path:
        path = self.directory / INDEX_FILE
        atomic_write_json(path, {"methods": self.methods, "best": self.best})
        return path


def read_index(t4_dir: str | Path) -> dict[str, Any]:
    path = Path(t4_dir) / "artefacts" / MODELS_DIR / INDEX_FILE
    if not path.exists():
        raise FileNotFoundError(f"no T4 model index at {path}: build task t4 first")
    return read_json(path)


def load_method(
    t4_dir: str | Path,
    method: str = BEST,
    seed: int | None = None,
    device: torch.device | str = "cpu",
) -> tuple[nn.Module, str, dict[str, Any]]:
    """(network, input kind, metadata) of a T4 model by method name (``best`` = T4's winner);
    ``seed`` None takes the first trained seed."""
    index = read_index(t4_dir)
    name = index["best"] if method == BEST else method
    if name not in index["methods"]:
        raise KeyError(
            f"T4 trained no {method!r} model; it has {', '.join(index['methods'])} (and 'best')"
        )
    seeds = index["methods"][name]
    key = str(seed) if seed is not None else sorted(seeds, key=int)[0]
    if key not in seeds:
        raise KeyError(
            f"T4 has no {name!r} model for seed {seed}; seeds: {', '.join(sorted(seeds, key=int))}"
        )
    return load_method_network(Path(t4_dir) / "artefacts" / MODELS_DIR / seeds[key], device=device)
