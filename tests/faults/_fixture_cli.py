"""Run ``python -m lazy_artist`` on a fixture project (tiny notebooks), in a subprocess.

The CLI builds the study's task graph; this entry point swaps in the fixture graph of
tests/builder/conftest.py, so fault tests exercise the real command line in seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

ENTRY = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
from tests.builder.conftest import FIXTURE_GRAPH
import lazy_artist.cli as cli
from lazy_artist.builder.project import Project
cli.Project = lambda root, *_: Project(root, FIXTURE_GRAPH)
sys.exit(cli.main(sys.argv[1:]))
"""


def command(root: Path, *argv: str) -> list[str]:
    return [sys.executable, "-c", ENTRY, "--root", str(root), *argv]


def run_cli(root: Path, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the fixture CLI to the end; stdout and stderr as text."""
    return subprocess.run(
        command(root, *argv), capture_output=True, text=True, timeout=timeout, env=_env()
    )


def start_cli(root: Path, *argv: str) -> subprocess.Popen:
    """Start the fixture CLI in its own session (so a test can signal it and its kernel)."""
    return subprocess.Popen(
        command(root, *argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=_env(),
    )


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}
