import shutil
from pathlib import Path

import pytest

import lazy_artist
from lazy_artist.builder.cache import TaskKeyParts, library_digest, library_digests, task_key

BASE = dict(
    notebook_text="print(1)",
    params={"seed": 0, "epochs": 2},
    library="lib",
    upstream_ids={"t0": "k0"},
    data_identity={"mnist": "d"},
    versions={"torch": "2.0"},
    device="cpu",
)


def key_of(**parts) -> str:
    return task_key(TaskKeyParts(**parts))


def test_same_inputs_same_key():
    assert key_of(**BASE) == key_of(**dict(BASE))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("notebook_text", "print(2)"),
        ("params", {"seed": 1, "epochs": 2}),
        ("library", "lib2"),
        ("upstream_ids", {"t0": "k1"}),
        ("data_identity", {"mnist": "other"}),
        ("versions", {"torch": "2.1"}),
        ("device", "cuda"),
    ],
)
def test_every_input_changes_the_key(field, value):
    assert key_of(**{**BASE, field: value}) != key_of(**BASE)


def test_param_order_does_not_matter():
    assert key_of(**{**BASE, "params": {"epochs": 2, "seed": 0}}) == key_of(**BASE)


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
        handle.write("\n# a comment is not a change\n")
    assert library_digest(package_copy) == before
    with (package_copy / "results.py").open("a", encoding="utf-8") as handle:
        handle.write("\nSCIENCE_SIDE_CHANGE = 1\n")
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
    with (package_copy / "methods" / "ranking.py").open("a", encoding="utf-8") as handle:
        handle.write("\nUNRELATED_TO_RESULTS = 1\n")
    assert library_digest(package_copy, notebook_text=notebook) == before
    with (package_copy / "fileio.py").open("a", encoding="utf-8") as handle:
        handle.write("\nTRANSITIVE_CHANGE = 1\n")
    assert library_digest(package_copy, notebook_text=notebook) != before
    # The per-module digests name the module that changed.
    after = library_digests(package_copy, notebook_text=notebook)
    assert "fileio.py" in after and "methods/ranking.py" not in after


NOTEBOOK = """# %% [markdown]
# # A title

# %% tags=["parameters"]
value = 3

# %%
# squares, for the table
squares = [n * n for n in range(value)]
print(squares)
"""


def test_a_markdown_or_comment_edit_of_a_notebook_keeps_its_key():
    edited = NOTEBOOK.replace("# # A title", "# # A better title\n#\n# More words.").replace(
        "# squares, for the table", "# the squares that the table shows"
    )
    assert key_of(**{**BASE, "notebook_text": edited}) == key_of(
        **{**BASE, "notebook_text": NOTEBOOK}
    )


@pytest.mark.parametrize(
    "edited",
    [
        NOTEBOOK.replace("n * n", "n * n * n"),  # code
        NOTEBOOK.replace('tags=["parameters"]', ""),  # papermill would inject elsewhere
    ],
)
def test_a_code_or_tag_edit_of_a_notebook_changes_its_key(edited):
    assert key_of(**{**BASE, "notebook_text": edited}) != key_of(
        **{**BASE, "notebook_text": NOTEBOOK}
    )


def test_per_module_and_combined_library_digests_give_the_same_key(package_copy):
    modules = library_digests(package_copy)
    combined = library_digest(package_copy)
    assert key_of(**{**BASE, "library": modules}) == key_of(**{**BASE, "library": combined})


def test_task_digest_reaches_modules_imported_as_from_package_import_module(package_copy):
    notebook = "from lazy_artist.models import cnn\n"
    from lazy_artist.sourcehash import reachable_modules

    reached = {
        p.relative_to(package_copy).as_posix() for p in reachable_modules(notebook, package_copy)
    }
    assert {"__init__.py", "models/__init__.py", "models/cnn.py"} <= reached
    assert "methods/algorithms.py" not in reached


def test_a_markdown_only_notebook_edit_reruns_nothing(fixture_project):
    from lazy_artist.builder.build import CACHED, COMPLETE, build

    def quiet(**kwargs):
        return build(fixture_project, "quick", stream=False, say=lambda m: None, **kwargs)

    first = quiet(only=["consume"])
    assert first.outcomes["produce"].status == COMPLETE
    notebook = fixture_project.notebook("produce")
    text = notebook.read_text(encoding="utf-8")
    notebook.write_text(
        text.replace("# # Fixture: produce", "# # Fixture, reworded: produce").replace(
            "rec.save()", "rec.save()  # a comment"
        ),
        encoding="utf-8",
    )
    again = quiet(only=["consume"])
    assert {o.status for o in again.outcomes.values() if o.name in ("produce", "consume")} == {
        CACHED
    }
    assert again.outcomes["produce"].key == first.outcomes["produce"].key
    notebook.write_text(text + "print('code')\n", encoding="utf-8")
    edited = quiet(only=["consume"])
    assert edited.outcomes["produce"].status == COMPLETE
    # consume read only produce's value.txt, which the code edit rewrites unchanged.
    assert edited.outcomes["consume"].status == CACHED
