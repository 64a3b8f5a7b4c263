"""The scheduler: dependency order, as-late-as-possible decisions, real concurrency when asked
(shown with events, not timings), failures raised after the running tasks finish."""

from __future__ import annotations

import threading

import pytest

from lazy_artist.builder.params import BuildInputError
from lazy_artist.builder.schedule import check_tasks_at_once, schedule
from lazy_artist.builder.tasks import Task, TaskGraph


def _graph() -> list[Task]:
    # a -> b -> d, a -> c; e independent (declared last)
    tasks = [
        Task("a", "A", "a.py"),
        Task("b", "B", "b.py", depends=("a",)),
        Task("c", "C", "c.py", depends=("a",)),
        Task("d", "D", "d.py", depends=("b",)),
        Task("e", "E", "e.py"),
    ]
    return list(TaskGraph(tasks))


def test_one_at_a_time_is_the_dependency_order_with_decisions_made_late():
    events = []

    def decide(task):
        events.append(f"decide {task.name}")
        return True

    def execute(task):
        events.append(f"run {task.name}")

    started = schedule(_graph(), decide, execute, 1)
    assert started == ["a", "b", "c", "d", "e"]
    # Each task is decided only after the one before it ran (a failure can still stop it).
    assert events[:4] == ["decide a", "run a", "decide b", "run b"]


def test_independent_tasks_really_run_at_once():
    # c waits until b has started: with one slot this would deadlock (guarded by a timeout).
    b_started = threading.Event()

    def execute(task):
        if task.name == "b":
            b_started.set()
        if task.name == "c":
            assert b_started.wait(timeout=30), "b and c did not overlap"

    started = schedule(_graph(), lambda task: True, execute, tasks_at_once=3)
    assert set(started) == {"a", "b", "c", "d", "e"}
    assert started.index("a") < started.index("b") < started.index("d")


def test_a_task_starts_only_after_its_dependencies_and_cached_ones_do_not_run():
    done = set()

    def decide(task):
        if task.name == "b":  # cached: settled without running
            done.add(task.name)
            return False
        return True

    def execute(task):
        assert set(task.depends) <= done, f"{task.name} started before {task.depends}"
        done.add(task.name)

    started = schedule(_graph(), decide, execute, tasks_at_once=4)
    assert "b" not in started and set(started) == {"a", "c", "d", "e"}


def test_an_execute_error_stops_new_work_and_is_raised_after_running_tasks_end():
    finished = []

    def execute(task):
        if task.name == "a":
            raise OSError("disk full")
        finished.append(task.name)

    with pytest.raises(OSError, match="disk full"):
        schedule(_graph(), lambda task: True, execute, tasks_at_once=2)
    assert "b" not in finished and "d" not in finished


def test_proceed_false_keeps_waiting_tasks_from_starting():
    ran = []
    stop = {"now": False}

    def execute(task):
        ran.append(task.name)
        stop["now"] = True  # e.g. a failure without --keep-going

    schedule(_graph(), lambda t: True, execute, 1, proceed=lambda: not stop["now"])
    assert ran == ["a"]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_the_slot_count_is_checked(bad):
    with pytest.raises(BuildInputError, match="--tasks must be an integer >= 1"):
        check_tasks_at_once(bad)
