"""``nox -s tune``'s parts: each ``BACKBONE[:METHOD,...]`` becomes the ``--set`` options of one
tune build, and the builder accepts (or rejects, naming the mistake) exactly what it makes.

nox itself is not in the test environment, so the noxfile is loaded beside a stand-in module
that provides the three names it uses at import time.
"""

import importlib.util
import sys
import types
from pathlib import Path

import pytest

from lazy_artist.cli import EXIT_BAD_INPUT, main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def noxfile():
    stand_in = types.ModuleType("nox")
    stand_in.options = types.SimpleNamespace()
    stand_in.session = lambda function: function
    stand_in.Session = object
    saved = sys.modules.get("nox")
    sys.modules["nox"] = stand_in
    try:
        spec = importlib.util.spec_from_file_location("noxfile_under_test", REPO / "noxfile.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        if saved is None:
            del sys.modules["nox"]
        else:
            sys.modules["nox"] = saved
    return module


ROLES = ("backbones", "cheater_backbone", "best_backbone", "sweep_backbone")


def test_a_backbone_with_methods_sets_every_backbone_role_and_adds_erm(noxfile):
    assert noxfile._tune_part("lenet_cnn:lff,group_dro") == [
        *(f"--set=t4.{role}=lenet_cnn" for role in ROLES),
        "--set=t4.methods=erm,lff,group_dro",
    ]


def test_a_bare_backbone_tunes_all_its_methods_and_an_empty_part_changes_nothing(noxfile):
    assert noxfile._tune_part("cheater_cnn") == [f"--set=t4.{role}=cheater_cnn" for role in ROLES]
    assert noxfile._tune_part("") == []


def dry_run(checkout: Path, sets: list[str]) -> int:
    return main(
        ["--root", str(checkout), "build", "--profile", "tune", "--only", "t4", "--dry-run", *sets]
    )


def test_the_builder_accepts_a_part_and_rejects_a_misspelt_one_before_any_work(
    noxfile, checkout, capsys
):
    assert dry_run(checkout, noxfile._tune_part("lenet_cnn:lff,group_dro")) == 0
    assert "t4   will run" in capsys.readouterr().out
    assert dry_run(checkout, noxfile._tune_part("lenet_cnn:lff,grup_dro")) == EXIT_BAD_INPUT
    assert "unknown method(s) 'grup_dro'" in capsys.readouterr().err
    assert dry_run(checkout, noxfile._tune_part("lenet:lff")) == EXIT_BAD_INPUT
    assert "unknown or missing backbone(s) 'lenet'" in capsys.readouterr().err
    assert not (checkout / "build" / "tune").exists(), "a dry run trains nothing"
