"""The executor: runs trained by a process pool are bit-identical to the same runs trained one
after another, the driver alone writes the memo, memo hits are never dispatched, and bad
settings fail with one clear line."""

from __future__ import annotations

import dataclasses
import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from lazy_artist.methods import executor
from lazy_artist.methods.executor import (
    RunRequest,
    check_executor,
    fit_many,
    resolve_executor,
)
from lazy_artist.methods.grid import plan_runs, run_grid
from lazy_artist.methods.memo import RunMemo
from lazy_artist.methods.recipes import RECIPES
from lazy_artist.parallel import ITEM_THREADS, resolve_workers
from tests.methods.test_algorithms import tiny_canvas

RECIPE = dataclasses.replace(RECIPES["cheater_cnn"], width=4, epochs=1, batch_size=64)
WALL_CLOCK = {"seconds", "train_seconds", "eval_seconds"}  # the only fields allowed to differ


def make_canvas():
    """The module's canvas (deterministic, so the Ray child process rebuilds the same one)."""
    return tiny_canvas(n_train=256)


@pytest.fixture(scope="module")
def canvas():
    return make_canvas()


def _requests() -> list[RunRequest]:
    return [RunRequest(m, "c", RECIPE, s) for m in ("erm", "cf_invar") for s in (0, 1)]


def _timeless(value: Any) -> Any:
    """``value`` with every wall-clock field dropped, at any depth."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if k not in WALL_CLOCK}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def _assert_same_runs(first, second, reused: bool = False) -> None:
    assert len(first) == len(second)
    for (alg_a, res_a), (alg_b, res_b) in zip(first, second, strict=True):
        record_b = res_b.as_dict()
        if reused:  # a memo hit says so, and under which key
            assert record_b["extra"].pop("reused") is True and record_b["extra"].pop("memo_key")
        assert _timeless(res_a.as_dict()) == _timeless(record_b)
        assert set(alg_a.rule_states) == set(alg_b.rule_states)
        for rule, state in alg_a.rule_states.items():
            for name, tensor in state.items():
                assert torch.equal(tensor, alg_b.rule_states[rule][name]), (rule, name)
        for name, tensor in alg_a.network.state_dict().items():
            assert torch.equal(tensor.cpu(), alg_b.network.state_dict()[name].cpu()), name


@pytest.fixture(scope="module")
def serial(canvas):
    return fit_many(_requests(), {"c": canvas}, jobs=1, executor="local")


def test_two_workers_give_the_serial_numbers_bit_for_bit(canvas, serial, tmp_path):
    memo = RunMemo(tmp_path / "memo")
    parallel = fit_many(_requests(), {"c": canvas}, memo=memo, jobs=2, executor="local")
    _assert_same_runs(serial, parallel)
    # Two seeds of one method really differ: the comparison above can fail.
    seed0, seed1 = (next(iter(alg.network.state_dict().values())) for alg, _ in serial[:2])
    assert not torch.equal(seed0, seed1)
    # The driver wrote one entry per run: a second pass finds them all and dispatches nothing.
    assert memo.misses == 4 and len(_entries(tmp_path / "memo")) == 4

    def no_dispatch(*args, **kwargs):
        raise AssertionError("a memo hit was sent to a worker")

    again = RunMemo(tmp_path / "memo")
    original = executor._run_pool
    executor._run_pool = no_dispatch
    try:
        reused = fit_many(_requests(), {"c": canvas}, memo=again, jobs=2, executor="local")
    finally:
        executor._run_pool = original
    assert again.hits == 4 and all(result.extra.get("reused") for _, result in reused)
    _assert_same_runs(serial, reused, reused=True)

    # One entry lost: only that run trains, here (one run needs no pool), to the same numbers.
    lost = serial[2][1]  # cf_invar, seed 0
    shutil.rmtree(next(p for p in _entries(tmp_path / "memo") if _about(p) == ("cf_invar", 0)))
    third = RunMemo(tmp_path / "memo")
    executor._run_pool = no_dispatch
    try:
        refit = fit_many(_requests(), {"c": canvas}, memo=third, jobs=2, executor="local")
    finally:
        executor._run_pool = original
    assert (third.hits, third.misses) == (3, 1) and "reused" not in refit[2][1].extra
    _assert_same_runs(serial[2:3], refit[2:3])
    assert _timeless(refit[2][1].as_dict()) == _timeless(lost.as_dict())


def _entries(memo_dir) -> list:
    """The memo's entries (``<key[:2]>/<key>``; the key-parts sidecars under .parts/ aside)."""
    return list(memo_dir.glob("[0-9a-f][0-9a-f]/*"))


def _about(entry) -> tuple[str, int]:
    about = json.loads((entry / "key.json").read_text())
    return about["method"], about["seed"]


def test_run_grid_records_do_not_depend_on_jobs(canvas, serial):
    specs = plan_runs(["erm", "cf_invar"], ["cheater_cnn"], [0, 1])
    records = run_grid(
        specs, canvas, {"cheater_cnn": RECIPE}, probe_images=50, jobs=2, executor="local"
    )
    by_request = {(r.method, r.seed): run for r, run in zip(_requests(), serial, strict=True)}
    for spec in specs:
        record = records[spec.key]
        _assert_same_runs(
            [by_request[(spec.method, spec.seed)]], [(record.algorithm, record.result)]
        )


def test_serial_runs_use_the_pinned_thread_count_and_restore_it(canvas):
    before = torch.get_num_threads()
    seen = []
    original = executor.fit_recipe

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    executor.fit_recipe = spy
    try:
        fit_many(_requests()[:1], {"c": canvas}, jobs=1, executor="local")
    finally:
        executor.fit_recipe = original
    assert seen == [ITEM_THREADS] and torch.get_num_threads() == before


def test_workers_and_engines_are_checked_before_any_work(monkeypatch, canvas):
    assert resolve_workers(0, 10, cores=2) == 2
    assert resolve_workers(0, 1, cores=8) == 1, "never more workers than runs"
    assert resolve_workers(3, 10, cores=2) == 3 and resolve_workers(1, 10, cores=8) == 1
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="jobs must be an integer >= 0"):
            resolve_workers(bad, 4)
    with pytest.raises(ValueError, match="executor must be one of auto, local, ray"):
        resolve_executor("dask")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert resolve_executor("auto") == "local"
    monkeypatch.setenv("RAY_ADDRESS", "ray://head:10001")
    assert resolve_executor("auto") == "ray"
    with pytest.raises(ValueError, match=r"not among \['c'\]"):
        fit_many([RunRequest("erm", "elsewhere", RECIPE, 0)], {"c": canvas})


def test_ray_not_installed_names_the_install_command(monkeypatch, canvas):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(RuntimeError, match="pip install ray"):
        check_executor("ray")
    with pytest.raises(RuntimeError, match="pip install ray"):
        fit_many(_requests()[:2], {"c": canvas}, jobs=2, executor="ray")


def test_jobs_is_a_t4_parameter_checked_up_front_and_left_out_of_the_cache_key():
    import argparse

    from lazy_artist.builder.params import BuildInputError, check_params, resolve_params
    from lazy_artist.cli import _with_run_options
    from lazy_artist.study import STUDY_TASKS

    t4 = STUDY_TASKS["t4"]
    params = resolve_params(t4, "quick", {"t4": {"jobs": 2}})
    assert params["jobs"] == 2 and params["executor"] == "auto"
    assert "jobs" not in t4.key_params(params) and "executor" not in t4.key_params(params)
    assert t4.key_params(params) == t4.key_params(resolve_params(t4, "quick", {})), (
        "a serial and a parallel build share the task's cache key"
    )
    for bad, message in (
        ({"jobs": -1}, "jobs must be an integer >= 0"),
        ({"executor": "dask"}, "executor must be one of"),
    ):
        with pytest.raises(BuildInputError, match=message):
            check_params(STUDY_TASKS, ["t4"], {"t4": resolve_params(t4, "quick", {"t4": bad})})
    # --jobs / --executor become the parameters of every task declaring them (T4's and T7's
    # grids, T5's and T6's models) unless --set already gives them.
    args = argparse.Namespace(assignments=["t1.epochs=2"], jobs=2, executor="local")
    assert _with_run_options(STUDY_TASKS, args) == [
        "t1.epochs=2",
        "t4.jobs=2",
        "t5.jobs=2",
        "t7.jobs=2",
        "t6.jobs=2",
        "t4.executor=local",
    ]
    args = argparse.Namespace(assignments=["t4.jobs=1"], jobs=3, executor=None)
    assert _with_run_options(STUDY_TASKS, args) == [
        "t4.jobs=1",
        "t5.jobs=3",
        "t7.jobs=3",
        "t6.jobs=3",
    ]


def _ray_or_skip():
    """Ray, or a skip where it is not installed; in CI, where the test extra installs it, a
    missing Ray fails instead of skipping silently."""
    import importlib.metadata
    import os

    try:
        import ray
    except ImportError:
        try:
            extra = importlib.metadata.requires("lazy-artist") or []
        except importlib.metadata.PackageNotFoundError:
            extra = []
        if os.environ.get("CI") and any(r.startswith("ray") and "test" in r for r in extra):
            pytest.fail("the test extra installs ray, but it is not importable here")
        pytest.skip("ray is not installed (pip install ray, or the test extra)")
    return ray


def ray_requests() -> list[RunRequest]:
    return _requests()[1:3]  # erm seed 1, cf_invar seed 0: two methods, two seeds


def _runs_on_ray(tmp_path) -> list:
    """The Ray runs, trained in a child process (ray_child): a raylet that dies ends its driver
    with exit 1 and no report, which in-process would end the whole test session. A child that
    dies is retried once, since that is Ray's start-up on a loaded machine, not our numbers."""
    out = tmp_path / "ray_runs.pkl"
    failures = []
    for _ in range(2):
        child = subprocess.run(
            [sys.executable, "-m", "tests.methods.ray_child", str(out)],
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if child.returncode == 0:
            return pickle.loads(out.read_bytes())
        failures.append(f"exit {child.returncode}: {child.stderr[-2000:]}")
    pytest.fail("the Ray child process failed twice:\n" + "\n---\n".join(failures))


def test_ray_gives_the_local_pools_numbers(canvas, serial, tmp_path):
    _ray_or_skip()
    two = ray_requests()
    pool = fit_many(two, {"c": canvas}, jobs=2, executor="local")
    on_ray = _runs_on_ray(tmp_path)
    _assert_same_runs(pool, on_ray)
    _assert_same_runs(serial[1:3], on_ray)
