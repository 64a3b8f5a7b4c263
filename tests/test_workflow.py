"""The GitHub Actions workflow passes actionlint, and actionlint really rejects a broken one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
REPORT_WORKFLOW = REPO / ".github" / "workflows" / "report.yml"


def actionlint() -> str:
    """The actionlint binary of this environment (the ``test`` extra installs it)."""
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("actionlint", path=search)
    if found is None:
        pytest.fail("actionlint is not installed: pip install -e '.[test]' (or nox -s tests)")
    return found


def lint(workflows: list[Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [actionlint(), "-no-color", *(str(path) for path in workflows)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_workflow_passes_actionlint():
    assert WORKFLOWS, "no workflow under .github/workflows"
    result = lint(WORKFLOWS, REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_actionlint_rejects_a_broken_copy(tmp_path):
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    broken = workflows / "report.yml"
    text = REPORT_WORKFLOW.read_text()
    # Two mistakes actionlint must catch: a dependency on a job that does not exist and an
    # input the checkout action does not have.
    text = text.replace("    needs: build\n", "    needs: biuld\n", 1)
    text = text.replace(
        "- uses: actions/checkout@v4\n",
        "- uses: actions/checkout@v4\n        with:\n          fetch-deepth: 0\n",
        1,
    )
    assert text != REPORT_WORKFLOW.read_text()
    broken.write_text(text)
    result = lint([broken], tmp_path)
    assert result.returncode != 0
    assert 'needs job "biuld" which does not exist' in result.stdout
    assert '"fetch-deepth" is not defined' in result.stdout


def test_the_report_workflow_does_what_the_project_promises():
    workflow = yaml.safe_load(REPORT_WORKFLOW.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert triggers["push"]["branches"] == ["main"]
    assert "pull_request" in triggers and "workflow_dispatch" in triggers
    profile = workflow["env"]["PROFILE"]
    assert "pull_request' && 'quick'" in profile and profile.endswith("|| 'full' }}")

    steps = workflow["jobs"]["build"]["steps"]
    uses = {step.get("uses", "").split("@")[0]: step for step in steps}
    assert uses["actions/setup-python"]["with"]["cache"] == "pip"
    assert uses["actions/cache"]["with"]["path"].startswith("build/")
    assert uses["actions/upload-artifact"]["with"]["path"] == "report/"
    assert "actions/upload-pages-artifact" in uses
    assert any("nox -s report" in step.get("run", "") for step in steps)

    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert "pull_request" in deploy["if"] and "refs/heads/main" in deploy["if"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert any(step.get("uses", "").startswith("actions/deploy-pages@") for step in deploy["steps"])
