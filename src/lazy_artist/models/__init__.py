"""Model registry: every architecture a task can name, built by name with keyword arguments.

Checkpoints store the registry name and the constructor arguments, so a later task rebuilds a
model through :func:`build_model` without importing its class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

MODELS: dict[str, Callable[..., nn.Module]] = {}

_F = TypeVar("_F", bound=Callable[..., nn.Module])


def register_model(name: str) -> Callable[[_F], _F]:
    """Class/function decorator adding a model constructor to :data:`MODELS` under ``name``."""

    def decorate(factory: _F) -> _F:
        if name in MODELS and MODELS[name] is not factory:
            raise ValueError(f"model name {name!r} is already registered")
        MODELS[name] = factory
        return factory

    return decorate


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered model; an unknown name is an error that lists the known ones."""
    if name not in MODELS:
        known = ", ".join(sorted(MODELS)) or "(none)"
        raise KeyError(f"unknown model {name!r}; registered models: {known}")
    return MODELS[name](**kwargs)


def known_models() -> list[str]:
    return sorted(MODELS)


# Import the architectures so that they register themselves.
from lazy_artist.models import cnn, mlp  # noqa: E402, F401
