"""Command line: ``python -m lazy_artist {build,run,render,status,clean,tasks,data,diff}``.

Exit codes: 0 everything complete or cached; 1 a task failed or was blocked (the report is
still written); 2 bad input (or, for ``data``, a data source missing), rejected before any
work; 3 the report could not be rendered.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import math
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

from lazy_artist.builder.build import build, select_tasks
from lazy_artist.builder.changes import compare_summaries, load_summary
from lazy_artist.builder.lock import build_lock, release_all
from lazy_artist.builder.param_help import parameter_help
from lazy_artist.builder.params import (
    BuildInputError,
    check_profile,
    check_task_names,
    parse_overrides,
    resolve_params,
)
from lazy_artist.builder.project import BUILDER_BUILD_ENTRIES, Project
from lazy_artist.builder.publish import publish
from lazy_artist.builder.references import check_reference_file
from lazy_artist.builder.render import RenderError
from lazy_artist.builder.store import BuildStore, StoredRecordError
from lazy_artist.builder.tasks import PROFILES, TaskGraph
from lazy_artist.study import STUDY_TASKS
from lazy_artist.study.provision import needed_datasets, provision

EXIT_OK, EXIT_TASK_FAILED, EXIT_BAD_INPUT, EXIT_RENDER_FAILED = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


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
            "--force",
            action="store_true",
            help="re-run the named tasks (every task without --only) even if cached; their "
            "dependencies stay cached and T4 still reuses its memoised runs",
        )
        command.add_argument(
            "--force-all",
            action="store_true",
            help="re-run the named tasks and every task they need, even if cached",
        )
        command.add_argument(
            "--retrain",
            nargs="?",
            const="all",
            default=None,
            metavar="METHODS",
            help="retrain T4's memoised runs: all of them, or only these methods' runs "
            "(e.g. --retrain cf_invar,erm); T4 re-runs",
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
        command.add_argument(
            "--timeout-s",
            type=float,
            default=None,
            metavar="SECONDS",
            help="fail a task whose notebook cell runs longer than this (default per task and "
            "profile; one task: --set TASK.timeout_s=SECONDS)",
        )
        command.add_argument(
            "--jobs",
            type=int,
            default=None,
            metavar="N",
            help="training runs at once inside T4's and T7's grids (0 = one per core, 1 = "
            "serial; same numbers); sets TASK.jobs unless --set TASK.jobs is given",
        )
        command.add_argument(
            "--tasks",
            type=int,
            default=1,
            metavar="N",
            help="independent tasks run at once (default 1; worth raising on machines with more "
            "cores than one task's grid uses; same numbers)",
        )
        command.add_argument(
            "--executor",
            choices=("auto", "local", "ray"),
            default=None,
            help="engine of T4's runs: local processes, or Ray (pip install ray; 'auto' picks "
            "Ray when RAY_ADDRESS is set); sets t4.executor unless --set gives it",
        )
        add_lock_options(command)
        command.add_argument(
            "--skip",
            nargs="+",
            default=[],
            metavar="TASK",
            help="leave these tasks out (e.g. --skip t7); a task others need cannot be skipped",
        )
        add_baseline_option(command)

    def add_lock_options(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--no-wait",
            action="store_true",
            help="if another build of the profile is running, exit (2) instead of waiting",
        )
        command.add_argument(
            "--lock-timeout",
            type=float,
            default=None,
            metavar="SECONDS",
            help="wait at most this long for another build of the profile (default: no limit)",
        )

    def add_baseline_option(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--baseline",
            type=Path,
            default=None,
            metavar="SUMMARY_JSON",
            help="compare with this summary.json (default: the previous build of the profile)",
        )

    build_cmd = commands.add_parser(
        "build", help="run every task that needs it, then write the report"
    )
    build_cmd.add_argument(
        "--only", nargs="+", default=None, metavar="TASK", help="these tasks (and what they need)"
    )
    add_build_options(build_cmd)
    build_cmd.add_argument(
        "--dry-run",
        action="store_true",
        help="say which tasks would run and why (what changed), running nothing",
    )
    run_cmd = commands.add_parser(
        "run", help="run one task (and what it needs), then write the report"
    )
    run_cmd.add_argument("task")
    add_build_options(run_cmd)
    render_cmd = commands.add_parser(
        "render", help="re-write the report from the last build, running nothing"
    )
    render_cmd.add_argument("--profile", default="full")
    add_lock_options(render_cmd)
    add_baseline_option(render_cmd)
    data_cmd = commands.add_parser(
        "data",
        help="check (with --install: provide) the data the selected tasks read, before a build",
    )
    data_cmd.add_argument(
        "--install",
        action="store_true",
        help="install what is missing where this machine allows it (apt-get, as root)",
    )
    data_cmd.add_argument("--only", nargs="+", default=None, metavar="TASK")
    # The build options too, so that `nox -s report -- ARGS` can hand the same ARGS to both.
    add_build_options(data_cmd)
    diff_cmd = commands.add_parser(
        "diff", help="what changed between two summary.json files (the report's changes table)"
    )
    diff_cmd.add_argument("before", type=Path)
    diff_cmd.add_argument("after", type=Path)
    status_cmd = commands.add_parser(
        "status",
        help="recompute every task's key and say whether it is cached or will run, and why",
    )
    status_cmd.add_argument("--profile", default="full")
    status_cmd.add_argument("--only", nargs="+", default=None, metavar="TASK")
    status_cmd.add_argument("--skip", nargs="+", default=[], metavar="TASK")
    status_cmd.add_argument(
        "--set", dest="assignments", action="append", default=[], metavar="TASK.NAME=VALUE"
    )
    clean_cmd = commands.add_parser(
        "clean", help="delete the build cache (one profile or all) and the report"
    )
    clean_cmd.add_argument("--profile", default=None, help="only this profile's cache")
    add_lock_options(clean_cmd)
    commands.add_parser("tasks", help="list tasks with their parameters per profile")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    project = Project(args.root.resolve(), STUDY_TASKS)
    # Signal handlers can only be set from the main thread (a caller's worker thread keeps
    # the KeyboardInterrupt path below).
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous_handler = (
        signal.signal(signal.SIGINT, _on_interrupt(project)) if in_main_thread else None
    )
    try:
        # The profile is checked once, here, for every command that takes one; the commands
        # and everything they call take it as checked (clean without one means every profile).
        if getattr(args, "profile", None) is not None:
            check_profile(args.profile)
        return _COMMANDS[args.command](project, args)
    except BuildInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except StoredRecordError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except RenderError as error:
        print(f"error: the report could not be rendered: {error}", file=sys.stderr)
        return EXIT_RENDER_FAILED
    except OSError as error:
        print(f"error: {_os_error_line(error)}", file=sys.stderr)
        return EXIT_RENDER_FAILED
    except KeyboardInterrupt:  # raised where the handler was not installed (another thread)
        _stop_child_processes()
        print(INTERRUPTED_LINE, file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, previous_handler)
        release_all()


INTERRUPTED_LINE = (
    "interrupted: the notebook kernel was stopped and the run in progress discarded; every "
    "result committed before it is kept (run the same command again to resume)"
)


def _on_interrupt(project: Project):
    """Ctrl-C: stop the kernel, drop this process's staging, say so in one line and exit 130.

    Exiting here, instead of unwinding a KeyboardInterrupt through papermill's event loop,
    spares the user the tracebacks of its half-shut-down sockets. Nothing committed is at
    risk: commits are renames, and the next build restores a result caught mid-commit.
    """

    def handler(signum: int, frame: object) -> None:
        _stop_child_processes()
        for staging in project.build_dir.glob(f"*/.staging/*-{os.getpid()}-*"):
            shutil.rmtree(staging, ignore_errors=True)
        sys.stderr.write(INTERRUPTED_LINE + "\n")
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)

    return handler


def _os_error_line(error: OSError) -> str:
    """One line: what could not be written or read, and what to do about it."""
    path = error.filename or "an output path"
    reason = error.strerror or str(error)
    if error.errno == errno.ENOSPC:
        fix = "free some disk space and run again"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = f"make {path} writable (or pass --root to a writable copy) and run again"
    elif error.errno in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
        fix = f"a file or directory is in the way at {path}: move it aside and run again"
    elif error.errno == errno.ENOENT:
        fix = f"{path} is missing: check the path (or run `python -m lazy_artist clean`) and run again"
    else:
        fix = "fix the path and run again"
    return f"cannot write or read {path}: {reason}: {fix}"


def _stop_child_processes(grace_s: float = 3.0) -> None:
    """Stop the notebook kernel (and any other child) of this process: SIGTERM, then SIGKILL
    after ``grace_s``. jupyter starts kernels in their own session, so the terminal's Ctrl-C
    never reaches them; left alone they would keep computing in the background."""
    me = os.getpid()
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 1 and int(fields[1]) == me:
            children.append(int(stat.parent.name))
    for pid in children:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while children and time.monotonic() < deadline:
        for pid in list(children):
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0] == 0:
                    continue
            children.remove(pid)
        time.sleep(0.05)
    for pid in children:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def _build(project: Project, args: argparse.Namespace) -> int:
    only = [args.task] if args.command == "run" else args.only
    if only:
        check_task_names(project.graph, only)
    assignments, timeouts = _timeouts(
        project.graph, _with_run_options(project.graph, args), args.timeout_s
    )
    overrides = parse_overrides(project.graph, assignments)
    check_reference_file(project.root)
    if args.baseline:
        load_summary(args.baseline)  # a missing or malformed baseline stops before any work
    if getattr(args, "dry_run", False):
        return _print_plan(
            project,
            args.profile,
            only=only,
            skip=args.skip,
            overrides=overrides,
            force=args.force,
            force_all=args.force_all,
            retrain=_retrain(args.retrain),
        )
    started = time.perf_counter()
    result = build(
        project,
        args.profile,
        only=only,
        force=args.force,
        force_all=args.force_all,
        retrain=_retrain(args.retrain),
        keep_going=not args.fail_fast,
        overrides=overrides,
        stream=not args.quiet,
        skip=args.skip,
        wait=not args.no_wait,
        lock_timeout_s=args.lock_timeout,
        keep_lock=True,  # held through publish; main() releases it
        timeouts=timeouts,
        tasks_at_once=args.tasks,
    )
    if not args.no_render:
        outputs = publish(project, result.as_record(), baseline=args.baseline)
        print(
            f"report: {', '.join(str(path.relative_to(project.root)) for path in outputs)}",
            file=sys.stderr,
        )
    _print_outcomes(result.as_record())
    print(f"done in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_TASK_FAILED


def _with_run_options(graph: TaskGraph, args: argparse.Namespace) -> list[str]:
    """``--set`` assignments plus ``--jobs`` / ``--executor`` as the parameters of every task
    that declares them (T4's and T7's grids, T5's and T6's models; an explicit
    ``--set TASK.jobs=...`` wins)."""
    assignments = list(args.assignments)
    for param in ("jobs", "executor"):
        value = getattr(args, param)
        if value is None:
            continue
        for task in graph:
            given = any(a.partition("=")[0].strip() == f"{task.name}.{param}" for a in assignments)
            if param in task.params and not given:
                assignments.append(f"{task.name}.{param}={value}")
    return assignments


def _timeouts(
    graph: TaskGraph, assignments: list[str], timeout_s: float | None
) -> tuple[list[str], dict[str, float]]:
    """Per-task cell time limits from ``--timeout-s`` (every task) and ``--set TASK.timeout_s=S``
    (a builder setting, not a notebook parameter), and the remaining ``--set`` assignments."""
    timeouts: dict[str, float] = {}
    if timeout_s is not None:
        if not (math.isfinite(timeout_s) and timeout_s > 0):
            raise BuildInputError(f"--timeout-s {timeout_s:g}: give a positive number of seconds")
        timeouts = dict.fromkeys(graph.names(), timeout_s)
    rest = []
    for assignment in assignments:
        target, _, raw = assignment.partition("=")
        task, _, name = target.strip().partition(".")
        if name.strip() != "timeout_s":
            rest.append(assignment)
            continue
        check_task_names(graph, [task])
        try:
            seconds = float(raw)
        except ValueError:
            seconds = math.nan
        if not (math.isfinite(seconds) and seconds > 0):
            raise BuildInputError(f"--set {assignment}: timeout_s is a positive number of seconds")
        timeouts[task] = seconds
    return rest, timeouts


def _retrain(value: str | None) -> str | list[str] | None:
    """``--retrain``: ``"all"`` or registered method names (checked before any work)."""
    if value is None:
        return None
    if value.strip() == "all":
        return "all"
    from lazy_artist.methods.ranking import resolve_method_names  # imports torch: only here

    try:
        return resolve_method_names(value)
    except ValueError as error:
        raise BuildInputError(f"--retrain: {error}") from None


def _print_outcomes(record: dict) -> None:
    for name, outcome in record["tasks"].items():
        runtime = f"{outcome['runtime_s']:.1f}s" if outcome.get("runtime_s") is not None else "-"
        detail = ""
        if outcome.get("error"):
            # The first line only: the full message (and traceback) was printed as it happened.
            first_line = (outcome["error"]["message"] or "").splitlines()[:1]
            detail = f"  {outcome['error']['error']}: {''.join(first_line)}"
        elif outcome.get("blocked_by"):
            detail = f"  (needs {', '.join(outcome['blocked_by'])})"
        print(f"{name:4} {outcome['status']:9} {runtime:>8}{detail}", file=sys.stderr)


def _render(project: Project, args: argparse.Namespace) -> int:
    project.check_project("write the report")
    store = BuildStore.for_profile(project.build_dir, args.profile)
    if store.run_record() is None:
        raise BuildInputError(
            f"no build of profile {args.profile!r} yet: run `python -m lazy_artist build --profile {args.profile}` first"
        )
    # A build of the profile may be committing: read its record once it is done.
    build_lock(store.root, wait=not args.no_wait, timeout_s=args.lock_timeout, say=_say)
    record = store.run_record()
    check_reference_file(project.root)
    if args.baseline:
        load_summary(args.baseline)  # a missing or malformed baseline stops before any work
    outputs = publish(project, record, baseline=args.baseline)
    print(
        f"report: {', '.join(str(path.relative_to(project.root)) for path in outputs)}",
        file=sys.stderr,
    )
    return EXIT_OK


def _status(project: Project, args: argparse.Namespace) -> int:
    overrides = parse_overrides(project.graph, args.assignments)
    # Not needed to answer, but a malformed record is named here rather than at the next render.
    BuildStore.for_profile(project.build_dir, args.profile).run_record()
    return _print_plan(project, args.profile, only=args.only, skip=args.skip, overrides=overrides)


def _print_plan(project: Project, profile: str, **options) -> int:
    """One line per task: ``cached``, or ``will run: <which input changed>`` (builder/explain.py),
    then, for a task with a ``run_plan`` hook (T4), its runs to train and why, indented."""
    from lazy_artist.builder.explain import plan

    for task in plan(project, profile, **options):
        print("\n".join(task.lines()))
    return EXIT_OK


def _clean(project: Project, args: argparse.Namespace) -> int:
    """Delete only what the builder made, and only inside a lazy-artist project."""
    project.check_project("delete anything")
    removed: list[Path] = []
    for profile in [args.profile] if args.profile else list(PROFILES):
        store = BuildStore.for_profile(project.build_dir, profile)
        if store.root.is_dir():
            with build_lock(
                store.root, wait=not args.no_wait, timeout_s=args.lock_timeout, say=_say
            ):
                store.clean()
            removed.append(store.root)
    if not args.profile:
        for name in BUILDER_BUILD_ENTRIES:
            entry = project.build_dir / name
            if entry.exists():
                _remove(entry)
                removed.append(entry)
    for entry in project.generated_report_entries():
        _remove(entry)
        removed.append(entry)
    names = ", ".join(str(path.relative_to(project.root)) for path in removed) or "nothing to clean"
    print(f"cleaned: {names}", file=sys.stderr)
    return EXIT_OK


def _remove(entry: Path) -> None:
    shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _data(project: Project, args: argparse.Namespace) -> int:
    selected = select_tasks(project.graph, args.only, args.skip)
    overrides = parse_overrides(project.graph, _timeouts(project.graph, args.assignments, None)[0])
    data_roots = {
        name: project.root
        / str(resolve_params(project.graph[name], args.profile, overrides)["data_root"])
        for name in selected
    }
    found = provision(needed_datasets(project.graph, selected), data_roots, install=args.install)
    for name, location in found.items():
        print(f"data: {name}: {location}", file=sys.stderr)
    return EXIT_OK


def _diff(project: Project, args: argparse.Namespace) -> int:
    changes = compare_summaries(load_summary(args.before), load_summary(args.after))
    print(changes.as_text())
    return EXIT_OK


def _tasks(project: Project, args: argparse.Namespace) -> int:
    default = "full" if "full" in PROFILES else next(iter(PROFILES))
    others = [profile for profile in PROFILES if profile != default]
    print(
        f"name = value ({default} profile)  (other profiles where they differ)  # help; "
        "takes: its range"
    )
    for task in project.graph:
        print(
            f"{task.name}: {task.title}  [{task.notebook}]  needs: {', '.join(task.depends) or 'nothing'}"
        )
        helps = parameter_help(project.notebook(task.name))
        ranges = task.all_ranges()
        values = {profile: resolve_params(task, profile) for profile in PROFILES}
        for name, value in values[default].items():
            differ = [
                f"{profile}: {json.dumps(values[profile][name])}"
                for profile in others
                if values[profile][name] != value
            ]
            line = f"  {name} = {json.dumps(value)}"
            line += f"  ({'; '.join(differ)})" if differ else ""
            notes = [helps[name]] if name in helps else []
            notes += [f"takes {ranges[name].text}"] if name in ranges else []
            line += f"  # {'; '.join(notes)}" if notes else ""
            print(line)
    return EXIT_OK


_COMMANDS = {
    "build": _build,
    "run": _build,
    "render": _render,
    "status": _status,
    "clean": _clean,
    "tasks": _tasks,
    "data": _data,
    "diff": _diff,
}
