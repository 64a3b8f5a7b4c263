"""Content-hash cache keys: a task re-runs exactly when something that can change its result changed.

The key hashes the notebook text, the resolved parameters, the library source the notebook
can reach (the modules it imports, transitively; never the builder: a renderer change must not
re-run training, and a new attack module must not re-train T4), the upstream tasks' keys, the
identity of the data the task reads, and the versions of the numeric packages.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from lazy_artist.sourcehash import (
    BUILDER_PARTS,
    package_root,
    reachable_modules,
    source_digest,
)

KEY_PACKAGES = ("torch", "torchvision", "numpy", "matplotlib")


def library_digest(
    package_dir: Path | None = None,
    exclude: Iterable[str] = BUILDER_PARTS,
    notebook_text: str | None = None,
) -> str:
    """sha256 over library sources (relative path + bytes), builder excluded: every module, or
    with ``notebook_text`` only the modules that notebook can reach."""
    package_dir = package_root(package_dir)
    excluded = tuple(exclude)
    if notebook_text is None:
        paths = sorted(package_dir.rglob("*.py"))
    else:
        paths = reachable_modules(notebook_text, package_dir)
    kept = [path for path in paths if path.relative_to(package_dir).parts[0] not in excluded]
    return source_digest(kept, package_dir)


def package_versions(names: Iterable[str] = KEY_PACKAGES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def task_key(
    *,
    notebook_text: str,
    params: Mapping[str, Any],
    library: str,
    upstream_keys: Mapping[str, str],
    data_identity: Mapping[str, str],
    versions: Mapping[str, str],
    device: str,
) -> str:
    """The cache key of one task run; every argument is part of it."""
    payload = {
        "notebook": hashlib.sha256(notebook_text.encode()).hexdigest(),
        "params": params,
        "library": library,
        "upstream": dict(sorted(upstream_keys.items())),
        "data": dict(sorted(data_identity.items())),
        "versions": dict(sorted(versions.items())),
        "device": device,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
