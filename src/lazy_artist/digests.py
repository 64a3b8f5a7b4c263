"""Size + sha256 of stored files, recorded when a result is stored and checked before reuse:
a truncated checkpoint or a rewritten figure is caught by name, not by a traceback downstream."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any


def file_digest(path: Path) -> dict[str, Any]:
    """Size and sha256 of one file (read in chunks: checkpoints can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return {"size": Path(path).stat().st_size, "sha256": digest.hexdigest()}


def tree_digests(directory: Path, skip: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """Size + sha256 of every file under ``directory``, keyed by its relative path."""
    directory = Path(directory)
    return {
        path.relative_to(directory).as_posix(): file_digest(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.relative_to(directory).as_posix() not in skip
    }


def check_digests(directory: Path, recorded: dict[str, dict[str, Any]]) -> str | None:
    """What differs between the files under ``directory`` and ``recorded`` (None: all intact).
    The size is compared first: it is free, and a truncation is the common damage."""
    for name, expected in sorted(recorded.items()):
        path = Path(directory) / name
        if not path.is_file():
            return f"{name} is missing"
        size = path.stat().st_size
        if not isinstance(expected, dict) or size != expected.get("size"):
            recorded_size = expected.get("size") if isinstance(expected, dict) else "?"
            return f"{name} changed size ({recorded_size} -> {size} bytes)"
        if file_digest(path)["sha256"] != expected.get("sha256"):
            return f"{name} changed content (sha256 differs)"
    return None
