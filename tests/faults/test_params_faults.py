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
        ("t5.schedule=zigzag", 'task t5: schedule must be one of "constant", "cosine", "halving"'),
        ("t6.min_fve=1.5", "task t6: min_fve must be a fraction in [0, 1], got 1.5"),
        ("t4.oracle_tolerance=-0.5", "task t4: oracle_tolerance must be a fraction in [0, 1]"),
        ("t0.seed=-1", "task t0: seed must be an integer >= 0, got -1"),
        ("t3.seed=-7", "task t3: seed must be an integer >= 0, got -7"),
        ("t0.n_train=true", "task t0: n_train must be null (every training image not held out) or"),
        ("t0.n_train=60000", "an integer >= 1 and <= 59999 (and <= 60000 - n_val), got 60000"),
        (
            "t0.n_test=50000",
            "task t0: n_test must be null (every test image) or an integer >= 1 and",
        ),
        (
            "t4.train_subset=100000",
            "task t4: train_subset must be null (all of T0's training images)",
        ),
    ],
)
def test_bad_values_exit_2_before_any_work(checkout, capsys, assignment, message):
    argv = ["--root", str(checkout), "build", "--profile", "quick", "--set", assignment]
    assert main(argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (checkout / "build" / "quick").exists(), "no work may start on bad input"
    assert not (checkout / "report" / "report.qmd").exists()
