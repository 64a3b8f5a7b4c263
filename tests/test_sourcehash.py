"""What counts as a code change: the syntax tree, not comments, docstrings or markdown."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import lazy_artist
from lazy_artist.sourcehash import (
    code_fingerprint,
    module_digests,
    notebook_fingerprint,
    reachable_modules,
    source_digest,
)

MODULE = '''"""A module docstring."""

import math


class Loss:
    """A class docstring."""

    def value(self, x):
        """A method docstring."""
        # a comment
        return math.sqrt(x) * 2
'''


def test_comments_docstrings_and_layout_are_not_code():
    edited = (
        MODULE.replace("A module docstring.", "Reworded, at length.\n\nTwo paragraphs.")
        .replace('"""A class docstring."""', "")
        .replace("A method docstring.", "Says more.")
        .replace("# a comment", "# another comment\n        # and one more")
        .replace("import math\n", "import math  # why\n\n\n")
    )
    assert code_fingerprint(edited) == code_fingerprint(MODULE)


@pytest.mark.parametrize(
    "edited",
    [
        MODULE.replace("* 2", "* 3"),
        MODULE.replace("math.sqrt(x)", "math.sqrt(abs(x))"),
        MODULE.replace("def value", "def values"),
        # A string that is not a docstring is code.
        MODULE.replace("# a comment", 'print("a comment")'),
    ],
)
def test_a_code_edit_is_a_change(edited):
    assert code_fingerprint(edited) != code_fingerprint(MODULE)


def test_unparsable_text_counts_as_a_whole():
    assert code_fingerprint("def (:\n") != code_fingerprint("def (:  # x\n")


NOTEBOOK = """# %% [markdown]
# # Title
#
# Words.

# %% tags=["parameters"]
value = 3

# %%
# a comment
print(value)
"""


def test_notebook_markdown_and_comments_do_not_count():
    edited = NOTEBOOK.replace("Words.", "Other words, and a list:\n# - one").replace(
        "# a comment", "# a reworded comment"
    )
    assert notebook_fingerprint(edited) == notebook_fingerprint(NOTEBOOK)
    comment_cell = NOTEBOOK + "\n# %%\n# a cell of comments only\n"
    assert notebook_fingerprint(comment_cell) == notebook_fingerprint(NOTEBOOK)
    assert notebook_fingerprint(NOTEBOOK.replace("print(value)", "print(value + 1)")) != (
        notebook_fingerprint(NOTEBOOK)
    )


@pytest.fixture
def package_copy(tmp_path) -> Path:
    copy = tmp_path / "lazy_artist"
    shutil.copytree(
        Path(lazy_artist.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__")
    )
    return copy


def test_whole_module_digest_ignores_comment_and_docstring_edits(package_copy):
    # A task's key (the builder) hashes whole modules: source_digest over what it imports.
    def digest() -> str:
        return source_digest(
            reachable_modules("import lazy_artist.methods.run\n", package_copy), package_copy
        )

    before = digest()
    algorithms = package_copy / "methods" / "algorithms.py"
    text = algorithms.read_text(encoding="utf-8")
    first_def = text.index("\ndef ") if "\ndef " in text else text.index("\nclass ")
    commented = text[:first_def] + "\n# a comment-only edit\n" + text[first_def:]
    algorithms.write_text(commented.replace('"""', '"""Reworded: ', 1), encoding="utf-8")
    assert digest() == before
    algorithms.write_text(text + "\nA_CODE_CHANGE = 1\n", encoding="utf-8")
    assert digest() != before


def test_module_digests_name_each_module(package_copy):
    paths = reachable_modules("import lazy_artist.results\n", package_copy)
    digests = module_digests(paths, package_copy)
    assert set(digests) == {path.relative_to(package_copy).as_posix() for path in paths}
    assert "results.py" in digests


def test_imports_under_type_checking_are_not_reached_but_their_else_branch_is(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("heavy", "light", "fallback"):
        (package / f"{name}.py").write_text("X = 1\n")
    (package / "user.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "import typing\n"
        "from pkg import light\n"
        "if TYPE_CHECKING:\n"
        "    from pkg.heavy import X\n"
        "if typing.TYPE_CHECKING:\n"
        "    import pkg.heavy\n"
        "else:\n"
        "    import pkg.fallback\n"
    )
    reached = {path.name for path in reachable_modules("import pkg.user\n", package)}
    assert reached == {"__init__.py", "user.py", "light.py", "fallback.py"}


def test_tasks_that_only_load_t4s_models_never_reach_the_methods_code():
    """Precise invalidation: editing a method's loss may re-run T4 (and, through the files
    they read, the tasks that load a retrained model), never a task by its library key."""
    from lazy_artist.study import STUDY_TASKS

    repo = Path(lazy_artist.__file__).resolve().parents[2]
    root = Path(lazy_artist.__file__).parent
    method_code = {"methods/algorithms.py", "methods/trainer.py", "methods/hparams.py"}
    for task in STUDY_TASKS:
        if task.name == "t4":
            continue
        text = (repo / task.notebook).read_text(encoding="utf-8")
        reached = {path.relative_to(root).as_posix() for path in reachable_modules(text, root)}
        assert not reached & method_code, f"{task.name} reaches {sorted(reached & method_code)}"
