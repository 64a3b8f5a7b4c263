"""Run a task graph's tasks, up to N at once, each as soon as what it needs is settled.

The build decides each task (key, cache, blocked, data) only once every dependency has an
outcome, in dependency order, and runs the tasks that need running: one after another in this
thread when N is 1, otherwise in up to N worker threads (each task is a notebook executed by
its own kernel process, so threads only wait on kernels). Tasks are decided in dependency
order, each as late as possible (when a slot is free), so N = 1 is exactly the serial build.

A task whose dependency failed is decided after that failure (blocked); ``proceed`` lets the
build stop starting new tasks (``--keep-going`` off) while the running ones finish.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence

from lazy_artist.builder.params import BuildInputError
from lazy_artist.builder.tasks import Task


def check_tasks_at_once(tasks_at_once: int) -> int:
    if isinstance(tasks_at_once, bool) or not isinstance(tasks_at_once, int) or tasks_at_once < 1:
        raise BuildInputError(
            f"--tasks must be an integer >= 1 (tasks run at once), got {tasks_at_once!r}"
        )
    return tasks_at_once


def schedule(
    order: Sequence[Task],
    decide: Callable[[Task], bool],
    execute: Callable[[Task], None],
    tasks_at_once: int = 1,
    on_start: Callable[[Task, list[str]], None] | None = None,
    on_finish: Callable[[Task, list[str]], None] | None = None,
    proceed: Callable[[], bool] = lambda: True,
) -> list[str]:
    """Decide every task of ``order`` (a dependency order) once its dependencies are settled,
    and execute those ``decide`` says to run, at most ``tasks_at_once`` at a time. Returns the
    names in the order they started. An error raised by ``execute`` stops the schedule and is
    raised here once the running tasks have finished."""
    check_tasks_at_once(tasks_at_once)
    pending = list(order)
    settled: set[str] = set()
    waiting: list[Task] = []  # decided to run, waiting for a free slot
    running: dict[str, threading.Thread] = {}
    finished: queue.Queue[tuple[Task, BaseException | None]] = queue.Queue()
    started: list[str] = []
    failure: BaseException | None = None

    def work(task: Task) -> None:
        try:
            execute(task)
        except BaseException as error:  # handed to the scheduling thread, which raises it
            finished.put((task, error))
        else:
            finished.put((task, None))

    def settle(task: Task) -> None:
        settled.add(task.name)
        if on_finish is not None:
            on_finish(task, list(running))

    while pending or waiting or running:
        for task in list(pending):
            if len(running) + len(waiting) >= tasks_at_once:
                break  # decide the rest once a slot frees: as late as possible, in order
            if all(dep in settled for dep in task.depends):
                pending.remove(task)
                if decide(task):
                    waiting.append(task)
                else:
                    settled.add(task.name)
        while waiting and len(running) < tasks_at_once and failure is None:
            task = waiting.pop(0)
            if not proceed():
                settled.add(task.name)  # a failure stopped the build: it stays "not run"
                continue
            started.append(task.name)
            if tasks_at_once == 1:  # in this thread: Ctrl-C reaches the running task directly
                if on_start is not None:
                    on_start(task, [task.name])
                execute(task)
                settle(task)
                continue
            running[task.name] = threading.Thread(
                target=work, args=(task,), name=f"task-{task.name}", daemon=True
            )
            if on_start is not None:
                on_start(task, list(running))
            running[task.name].start()
        if failure is not None and not running:
            raise failure
        if not running:
            if (
                pending
                and not waiting
                and not any(all(dep in settled for dep in task.depends) for task in pending)
            ):
                raise RuntimeError(f"tasks {[t.name for t in pending]} can never become ready")
            continue
        task, error = finished.get()
        running.pop(task.name).join()
        if error is not None and failure is None:
            failure = error
        settle(task)
    if failure is not None:
        raise failure
    return started
