"""Checkpoints beside the model registry: the weights with the registry name and constructor
arguments, so any task rebuilds a model through :func:`~lazy_artist.models.build_model`
without importing its class.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lazy_artist.models import build_model


def _canonical(value: dict[str, Any]) -> dict[str, Any]:
    """Metadata as plain JSON values with sorted keys: a run restored from T4's memo (whose
    records are sorted JSON) then pickles to the bytes its trained run did."""
    return json.loads(json.dumps(value, sort_keys=True, default=_plain))


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy and torch scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"checkpoint metadata value {value!r} is not JSON-like")


def save_checkpoint(
    path: str | Path,
    model_name: str,
    model: nn.Module,
    extra: dict[str, Any] | None = None,
    model_kwargs: dict[str, Any] | None = None,
) -> Path:
    """Save weights with the registry name and constructor arguments (``model.config`` by default)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kwargs = dict(model_kwargs if model_kwargs is not None else getattr(model, "config", {}))
    # Standard (contiguous) layout: a channels-last copy of the same weights pickles to other
    # bytes, and later tasks key on these bytes (a memoised run must save what a trained one did).
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    payload = {
        "model_name": model_name,
        "model_kwargs": _canonical(kwargs),
        "state_dict": state,
        "extra": _canonical(extra or {}),
    }
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def _read_checkpoint(path: str | Path) -> dict[str, Any]:
    # weights_only: a checkpoint is tensors and plain values, never arbitrary pickled objects.
    return torch.load(Path(path), map_location="cpu", weights_only=True)


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> nn.Module:
    """Rebuild the model through the registry and load its weights; returned in eval mode."""
    payload = _read_checkpoint(path)
    model = build_model(payload["model_name"], **payload["model_kwargs"])
    model.load_state_dict(payload["state_dict"])
    return model.to(torch.device(device)).eval()


def checkpoint_extra(path: str | Path) -> dict[str, Any]:
    """The ``extra`` dictionary stored with a checkpoint (selection rule, epoch, ...)."""
    return dict(_read_checkpoint(path)["extra"])
