"""Every command and ``--set`` the README shows parses and validates (nothing is built)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from lazy_artist.builder.params import (
    check_params,
    check_profile,
    check_task_names,
    parse_overrides,
    resolve_params,
)
from lazy_artist.cli import _parser, _timeouts
from lazy_artist.study import STUDY_TASKS

README = Path(__file__).resolve().parents[2] / "README.md"
CLI = re.compile(r"python -m lazy_artist\s+([a-z][^#`\n]*)")
NOX = re.compile(r"nox -s report -- ([^#`\n]*)")
SET = re.compile(r"--set\s+('[^']*'|\"[^\"]*\"|[^\s`]+)")


def _snippets(text: str) -> list[str]:
    """Code lines of fenced blocks and inline code spans."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)
    lines = [line for block in blocks for line in block.splitlines()]
    prose = re.sub(r"```[a-z]*\n.*?```", "", text, flags=re.S)
    return lines + re.findall(r"`([^`\n]+)`", prose)


def readme_examples() -> list[list[str]]:
    """Each example as the argv the CLI would get (``nox -s report -- ARGS`` runs
    ``python -m lazy_artist build --profile full ARGS``; a bare ``--set`` goes to a build)."""
    examples: list[list[str]] = []
    for snippet in _snippets(README.read_text(encoding="utf-8")):
        if match := CLI.search(snippet):
            examples.append(shlex.split(match.group(1)))
        elif match := NOX.search(snippet):
            examples.append(["build", "--profile", "full", *shlex.split(match.group(1))])
        elif match := SET.search(snippet):
            examples.append(["build", "--profile", "quick", "--set", *shlex.split(match.group(1))])
    return examples


EXAMPLES = readme_examples()


def test_the_readme_has_the_examples_this_test_reads():
    commands = {argv[0] for argv in EXAMPLES}
    assert {"build", "run", "render", "status", "tasks", "clean"} <= commands
    assert sum("--set" in argv for argv in EXAMPLES) >= 7, "the --set examples were not found"


@pytest.mark.parametrize("argv", EXAMPLES, ids=[" ".join(argv) for argv in EXAMPLES])
def test_every_readme_example_parses_and_validates(argv):
    args = _parser().parse_args(argv)
    if getattr(args, "profile", None) is not None:
        check_profile(args.profile)
    if args.command not in ("build", "run"):
        return
    only = [args.task] if args.command == "run" else args.only
    if only:
        check_task_names(STUDY_TASKS, only)
    # As the CLI does: --timeout-s and TASK.timeout_s are builder settings, checked apart.
    assignments, _ = _timeouts(STUDY_TASKS, args.assignments, args.timeout_s)
    overrides = parse_overrides(STUDY_TASKS, assignments)
    selected = [task.name for task in STUDY_TASKS.with_dependencies(only or STUDY_TASKS.names())]
    params = {task.name: resolve_params(task, args.profile, overrides) for task in STUDY_TASKS}
    check_params(STUDY_TASKS, selected, params)
