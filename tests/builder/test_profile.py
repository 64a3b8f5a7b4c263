"""The profile is checked once where it enters (the command line; ``build`` and ``plan`` for
callers of the API) and then carried as a value: never re-checked per task, never read back
from the name of the build folder."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from lazy_artist.builder import build as build_module
from lazy_artist.builder import params as params_module
from lazy_artist.builder.build import build
from lazy_artist.builder.explain import plan
from lazy_artist.builder.params import BuildInputError, resolve_params
from lazy_artist.builder.store import EXECUTED_NOTEBOOK, BuildStore
from lazy_artist.builder.tasks import PROFILES
from lazy_artist.cli import EXIT_BAD_INPUT, main

UNKNOWN = f"error: unknown profile 'huge': choose one of {', '.join(PROFILES)}\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["build", "--profile", "huge"],
        ["build", "--profile", "huge", "--dry-run"],
        ["run", "t1", "--profile", "huge"],
        ["render", "--profile", "huge"],
        ["status", "--profile", "huge"],
        ["data", "--profile", "huge"],
        ["clean", "--profile", "huge"],
    ],
)
def test_an_unknown_profile_is_one_error_line_before_any_work(tmp_path, capsys, argv):
    # An empty root: the profile is rejected before the command looks at the project at all.
    assert main(["--root", str(tmp_path), *argv]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err == UNKNOWN
    assert list(tmp_path.iterdir()) == [], "nothing may be written on bad input"


def counted_checks(monkeypatch) -> list[str]:
    """Every call of ``check_profile``, wherever the builder reaches it from."""
    calls: list[str] = []
    real = params_module.check_profile

    def counting(profile: str) -> None:
        calls.append(profile)
        real(profile)

    for module in (params_module, build_module):
        monkeypatch.setattr(module, "check_profile", counting)
    return calls


def test_a_plan_checks_the_profile_once_not_once_per_task(fixture_project, monkeypatch):
    calls = counted_checks(monkeypatch)
    plans = plan(fixture_project, "quick")
    assert len(plans) == len(fixture_project.graph.names()) > 1
    assert calls == ["quick"]


def test_the_api_entry_points_still_reject_an_unknown_profile(fixture_project):
    with pytest.raises(BuildInputError, match="unknown profile 'huge'"):
        plan(fixture_project, "huge")
    with pytest.raises(BuildInputError, match="unknown profile 'huge'"):
        build(fixture_project, "huge", stream=False, say=lambda message: None)
    assert not fixture_project.build_dir.exists(), "rejected before any work"


def test_resolve_params_takes_the_profile_as_checked(fixture_project, monkeypatch):
    calls = counted_checks(monkeypatch)
    task = fixture_project.graph["produce"]
    assert resolve_params(task, "quick")["value"] == 3
    assert calls == []


def test_a_notebook_is_told_the_build_profile_not_its_folder_name(fixture_project, monkeypatch):
    # Build into a folder whose name is not the profile's: the notebook must still be told
    # "quick" (the value the build was given), as every task's parameters and key assume.
    real = BuildStore.for_profile.__func__

    def elsewhere(cls, build_dir: Path, profile: str) -> BuildStore:
        return real(cls, build_dir, f"{profile}-elsewhere")

    monkeypatch.setattr(BuildStore, "for_profile", classmethod(elsewhere))
    result = build(fixture_project, "quick", only=["produce"], stream=False, say=lambda m: None)
    assert result.ok and result.as_record()["profile"] == "quick"
    executed = fixture_project.build_dir / "quick-elsewhere" / "produce" / EXECUTED_NOTEBOOK
    injected = [
        cell.source
        for cell in nbformat.read(executed, as_version=4).cells
        if "injected-parameters" in cell.metadata.get("tags", [])
    ]
    assert len(injected) == 1 and 'profile = "quick"\n' in injected[0] + "\n"
