"""T4's trained models as artefacts that later tasks load by method, backbone, seed and rule.

T4 writes ``artefacts/models/<backbone>/<method>-seed<k>-<rule>.pt`` (one checkpoint per
selection rule of the same run) and an ``index.json`` naming every checkpoint, each backbone's
default rule (its recipe's) and the best method per backbone and rule (chosen on that rule's
validation split, never on the hard test set).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from lazy_artist.fileio import atomic_write_json, read_json
from lazy_artist.methods.names import INPUT_KINDS, METHOD_NAMES
from lazy_artist.methods.ranking import BEST
from lazy_artist.methods.selection import RULES, check_rule
from lazy_artist.models.checkpoints import checkpoint_extra, load_checkpoint, save_checkpoint

if TYPE_CHECKING:  # types only: a task that loads T4's models never reaches the methods' code
    from lazy_artist.methods.base import Algorithm
    from lazy_artist.methods.trainer import MethodResult

INDEX_FILE = "index.json"
MODELS_DIR = "models"
BEST_RULE = "conflict_val"  # ``best`` means the winner under oracle-style selection


def save_method_checkpoint(
    path: str | Path,
    method: str,
    algorithm: Algorithm,
    hparams: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Save ``algorithm.network`` as a registry checkpoint (also readable by
    :func:`lazy_artist.models.checkpoints.load_checkpoint`) with the method, its input kind and
    hparams."""
    if method not in METHOD_NAMES:  # fails now, not when a later task loads it
        raise ValueError(f"unknown method {method!r}; known methods: {', '.join(METHOD_NAMES)}")
    meta = {
        "method": method,
        "input_kind": algorithm.input_kind,
        "hparams": dict(hparams if hparams is not None else algorithm.hparams),
        **(extra or {}),
    }
    return save_checkpoint(
        path,
        algorithm.backbone,
        algorithm.network,
        extra=meta,
        model_kwargs=algorithm.backbone_kwargs,
    )


def load_method_network(
    path: str | Path, device: torch.device | str = "cpu"
) -> tuple[nn.Module, str, dict[str, Any]]:
    """(network in eval mode, its input kind "colour"/"gray", the stored metadata); the input
    kind is the one the checkpoint stored, so loading needs no method code."""
    meta = checkpoint_extra(path)
    if "method" not in meta:
        raise ValueError(f"{path} is not a method checkpoint (no 'method' in its metadata)")
    if meta.get("input_kind") not in INPUT_KINDS:
        raise ValueError(
            f"{path}: input kind {meta.get('input_kind')!r} is not one of {INPUT_KINDS}; "
            "rebuild t4 (its checkpoints predate stored input kinds)"
        )
    return load_checkpoint(path, device=device), meta["input_kind"], meta


class MethodIndex:
    """Collects checkpoints while T4 trains; ``save()`` writes the index last."""

    def __init__(self, directory: str | Path, default_backbone: str | None = None) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.default_backbone = default_backbone
        self.backbones: dict[str, dict[str, Any]] = {}

    def _entry(self, backbone: str, rule: str | None = None) -> dict[str, Any]:
        entry = self.backbones.setdefault(
            backbone, {"rule": rule, "methods": {}, "best": {}, "debiased": {}}
        )
        if rule is not None:
            entry["rule"] = check_rule(rule)
        return entry

    def add(
        self,
        method: str,
        seed: int,
        algorithm: Algorithm,
        result: MethodResult,
        default_rule: str = BEST_RULE,
    ) -> dict[str, Path]:
        """One checkpoint per rule of the run (``algorithm.rule_states``; without them, the
        network as ``default_rule``'s), with the run's history and per-rule accuracies."""
        backbone = algorithm.backbone
        entry = self._entry(backbone, default_rule)
        states = getattr(algorithm, "rule_states", None) or {
            default_rule: algorithm.network.state_dict()
        }
        current = {k: v.detach().clone() for k, v in algorithm.network.state_dict().items()}
        written = {}
        folder = self.directory / backbone
        try:
            for rule, state in states.items():
                algorithm.network.load_state_dict(state)
                chosen = result.selections.get(rule, {})
                path = folder / f"{method}-seed{seed}-{rule}.pt"
                save_method_checkpoint(
                    path,
                    method,
                    algorithm,
                    extra={
                        "seed": seed,
                        "backbone": backbone,
                        "rule": rule,
                        "selected_epoch": chosen.get("epoch", result.selected_epoch),
                        "selected": dict(chosen.get("selected", result.selected)),
                        "selection_rule": result.selection_rule,
                        "history": result.history,
                    },
                )
                written[rule] = path
        finally:
            algorithm.network.load_state_dict(current)
        seeds = entry["methods"].setdefault(method, {})
        seeds[str(seed)] = {rule: f"{backbone}/{path.name}" for rule, path in written.items()}
        if self.default_backbone is None:
            self.default_backbone = backbone
        return written

    def set_best(
        self,
        method: str,
        backbone: str | None = None,
        rule: str = BEST_RULE,
        debiased: bool = False,
    ) -> None:
        """Name the winner under ``rule`` (``debiased``: the best method other than ERM)."""
        backbone = backbone or self.default_backbone
        entry = self.backbones.get(backbone or "", {"methods": {}})
        if method not in entry["methods"]:
            raise ValueError(
                f"best method {method!r} has no checkpoint on backbone {backbone!r}; trained: "
                f"{', '.join(entry['methods']) or '(none)'}"
            )
        entry.setdefault("debiased" if debiased else "best", {})[check_rule(rule)] = method

    def save(self) -> Path:
        path = self.directory / "index.json"
        atomic_write_json(
            path, {"default_backbone": self.default_backbone, "backbones": self.backbones}
        )
        return path


def read_index(t4_dir: str | Path) -> dict[str, Any]:
    path = Path(t4_dir) / "artefacts" / MODELS_DIR / INDEX_FILE
    if not path.exists():
        raise FileNotFoundError(f"no T4 model index at {path}: build task t4 first")
    index = read_json(path)
    if "backbones" not in index:
        raise ValueError(f"{path} is a T4 index from before backbones were an axis: rebuild t4")
    return index


def resolve(
    index: dict[str, Any],
    method: str = BEST,
    backbone: str | None = None,
    seed: int | None = None,
    rule: str | None = None,
) -> dict[str, Any]:
    """What a (method, backbone, seed, rule) request names in the index: the resolved method,
    backbone, seed, rule and checkpoint file. ``best`` is the winner under ``rule`` (default
    oracle-style); other methods default to the backbone's recipe rule; seed None: the first."""
    backbone = backbone or index["default_backbone"]
    if backbone not in index["backbones"]:
        raise KeyError(
            f"T4 trained no model on backbone {backbone!r}; backbones: "
            f"{', '.join(index['backbones'])}"
        )
    entry = index["backbones"][backbone]
    if rule is not None:
        check_rule(rule)
    if method == BEST:
        rule = rule or BEST_RULE
        if rule not in entry["best"]:
            raise KeyError(f"T4 named no best method on {backbone!r} under rule {rule!r}")
        name = entry["best"][rule]
    else:
        name, rule = method, rule or entry["rule"]
    if name not in entry["methods"]:
        raise KeyError(
            f"T4 trained no {name!r} model on {backbone!r}; it has "
            f"{', '.join(entry['methods'])} (and 'best')"
        )
    seeds = entry["methods"][name]
    key = str(seed) if seed is not None else sorted(seeds, key=int)[0]
    if key not in seeds:
        raise KeyError(
            f"T4 has no {name!r} model on {backbone!r} for seed {seed}; seeds: "
            f"{', '.join(sorted(seeds, key=int))}"
        )
    if rule not in seeds[key]:
        raise KeyError(f"T4 kept no {rule!r} checkpoint of {name!r} seed {key}")
    return {
        "method": name,
        "backbone": backbone,
        "seed": int(key),
        "rule": rule,
        "file": seeds[key][rule],
        "seeds": sorted(int(s) for s in seeds),
    }


def load_method(
    t4_dir: str | Path,
    method: str = BEST,
    seed: int | None = None,
    device: torch.device | str = "cpu",
    backbone: str | None = None,
    rule: str | None = None,
) -> tuple[nn.Module, str, dict[str, Any]]:
    """(network, input kind, metadata) of a T4 model (see :func:`resolve` for the defaults);
    the metadata names its backbone, seed and rule."""
    found = resolve(read_index(t4_dir), method, backbone=backbone, seed=seed, rule=rule)
    network, input_kind, meta = load_method_network(
        Path(t4_dir) / "artefacts" / MODELS_DIR / found["file"], device=device
    )
    return network, input_kind, {**meta, **{k: found[k] for k in ("backbone", "seed", "rule")}}


__all__ = [
    "BEST",
    "BEST_RULE",
    "RULES",
    "MethodIndex",
    "load_method",
    "load_method_network",
    "read_index",
    "resolve",
    "save_method_checkpoint",
]
