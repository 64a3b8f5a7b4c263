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
        "- uses: actions/checkout@v6\n",
        "- uses: actions/checkout@v6\n        with:\n          fetch-deepth: 0\n",
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
    assert uses["actions/cache/restore"]["with"]["path"].startswith("build/")
    assert uses["actions/upload-artifact"]["with"]["path"] == "report/"
    assert "actions/upload-pages-artifact" in uses
    assert any("nox -s report" in step.get("run", "") for step in steps)

    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert "pull_request" in deploy["if"] and "refs/heads/main" in deploy["if"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert any(step.get("uses", "").startswith("actions/deploy-pages@") for step in deploy["steps"])


def build_steps(workflow: dict) -> list[dict]:
    return workflow["jobs"]["build"]["steps"]


def step_index(steps: list[dict], action: str) -> int:
    [index] = [i for i, step in enumerate(steps) if step.get("uses", "").split("@")[0] == action]
    return index


def test_the_build_cache_is_saved_even_when_the_build_fails_or_is_cancelled():
    workflow = yaml.safe_load(REPORT_WORKFLOW.read_text())
    steps = build_steps(workflow)
    restore = steps[step_index(steps, "actions/cache/restore")]
    save = steps[step_index(steps, "actions/cache/save")]
    build = next(i for i, step in enumerate(steps) if "nox -s report --" in step.get("run", ""))
    assert (
        step_index(steps, "actions/cache/restore") < build < step_index(steps, "actions/cache/save")
    )
    assert save["if"].replace(" ", "") == "${{always()}}", "saved after a failure or a cancel"
    assert save["with"]["path"] == restore["with"]["path"]
    assert save["with"]["key"] == f"${{{{ steps.{restore['id']}.outputs.cache-primary-key }}}}"
    assert not any(step.get("uses", "").startswith("actions/cache@") for step in steps)


def test_only_pull_requests_cancel_in_progress_and_deployments_are_never_cancelled():
    workflow = yaml.safe_load(REPORT_WORKFLOW.read_text())
    cancel = workflow["concurrency"]["cancel-in-progress"].replace(" ", "")
    assert cancel == "${{github.event_name=='pull_request'}}"
    deploy = workflow["jobs"]["deploy"]["concurrency"]
    assert deploy["cancel-in-progress"] is False
    assert deploy["group"] != workflow["concurrency"]["group"]
    assert "${{" not in deploy["group"], "one group for every deployment, whatever the ref"
    timeout = workflow["jobs"]["build"]["timeout-minutes"]
    assert "pull_request" in timeout, "pull requests get the quick profile's shorter timeout"


def test_pages_are_configured_before_the_upload_and_deployed_after_the_build():
    workflow = yaml.safe_load(REPORT_WORKFLOW.read_text())
    steps = build_steps(workflow)
    configure = step_index(steps, "actions/configure-pages")
    assert configure < step_index(steps, "actions/upload-pages-artifact")
    assert workflow["jobs"]["deploy"]["needs"] == "build"
    assert not any(
        "configure-pages" in step.get("uses", "") for step in workflow["jobs"]["deploy"]["steps"]
    )


def test_the_quarto_job_is_optional_and_renders_the_build_artefact():
    workflow = yaml.safe_load(REPORT_WORKFLOW.read_text())
    quarto = workflow["jobs"]["quarto"]
    assert quarto["needs"] == "build" and quarto["continue-on-error"] is True
    uses = [step.get("uses", "").split("@")[0] for step in quarto["steps"]]
    assert uses[:2] == ["actions/download-artifact", "quarto-dev/quarto-actions/setup"]
    assert any("quarto render report.qmd" in step.get("run", "") for step in quarto["steps"])


def test_the_data_comes_from_the_builder_and_the_published_summary_is_the_baseline():
    steps = build_steps(yaml.safe_load(REPORT_WORKFLOW.read_text()))
    runs = "\n".join(step.get("run", "") for step in steps)
    assert "python -m lazy_artist data --install" in runs
    assert "apt-get" not in runs and "dataset-fashion-mnist" not in runs
    assert "--baseline previous/summary.json" in runs
    assert "|| true" in runs, "fetching the published report is best effort"


def test_every_action_is_on_a_node24_major():
    text = REPORT_WORKFLOW.read_text()
    for action, major in {
        "actions/checkout": 6,
        "actions/setup-python": 6,
        "actions/cache/restore": 6,
        "actions/cache/save": 6,
        "actions/upload-artifact": 7,
        "actions/download-artifact": 7,
        "actions/configure-pages": 6,
        "actions/upload-pages-artifact": 5,
        "actions/deploy-pages": 5,
    }.items():
        assert f"uses: {action}@v{major}\n" in text, action
