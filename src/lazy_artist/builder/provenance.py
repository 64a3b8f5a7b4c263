"""Where a report's numbers came from: commit, date, profile, seeds, device, package versions."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lazy_artist.builder.cache import package_versions

REPORTED_PACKAGES = (
    "torch",
    "torchvision",
    "numpy",
    "matplotlib",
    "papermill",
    "jupytext",
    "jinja2",
    "pypandoc-binary",
    "typst",
)


def git_state(root: Path) -> dict[str, Any]:
    """Commit hash and whether the working tree differs from it (None outside a git checkout)."""

    def git(*args: str) -> str | None:
        try:
            completed = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return completed.stdout.strip() if completed.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def device_description(devices: dict[str, str]) -> str:
    import torch

    kinds = sorted(set(devices.values()))
    if any(kind.startswith("cuda") for kind in kinds) and torch.cuda.is_available():
        return f"{', '.join(kinds)} ({torch.cuda.get_device_name(0)})"
    return (
        f"{', '.join(kinds)} ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    )


def collect_provenance(
    root: Path,
    profile: str,
    params: dict[str, dict[str, Any]],
    devices: dict[str, str],
    versions: dict[str, str],
) -> dict[str, Any]:
    packages = {"python": platform.python_version(), **package_versions(REPORTED_PACKAGES)}
    return {
        "git": git_state(root),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "profile": profile,
        "seeds": {name: task_params.get("seed") for name, task_params in params.items()},
        "device": device_description(devices),
        "platform": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "packages": packages,
    }
