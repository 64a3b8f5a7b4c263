"""Bad command-line input is rejected with a clear message before any work starts."""

import json
from pathlib import Path

import pytest

from lazy_artist.cli import EXIT_BAD_INPUT, main

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["run", "t9", "--profile", "quick"],
            "unknown task 't9': known tasks are t0, t1, t2, t3, t4",
        ),
        (["build", "--only", "t1", "nope", "--profile", "quick"], "unknown task 'nope'"),
        (["build", "--profile", "huge"], "unknown profile 'huge': choose one of quick, full"),
        (["build", "--profile", "quick", "--set", "t7.epochs=many"], "expected int"),
        (
            ["build", "--profile", "quick", "--set", "t1.epoch=3"],
            "task t1 has no parameter 'epoch'",
        ),
        (["build", "--profile", "quick", "--set", "t1.device=tpu"], "unknown device 'tpu'"),
        (["render", "--profile", "quick"], "no build of profile 'quick' yet"),
        (["build", "--profile", "quick", "--skip", "t9"], "unknown task 't9'"),
        (["build", "--profile", "quick", "--skip", "t7", "tx"], "unknown task 'tx'"),
        (["build", "--profile", "quick", "--skip", "t0"], "cannot skip t0: t1, "),
        (["run", "t2", "--profile", "quick", "--skip", "t1"], "cannot skip t1: t2 need(s) it"),
        (["build", "--only", "t7", "--skip", "t7", "--profile", "quick"], "nothing to build"),
        (["build", "--profile", "quick", "--baseline", "nope.json"], "nope.json does not exist"),
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
    assert "t1: T1: the cheater" in out
    # Each parameter: the full profile's value, the others where they differ, its help.
    assert "  n_samples = 100  (quick: 10; tune: 100)" not in out
    assert "  n_samples = 100  (quick: 10)  # the fair sample" in out
    assert '  device = "auto"  # "auto" (CUDA when available' in out
    # ... and its range, the one the build checks.
    assert "; takes an integer >= 1 and <= 10000\n" in out.split("  n_samples = 100")[1]
    assert "  bias = 0.95  # share of each digit" in out and "takes a fraction in [0, 1]" in out


def assert_rejected_before_any_work(checkout, capsys, assignment: str, message: str) -> None:
    """``--set assignment`` exits with bad input, says ``message`` and builds nothing."""
    assert (
        main(["--root", str(checkout), "build", "--profile", "quick", "--set", assignment])
        == EXIT_BAD_INPUT
    )
    assert message in capsys.readouterr().err
    assert not (checkout / "build" / "quick").exists()


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("t4.methods=erm,magic", "unknown method(s) 'magic'"),
        ('t4.hparams={"cf_invar":{"lambda_cf":-1}}', "lambda_cf"),
        ('t4.hparams={"cf_invar":{"nonsense":1}}', "nonsense"),
        ('t4.hparams={"wizardry":{}}', "wizardry"),
        ("t4.bias_sweep=[0.95,1.5]", "bias_sweep"),
        ("t4.n_seeds=0", "n_seeds must be an integer >= 1"),
        ("t4.probe_images=0", "probe_images must be an integer >= 1"),
        ("t5.threads=-1", "threads must be an integer >= 0"),
        ("t0.bias=1.2", "bias must be a fraction"),
        ("t1.model=resnet", "unknown model 'resnet'"),
        ("t4.backbones=resnet", "unknown or missing backbone(s) 'resnet'"),
        ('t4.recipes={"lenet_cnn":{"precision":"fp16"}}', "precision must be one of"),
        ("t4.min_converged_easy_val=2", "min_converged_easy_val must be a fraction"),
    ],
)
def test_bad_method_and_hparam_values_are_rejected_before_training(
    checkout, capsys, assignment, message
):
    assert_rejected_before_any_work(checkout, capsys, assignment, message)


def test_malformed_reference_data_is_rejected_before_any_work(checkout, capsys):
    """references/seed_results.yaml feeds the report's comparison section; a broken entry must
    stop the build at once, not after the tasks ran."""
    (checkout / "references").mkdir()
    (checkout / "references" / "seed_results.yaml").write_text(
        "references:\n  - {id: t1-hard, quantity: q, unit: furlongs, value: 0.2}\n"
    )
    assert main(["--root", str(checkout), "build", "--profile", "quick"]) == EXIT_BAD_INPUT
    assert "reference 't1-hard': unknown unit 'furlongs'" in capsys.readouterr().err
    assert not (checkout / "build" / "quick").exists()


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        (
            "t5.epsilons=[0.05,-0.1,1.0]",
            "epsilons must be a non-empty list of numbers (strictly increasing) in (0, 1]",
        ),
        ("t5.steps=0", "steps must be an integer >= 1"),
        ("t5.target_class=12", "target_class must be an integer >= 0 and <= 9"),
        ("t5.n_samples=0", "n_samples must be an integer >= 1"),
        ("t5.extra_models=cheater,wizard", "unknown model 'wizard'"),
        ("t5.backbones=resnet", "unknown or missing backbone"),
        ("t7.datasets=mnist,cifar", "unknown data set 'cifar'"),
        ("t7.fgsm_epsilons=[0.0,1.5]", "fgsm_epsilons must be a non-empty list of numbers"),
    ],
)
def test_bad_attack_and_inductive_bias_values_are_rejected_before_any_work(
    checkout, capsys, assignment, message
):
    assert_rejected_before_any_work(checkout, capsys, assignment, message)


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("t6.configs=conv2:max", "aggregation one of spatial_mean, per_position, vector"),
        ("t6.configs=conv7:spatial_mean", "no model has a layer 'conv7'"),
        ("t6.backbones=resnet", "unknown or missing backbone(s) 'resnet'"),
        ("t6.n_seeds=0", "n_seeds must be null (every seed T4 trained) or an integer >= 1"),
        ("t6.sweep_seeds=0", "sweep_seeds must be an integer >= 1"),
        ("t6.alpha=1.5", "alpha must be a level in (0, 1)"),
        ("t6.n_random_draws=1", "n_random_draws must be an integer >= 2"),
    ],
)
def test_bad_sae_values_are_rejected_before_any_work(checkout, capsys, assignment, message):
    assert_rejected_before_any_work(checkout, capsys, assignment, message)


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        (
            "t2.objectives=channel_max,channel_median",
            "objectives: unknown objective 'channel_median'",
        ),
        ("t2.split=easy_test", 'split must be one of "hard_test", "conflict_val"'),
        ("t2.backbones=lenet_cnn,lenet_cnn", "names a backbone twice"),
        (
            "t3.gradcam_digits=[3,12]",
            "gradcam_digits must be a non-empty list of integers in [0, 9]",
        ),
        ("t3.ig_baseline=noise", "ig_baseline must be one of"),
        ("t3.backbones=wizard_cnn", "unknown or missing backbone(s) 'wizard_cnn'"),
    ],
)
def test_bad_prober_and_interrogation_values_are_rejected_before_any_work(
    checkout, capsys, assignment, message
):
    assert_rejected_before_any_work(checkout, capsys, assignment, message)


def test_diff_prints_what_changed_between_two_summaries(tmp_path, capsys):
    def summary(acc: float, status: str, key: str) -> dict:
        task = {"status": status, "checks": {"holds": True}, "metrics": {"m": {"acc": acc}}}
        return {"profile": "quick", "tasks": {"t1": {**task, "key": key}}}

    before, after = tmp_path / "before.json", tmp_path / "after.json"
    before.write_text(json.dumps(summary(0.5, "cached", "a")))
    after.write_text(json.dumps(summary(0.75, "complete", "b")))
    assert main(["--root", str(tmp_path), "diff", str(before), str(after)]) == 0
    out = capsys.readouterr().out
    assert "t1    m.acc   0.5     0.75  +0.25" in out
    assert "re-ran: inputs changed" in out
    assert main(["--root", str(tmp_path), "diff", str(before), str(before)]) == 0
    assert "no change" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "does not exist"), ("{oops", "is not valid JSON"), ("[]", "no 'tasks' object")],
)
def test_diff_rejects_a_missing_or_malformed_summary(tmp_path, capsys, content, message):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps({"tasks": {}}))
    if content is not None:
        bad.write_text(content)
    assert main(["--root", str(tmp_path), "diff", str(good), str(bad)]) == EXIT_BAD_INPUT
    assert message in capsys.readouterr().err
