"""A parameter's help is the comment ending its line in the parameters cell, else the comment
lines right above it; the study's notebooks give every parameter one."""

from __future__ import annotations

import pytest

from lazy_artist.builder.param_help import COMMON_HELP, parameter_help
from lazy_artist.builder.tasks import COMMON_PARAMS
from lazy_artist.study import STUDY_TASKS

from .conftest import REPO

NOTEBOOK = """# %% tags=["parameters"]
# not a parameter's: a blank line follows

lonely = 5
steps = 40  # PGD steps per restart
# the coarse sweep's budgets
# (the success curve)
epsilons = [0.01, 0.02]
quiet = 3
both = 1  # the trailing one wins
seed = 0

# %%
other = 1  # not in the parameters cell
"""


def test_trailing_comments_win_and_comment_lines_above_count(tmp_path):
    path = tmp_path / "task.py"
    path.write_text(NOTEBOOK, encoding="utf-8")
    helps = parameter_help(path)
    assert helps["steps"] == "PGD steps per restart"
    assert helps["epsilons"] == "the coarse sweep's budgets (the success curve)"
    assert "quiet" not in helps and "other" not in helps and "lonely" not in helps
    assert helps["both"] == "the trailing one wins"
    assert helps["seed"] == COMMON_HELP["seed"]  # the builder's, where the cell has none


@pytest.mark.parametrize("task", list(STUDY_TASKS), ids=lambda task: task.name)
def test_every_study_parameter_has_help(task):
    helps = parameter_help(REPO / task.notebook)
    missing = sorted((set(task.params) | set(COMMON_PARAMS)) - set(helps))
    assert not missing, f"{task.notebook}: no help comment for {missing}"
