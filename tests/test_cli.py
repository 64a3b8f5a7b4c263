"""Bad command-line input is rejected with a clear message before any work starts."""

import shutil
from pathlib import Path

import pytest

from lazy_artist.cli import EXIT_BAD_INPUT, main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def checkout(tmp_path) -> Path:
    root = tmp_path / "checkout"
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(REPO / "analyses", root / "analyses")
    return root


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "t9", "--profile", "quick"], "unknown task 't9': known tasks are t0, t1, t4"),
        (["build", "--only", "t1", "nope", "--profile", "quick"], "unknown task 'nope'"),
        (["build", "--profile", "huge"], "unknown profile 'huge': choose one of quick, full"),
        (["build", "--profile", "quick", "--set", "t1.epochs=many"], "expected int"),
        (
            ["build", "--profile", "quick", "--set", "t1.epoch=3"],
            "task t1 has no parameter 'epoch'",
        ),
        (["build", "--profile", "quick", "--set", "t1.device=tpu"], "unknown device 'tpu'"),
        (["render", "--profile", "quick"], "no build of profile 'quick' yet"),
    ],
)
def test_bad_input_is_rejected_before_any_work(checkout, capsys, argv, message):
    assert main(["--root", str(checkout), *argv]) == EXIT_BAD_INPUT
    assert message in capsys.readouterr().err
    assert not (checkout / "build" / "quick").exists(), "no work may start on bad input"
    assert not (checkout / "report" / "report.qmd").exists()


def test_outside_a_checkout_the_error_says_where_to_run(tmp_path, capsys):
    assert main(["--root", str(tmp_path), "build", "--profile", "quick"]) == EXIT_BAD_INPUT
    assert "run from the repository root or pass --root" in capsys.readouterr().err


def test_tasks_lists_parameters_per_profile(checkout, capsys):
    assert main(["--root", str(checkout), "tasks"]) == 0
    out = capsys.readouterr().out
    assert "t1: T1: the cheater" in out and "quick:" in out and "full:" in out


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("t4.methods=erm,magic", "unknown method(s) 'magic'"),
        ('t4.hparams={"cf_invar":{"lambda_cf":-1}}', "lambda_cf"),
        ('t4.hparams={"cf_invar":{"nonsense":1}}', "nonsense"),
        ('t4.hparams={"wizardry":{}}', "wizardry"),
        ("t4.bias_sweep=[0.95,1.5]", "bias_sweep"),
        ("t4.n_seeds=0", "n_seeds must be an integer >= 1"),
        ("t0.bias=1.2", "bias must be a fraction"),
        ("t1.model=resnet", "unknown model 'resnet'"),
    ],
)
def test_bad_method_and_hparam_values_are_rejected_before_training(
    checkout, capsys, assignment, message
):
    assert (
        main(["--root", str(checkout), "build", "--profile", "quick", "--set", assignment])
        == EXIT_BAD_INPUT
    )
    assert message in capsys.readouterr().err
    assert not (checkout / "build" / "quick").exists()
