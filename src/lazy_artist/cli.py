"""Command line: ``python -m lazy_artist {build,run,render,status,clean,tasks}``.

Exit codes: 0 everything complete or cached; 1 a task failed or was blocked (the report is
still written); 2 bad input, rejected before any work; 3 the report could not be rendered.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from lazy_artist.builder.build import build
from lazy_artist.builder.comparison import check_reference_file
from lazy_artist.builder.params import (
    BuildInputError,
    check_profile,
    check_task_names,
    parse_overrides,
    resolve_params,
)
from lazy_artist.builder.project import Project
from lazy_artist.builder.publish import publish
from lazy_artist.builder.render import RenderError
from lazy_artist.builder.store import BuildStore
from lazy_artist.builder.tasks import PROFILES

EXIT_OK, EXIT_TASK_FAILED, EXIT_BAD_INPUT, EXIT_RENDER_FAILED = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lazy_artist", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--root", type=Path, default=Path.cwd(), help="project root (default: current directory)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def add_build_options(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--profile", default="full", help=f"one of {', '.join(PROFILES)} (default: full)"
        )
        command.add_argument(
            "--force", action="store_true", help="re-run the selected tasks even if cached"
        )
        command.add_argument(
            "--fail-fast", action="store_true", help="stop at the first failed task"
        )
        command.add_argument(
            "--keep-going",
            action="store_true",
            help="run independent tasks after a failure (default)",
        )
        command.add_argument(
            "--set",
            dest="assignments",
            action="append",
            default=[],
            metavar="TASK.NAME=VALUE",
            help="override a task parameter, e.g. --set t1.epochs=5 (repeatable)",
        )
        command.add_argument(
            "--no-render", action="store_true", help="run tasks but do not write the report"
        )
        command.add_argument("--quiet", action="store_true", help="do not stream notebook output")

    build_cmd = commands.add_parser(
        "build", help="run every task that needs it, then write the report"
    )
    build_cmd.add_argument(
        "--only", nargs="+", default=None, metavar="TASK", help="these tasks (and what they need)"
    )
    add_build_options(build_cmd)
    run_cmd = commands.add_parser(
        "run", help="run one task (and what it needs), then write the report"
    )
    run_cmd.add_argument("task")
    add_build_options(run_cmd)
    render_cmd = commands.add_parser(
        "render", help="re-write the report from the last build, running nothing"
    )
    render_cmd.add_argument("--profile", default="full")
    status_cmd = commands.add_parser("status", help="show each task's cache state")
    status_cmd.add_argument("--profile", default="full")
    clean_cmd = commands.add_parser(
        "clean", help="delete the build cache (one profile or all) and the report"
    )
    clean_cmd.add_argument("--profile", default=None, help="only this profile's cache")
    commands.add_parser("tasks", help="list tasks with their parameters per profile")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    project = Project(args.root.resolve())
    try:
        return _COMMANDS[args.command](project, args)
    except BuildInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except RenderError as error:
        print(f"error: the report could not be rendered: {error}", file=sys.stderr)
        return EXIT_RENDER_FAILED


def _build(project: Project, args: argparse.Namespace) -> int:
    only = [args.task] if args.command == "run" else args.only
    check_profile(args.profile)
    if only:
        check_task_names(project.graph, only)
    overrides = parse_overrides(project.graph, args.assignments)
    check_reference_file(project.root)
    started = time.perf_counter()
    result = build(
        project,
        args.profile,
        only=only,
        force=args.force,
        keep_going=not args.fail_fast,
        overrides=overrides,
        stream=not args.quiet,
    )
    if not args.no_render:
        outputs = publish(project, result.as_record())
        print(
            f"report: {', '.join(str(path.relative_to(project.root)) for path in outputs)}",
            file=sys.stderr,
        )
    _print_outcomes(result.as_record())
    print(f"done in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_TASK_FAILED


def _print_outcomes(record: dict) -> None:
    for name, outcome in record["tasks"].items():
        runtime = f"{outcome['runtime_s']:.1f}s" if outcome.get("runtime_s") is not None else "-"
        detail = ""
        if outcome.get("error"):
            detail = f"  {outcome['error']['error']}: {outcome['error']['message']}"
        elif outcome.get("blocked_by"):
            detail = f"  (needs {', '.join(outcome['blocked_by'])})"
        print(f"{name:4} {outcome['status']:9} {runtime:>8}{detail}", file=sys.stderr)


def _render(project: Project, args: argparse.Namespace) -> int:
    check_profile(args.profile)
    record = BuildStore.for_profile(project.build_dir, args.profile).run_record()
    if record is None:
        raise BuildInputError(
            f"no build of profile {args.profile!r} yet: run `python -m lazy_artist build --profile {args.profile}` first"
        )
    check_reference_file(project.root)
    outputs = publish(project, record)
    print(
        f"report: {', '.join(str(path.relative_to(project.root)) for path in outputs)}",
        file=sys.stderr,
    )
    return EXIT_OK


def _status(project: Project, args: argparse.Namespace) -> int:
    check_profile(args.profile)
    store = BuildStore.for_profile(project.build_dir, args.profile)
    record = store.run_record() or {"tasks": {}}
    for task in project.graph:
        stored = store.completed_record(task.name)
        last = record["tasks"].get(task.name, {})
        current = "fresh" if stored and stored.get("key") == last.get("key") else "stale or absent"
        print(
            f"{task.name:4} last build: {last.get('status', 'never built'):9} stored result: "
            f"{'yes (' + str(stored.get('finished_at')) + ')' if stored else 'none'}; {current}"
        )
    return EXIT_OK


def _clean(project: Project, args: argparse.Namespace) -> int:
    if args.profile:
        check_profile(args.profile)
        BuildStore.for_profile(project.build_dir, args.profile).clean()
    else:
        shutil.rmtree(project.build_dir, ignore_errors=True)
    for generated in project.report_dir.glob("*"):
        if generated.name != "README.md":
            shutil.rmtree(generated) if generated.is_dir() else generated.unlink()
    print("cleaned", file=sys.stderr)
    return EXIT_OK


def _tasks(project: Project, args: argparse.Namespace) -> int:
    for task in project.graph:
        print(
            f"{task.name}: {task.title}  [{task.notebook}]  needs: {', '.join(task.depends) or 'nothing'}"
        )
        for profile in PROFILES:
            print(f"  {profile}: {json.dumps(resolve_params(task, profile))}")
    return EXIT_OK


_COMMANDS = {
    "build": _build,
    "run": _build,
    "render": _render,
    "status": _status,
    "clean": _clean,
    "tasks": _tasks,
}
