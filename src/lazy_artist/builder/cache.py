"""Content-hash cache keys: a task re-runs exactly when something that can change its result changed.

The key hashes the notebook text, the resolved parameters, the library source (the science
modules, not the builder: a renderer change must not re-run training), the upstream tasks'
keys, the identity of the data the task reads, and the versions of the numeric packages.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import lazy_artist

KEY_PACKAGES = ("torch", "torchvision", "numpy", "matplotlib")
# Report machinery: changing it re-renders the report but cannot change a task's numbers.
BUILDER_PARTS = ("builder", "cli.py", "__main__.py")


def library_digest(package_dir: Path | None = None, exclude: Iterable[str] = BUILDER_PARTS) -> str:
    """sha256 over the library's Python sources (relative path + bytes), builder excluded."""
    package_dir = Path(package_dir or Path(lazy_artist.__file__).parent)
    excluded = tuple(exclude)
    digest = hashlib.sha256()
    for path in sorted(package_dir.rglob("*.py")):
        relative = path.relative_to(package_dir).as_posix()
        if relative.split("/")[0] in excluded:
            continue
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


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
