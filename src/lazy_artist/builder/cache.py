"""Content-hash cache keys: a task re-runs exactly when something that can change its result changed.

The key hashes the notebook text, the resolved parameters, the library source the notebook
can reach (the modules it imports, transitively; never the builder: a renderer change must not
re-run training, and a new attack module must not re-train T4), the upstream tasks' keys, the
identity of the data the task reads, and the versions of the numeric packages.
"""

from __future__ import annotations

import ast
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


def _package_dir(package_dir: Path | None) -> Path:
    return Path(package_dir or Path(lazy_artist.__file__).parent)


def _imported_names(source: str, package: str) -> set[str]:
    """Dotted names ``package.x.y`` that ``source`` imports, including ``from package.x import y``
    (``y`` may be a module or an attribute; both candidates are returned, unknown ones dropped)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {package}  # unparsable: depend on the package root at least
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name == package or name.startswith(package + ".")}


def _module_files(name: str, package: str, package_dir: Path) -> list[Path]:
    """The files executed when ``name`` is imported: its own and its parents' ``__init__``."""
    parts = name.split(".")[1:]
    files = [package_dir / "__init__.py"]
    for depth in range(1, len(parts) + 1):
        stem = package_dir.joinpath(*parts[:depth])
        if (stem / "__init__.py").exists():
            files.append(stem / "__init__.py")
        elif depth == len(parts) and stem.with_suffix(".py").exists():
            files.append(stem.with_suffix(".py"))
        else:
            break  # an attribute, not a module
    return files


def reachable_modules(source: str, package_dir: Path | None = None) -> list[Path]:
    """Library files that ``source`` (a notebook's text) imports, directly or through the
    library itself, sorted; the builder parts are never included."""
    package_dir = _package_dir(package_dir)
    package = package_dir.name
    seen: set[Path] = set()
    pending = [source]
    while pending:
        for name in _imported_names(pending.pop(), package):
            for path in _module_files(name, package, package_dir):
                if path not in seen:
                    seen.add(path)
                    pending.append(path.read_text(encoding="utf-8"))
    return sorted(
        path for path in seen if path.relative_to(package_dir).parts[0] not in BUILDER_PARTS
    )


def library_digest(
    package_dir: Path | None = None,
    exclude: Iterable[str] = BUILDER_PARTS,
    notebook_text: str | None = None,
) -> str:
    """sha256 over library sources (relative path + bytes), builder excluded: every module, or
    with ``notebook_text`` only the modules that notebook can reach."""
    package_dir = _package_dir(package_dir)
    excluded = tuple(exclude)
    if notebook_text is None:
        paths = sorted(package_dir.rglob("*.py"))
    else:
        paths = reachable_modules(notebook_text, package_dir)
    digest = hashlib.sha256()
    for path in paths:
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
