import ast

import jupytext
import pytest

from lazy_artist.builder.params import check_params
from lazy_artist.builder.tasks import COMMON_PARAMS, INJECTED_PARAMS, PROFILES, Task, TaskGraph
from lazy_artist.study import STUDY_TASKS

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


def _parameter_values(path):
    """The literal value of every parameter the notebook's parameters cell assigns."""
    cell = next(
        cell for cell in jupytext.read(path).cells if "parameters" in cell.metadata.get("tags", [])
    )
    return {
        target.id: ast.literal_eval(node.value)
        for node in ast.parse(cell.source).body
        if isinstance(node, ast.Assign)
        for target in node.targets
    }


@pytest.mark.parametrize("task", list(STUDY_TASKS), ids=lambda task: task.name)
def test_a_notebooks_defaults_are_the_tasks_values(task):
    """The task declaration is the one source; the notebook's parameters cell (papermill's
    contract) repeats its values, and may not drift from them."""
    values = _parameter_values(REPO / task.notebook)
    drifted = {
        name: (value, values[name])
        for name, value in task.params.items()
        if name in values and values[name] != value
    }
    assert not drifted, f"{task.notebook}: (task value, notebook value) differ: {drifted}"


@pytest.mark.parametrize("task", list(STUDY_TASKS), ids=lambda task: task.name)
def test_study_notebooks_declare_every_registered_parameter(task):
    declared = _parameters_cell(REPO / task.notebook)
    for profile in PROFILES:
        params = {**COMMON_PARAMS, **task.params, **task.profiles.get(profile, {})}
        missing = set(params) - declared
        assert not missing, f"{task.notebook} lacks parameters {missing}"
    assert set(INJECTED_PARAMS) <= declared


@pytest.mark.parametrize("task", list(STUDY_TASKS), ids=lambda task: task.name)
def test_papermill_reads_every_parameter_of_the_cell(task, caplog):
    """papermill's own parser (``inspect``) must see each parameter; a line it cannot parse
    (e.g. an '=' inside the comment) is logged and its parameter reported as unknown."""
    from papermill.translators import PythonTranslator

    cell = next(
        cell
        for cell in jupytext.read(REPO / task.notebook).cells
        if "parameters" in cell.metadata.get("tags", [])
    )
    seen = {parameter.name for parameter in PythonTranslator.inspect(cell)}
    missing = _parameters_cell(REPO / task.notebook) - seen
    assert not missing, f"{task.notebook}: papermill cannot parse the lines of {sorted(missing)}"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"backbones": "resnet"}, "backbones: unknown or missing backbone"),
        ({"backbones": "lenet_cnn,lenet_cnn"}, "names a backbone twice"),
        ({"n_seeds": 0}, r"n_seeds must be null \(every seed T4 trained\) or an integer >= 1"),
        ({"n_seeds": True}, r"n_seeds must be null .* or an integer >= 1, got true"),
    ],
)
def test_t2_rejects_bad_pair_selections_before_any_work(override, message):
    task = STUDY_TASKS["t2"]
    with pytest.raises(ValueError, match=message):
        check_params(STUDY_TASKS, [task.name], {task.name: {**task.defaults(), **override}})


@pytest.mark.parametrize(
    "override", [{}, {"backbones": "lenet_cnn"}, {"n_seeds": None}, {"n_seeds": 3}]
)
def test_t2_accepts_every_backbone_named_ones_and_every_seed(override):
    task = STUDY_TASKS["t2"]
    check_params(STUDY_TASKS, [task.name], {task.name: {**task.defaults(), **override}})


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"backbones": "resnet"}, "backbones: unknown or missing backbone"),
        ({"backbones": ""}, "backbones: name at least one backbone"),
        ({"n_seeds": 0}, r"n_seeds must be null \(every seed T4 trained\) or an integer >= 1"),
        ({"n_seeds": True}, r"n_seeds must be null .* or an integer >= 1, got true"),
    ],
)
def test_t3_rejects_bad_pair_selections_before_any_work(override, message):
    task = STUDY_TASKS["t3"]
    with pytest.raises(ValueError, match=message):
        check_params(STUDY_TASKS, [task.name], {task.name: {**task.defaults(), **override}})


@pytest.mark.parametrize(
    "override", [{}, {"backbones": "cheater_cnn"}, {"n_seeds": None}, {"n_seeds": 3}]
)
def test_t3_accepts_every_backbone_named_ones_and_every_seed(override):
    task = STUDY_TASKS["t3"]
    assert "models" not in task.params, "T3 compares matched pairs, not a list of models"
    check_params(STUDY_TASKS, [task.name], {task.name: {**task.defaults(), **override}})


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"tuned": "sweep"}, 'tuned must be one of "none", "committed"'),
        ({"n_draws": 0, "tuned": "none"}, "n_draws must be an integer >= 1"),
        ({"n_draws": 8}, "n_draws must be 1 with tuned='committed'"),
        ({"tune_seed": 1}, "tune_seed 1 is one of the reported seeds"),
        ({"tune_seed": -1}, "tune_seed must be an integer >= 0"),
    ],
)
def test_t4_rejects_a_tuning_that_would_not_be_fair(override, message):
    task = STUDY_TASKS["t4"]
    with pytest.raises(ValueError, match=message):
        check_params(STUDY_TASKS, [task.name], {task.name: {**task.defaults(), **override}})


def test_the_tune_profile_sweeps_and_the_full_profile_reads_its_values():
    task = STUDY_TASKS["t4"]
    tune = {**COMMON_PARAMS, **task.params, **task.profiles["tune"]}
    assert (tune["tuned"], tune["n_draws"]) == ("none", 8)
    task.validate(tune)
    assert (task.params["tuned"], task.params["n_draws"]) == ("committed", 1)
    assert task.profiles["quick"]["tuned"] == "none"  # quick: the defaults, no tuning runs
    assert task.profiles["quick"].get("n_draws", task.params["n_draws"]) == 1
