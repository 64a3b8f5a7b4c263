import shutil
from pathlib import Path

import pytest

import lazy_artist
from lazy_artist.builder.cache import library_digest, task_key

BASE = dict(
    notebook_text="print(1)",
    params={"seed": 0, "epochs": 2},
    library="lib",
    upstream_keys={"t0": "k0"},
    data_identity={"mnist": "d"},
    versions={"torch": "2.0"},
    device="cpu",
)


def test_same_inputs_same_key():
    assert task_key(**BASE) == task_key(**dict(BASE))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("notebook_text", "print(2)"),
        ("params", {"seed": 1, "epochs": 2}),
        ("library", "lib2"),
        ("upstream_keys", {"t0": "k1"}),
        ("data_identity", {"mnist": "other"}),
        ("versions", {"torch": "2.1"}),
        ("device", "cuda"),
    ],
)
def test_every_input_changes_the_key(field, value):
    assert task_key(**{**BASE, field: value}) != task_key(**BASE)


def test_param_order_does_not_matter():
    assert task_key(**{**BASE, "params": {"epochs": 2, "seed": 0}}) == task_key(**BASE)


@pytest.fixture
def package_copy(tmp_path) -> Path:
    copy = tmp_path / "lazy_artist"
    shutil.copytree(
        Path(lazy_artist.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__")
    )
    return copy


def test_library_digest_follows_science_code_but_not_the_builder(package_copy):
    before = library_digest(package_copy)
    (package_copy / "builder" / "render.py").write_text("# renderer changed\n", encoding="utf-8")
    (package_copy / "cli.py").write_text("# cli changed\n", encoding="utf-8")
    assert library_digest(package_copy) == before
    with (package_copy / "results.py").open("a", encoding="utf-8") as handle:
        handle.write("\n# a science-side change\n")
    assert library_digest(package_copy) != before


def test_task_digest_follows_only_the_modules_a_notebook_reaches(package_copy):
    from lazy_artist.sourcehash import reachable_modules

    notebook = "from lazy_artist.results import Recorder\nimport numpy\n"
    reached = {
        p.relative_to(package_copy).as_posix() for p in reachable_modules(notebook, package_copy)
    }
    # results.py imports fileio.py: reached transitively; the builder never is.
    assert {"__init__.py", "results.py", "fileio.py"} <= reached
    assert not any(part.startswith("builder") for part in reached)
    before = library_digest(package_copy, notebook_text=notebook)
    (package_copy / "unrelated_new_module.py").write_text("X = 1\n", encoding="utf-8")
    with (package_copy / "methods" / "comparison.py").open("a", encoding="utf-8") as handle:
        handle.write("\n# unrelated to results\n")
    assert library_digest(package_copy, notebook_text=notebook) == before
    with (package_copy / "fileio.py").open("a", encoding="utf-8") as handle:
        handle.write("\n# transitive change\n")
    assert library_digest(package_copy, notebook_text=notebook) != before


def test_task_digest_reaches_modules_imported_as_from_package_import_module(package_copy):
    notebook = "from lazy_artist.models import cnn\n"
    from lazy_artist.sourcehash import reachable_modules

    reached = {
        p.relative_to(package_copy).as_posix() for p in reachable_modules(notebook, package_copy)
    }
    assert {"__init__.py", "models/__init__.py", "models/cnn.py"} <= reached
    assert "methods/algorithms.py" not in reached
