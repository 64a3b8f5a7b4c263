"""Content-hash cache keys: a task re-runs exactly when something that can change its result changed.

The key hashes the notebook's code cells (their syntax trees: comments, docstrings and
markdown cells do not count), the resolved parameters, the library source the notebook
can reach (the modules it imports, transitively; never the builder: a renderer change must not
re-run training, and a new attack module must not re-train T4), the upstream tasks' keys, the
identity of the data the task reads, and the versions of the numeric packages.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from lazy_artist.sourcehash import (
    BUILDER_PARTS,
    combine_digests,
    module_digests,
    notebook_fingerprint,
    package_root,
    reachable_modules,
)

KEY_PACKAGES = ("torch", "torchvision", "numpy", "matplotlib")


def library_digests(
    package_dir: Path | None = None,
    exclude: Iterable[str] = BUILDER_PARTS,
    notebook_text: str | None = None,
) -> dict[str, str]:
    """``{module path: digest of its code}`` over library sources, builder excluded: every
    module, or with ``notebook_text`` only the modules that notebook can reach."""
    package_dir = package_root(package_dir)
    excluded = tuple(exclude)
    if notebook_text is None:
        paths = sorted(package_dir.rglob("*.py"))
    else:
        paths = reachable_modules(notebook_text, package_dir)
    kept = [path for path in paths if path.relative_to(package_dir).parts[0] not in excluded]
    return module_digests(kept, package_dir)


def library_digest(
    package_dir: Path | None = None,
    exclude: Iterable[str] = BUILDER_PARTS,
    notebook_text: str | None = None,
) -> str:
    """One sha256 over :func:`library_digests` (comments and docstrings do not count)."""
    return combine_digests(library_digests(package_dir, exclude, notebook_text))


def notebook_digest(notebook_text: str) -> str:
    """sha256 of a notebook's code cells (see ``sourcehash.notebook_fingerprint``)."""
    return hashlib.sha256(notebook_fingerprint(notebook_text).encode()).hexdigest()


def package_versions(names: Iterable[str] = KEY_PACKAGES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@dataclass(frozen=True)
class TaskKeyParts:
    """What one task's cache key is made of; every field is part of it. ``library`` is one
    digest or the per-module digests of :func:`library_digests`. A build and ``status`` make
    it the same way (``build.task_key_parts``); :func:`task_key` hashes it and
    ``changes.key_inputs`` keeps a short digest of each field."""

    notebook_text: str
    params: Mapping[str, Any]
    library: str | Mapping[str, str]
    upstream_ids: Mapping[str, str]
    data_identity: Mapping[str, str]
    versions: Mapping[str, str]
    device: str


def task_key(parts: TaskKeyParts) -> str:
    """The cache key of one task run: sha256 over every field of ``parts``."""
    library = parts.library
    payload = {
        "notebook": notebook_digest(parts.notebook_text),
        "params": parts.params,
        "library": library if isinstance(library, str) else combine_digests(library),
        "upstream": dict(sorted(parts.upstream_ids.items())),
        "data": dict(sorted(parts.data_identity.items())),
        "versions": dict(sorted(parts.versions.items())),
        "device": parts.device,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
