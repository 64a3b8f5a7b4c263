"""Bad parameter values exit 2 before any work, naming the parameter and what is allowed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lazy_artist.cli import EXIT_BAD_INPUT, main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("faults") / "checkout"
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(REPO / "analyses", root / "analyses")
    return root


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("t7.lr=NaN", "bad parameter 't7.lr=NaN': t7.lr must be a finite number"),
        ("t6.lr=Infinity", "t6.lr must be a finite number"),
        ("t2.actmax_lr=-Infinity", "t2.actmax_lr must be a finite number"),
        ("t5.schedule=zigzag", "task t5: unknown step schedule 'zigzag': choose from"),
        ("t6.min_fve=1.5", "task t6: min_fve must be a fraction in [0, 1], got 1.5"),
        ("t4.oracle_tolerance=-0.5", "task t4: oracle_tolerance must be a fraction in [0, 1]"),
        ("t0.seed=-1", "task t0: seed must be an integer >= 0, got -1"),
        ("t3.seed=-7", "task t3: seed must be an integer >= 0, got -7"),
        ("t0.n_train=true", "task t0: n_train must be an integer >= 1 and <= 59000"),
        ("t0.n_train=60000", "task t0: n_train must be an integer >= 1 and <= 59000"),
        ("t0.n_test=50000", "task t0: n_test must be an integer >= 1 and <= 10000"),
        ("t4.train_subset=100000", "task t4: train_subset must be an integer >= 1 and <= 60000"),
    ],
)
def test_bad_values_exit_2_before_any_work(checkout, capsys, assignment, message):
    argv = ["--root", str(checkout), "build", "--profile", "quick", "--set", assignment]
    assert main(argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (checkout / "build" / "quick").exists(), "no work may start on bad input"
    assert not (checkout / "report" / "report.qmd").exists()
