"""Which library source files a piece of code can reach, found by reading import statements.

Shared by the build cache (a task's key hashes the modules its notebook imports) and the T4
run memo (a trained run is reused only while the training code it went through is unchanged).
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterable
from pathlib import Path

import lazy_artist

# Report machinery: changing it re-renders the report but cannot change a task's numbers.
BUILDER_PARTS = ("builder", "cli.py", "__main__.py")


def package_root(package_dir: Path | None) -> Path:
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
    package_dir = package_root(package_dir)
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


def source_digest(paths: Iterable[Path], package_dir: Path | None = None) -> str:
    """sha256 over ``paths`` (relative path + bytes), in sorted order."""
    package_dir = package_root(package_dir)
    digest = hashlib.sha256()
    for path in sorted(paths):
        relative = path.relative_to(package_dir).as_posix()
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
