import ast

import jupytext
import pytest

from lazy_artist.builder.tasks import (
    COMMON_PARAMS,
    INJECTED_PARAMS,
    PROFILES,
    STUDY_TASKS,
    Task,
    TaskGraph,
)

from .conftest import REPO


def test_order_puts_dependencies_first():
    graph = TaskGraph([Task("b", "B", "b.py", depends=("a",)), Task("a", "A", "a.py")])
    assert graph.names() == ["a", "b"]
    assert [task.name for task in graph.with_dependencies(["b"])] == ["a", "b"]
    assert [task.name for task in graph.with_dependencies(["a"])] == ["a"]


def test_cycles_and_unknown_dependencies_are_rejected():
    with pytest.raises(ValueError, match="cycle"):
        TaskGraph([Task("a", "A", "a.py", depends=("b",)), Task("b", "B", "b.py", depends=("a",))])
    with pytest.raises(ValueError, match="unknown task 'zz'"):
        TaskGraph([Task("a", "A", "a.py", depends=("zz",))])
    with pytest.raises(ValueError, match="unknown profile"):
        TaskGraph([Task("a", "A", "a.py", profiles={"huge": {}})])


def _parameters_cell(path):
    notebook = jupytext.read(path)
    cells = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(cells) == 1, f"{path} needs exactly one cell tagged 'parameters'"
    tree = ast.parse(cells[0].source)
    return {
        target.id for node in tree.body if isinstance(node, ast.Assign) for target in node.targets
    }


@pytest.mark.parametrize("task", list(STUDY_TASKS), ids=lambda task: task.name)
def test_study_notebooks_declare_every_registered_parameter(task):
    declared = _parameters_cell(REPO / task.notebook)
    for profile in PROFILES:
        params = {**COMMON_PARAMS, **task.params, **task.profiles.get(profile, {})}
        missing = set(params) - declared
        assert not missing, f"{task.notebook} lacks parameters {missing}"
    assert set(INJECTED_PARAMS) <= declared
