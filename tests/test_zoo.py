import pytest
import torch

from lazy_artist.methods.algorithms import build_algorithm
from lazy_artist.methods.artefacts import MethodIndex
from lazy_artist.methods.trainer import MethodResult
from lazy_artist.models import build_model
from lazy_artist.training import save_checkpoint
from lazy_artist.zoo import CHEATER, load_study_model, parse_model_names


def _result(method: str) -> MethodResult:
    return MethodResult(method, {}, [], 1, "val", 0.5, {}, 0.0, 0.0, 0, 0)


@pytest.fixture
def upstream(tmp_path):
    t1 = tmp_path / "t1"
    save_checkpoint(t1 / "artefacts" / "model.pt", "cheater_cnn", build_model("cheater_cnn"))
    t4 = tmp_path / "t4"
    index = MethodIndex(t4 / "artefacts" / "models")
    for method in ("erm", "gray_oracle"):
        algorithm = build_algorithm(method, None, backbone_kwargs={"width": 4}, seed=0)
        index.add(method, 0, algorithm, _result(method))
    index.set_best("gray_oracle")
    index.save()
    return {"t1": str(t1), "t4": str(t4)}


def test_loads_the_cheater_and_t4_methods_by_name(upstream):
    cheater = load_study_model(upstream, CHEATER)
    assert (cheater.name, cheater.source, cheater.input_kind) == ("cheater", "t1", "colour")
    assert cheater.network(torch.rand(2, 3, 28, 28)).shape == (2, 10)
    best = load_study_model(upstream, "best")
    # "best" resolves to the winner's own name and its input kind.
    assert (best.name, best.source, best.input_kind) == ("gray_oracle", "t4", "gray")
    assert best.network(torch.rand(2, 1, 28, 28)).shape == (2, 10)


def test_missing_upstream_or_unknown_method_is_a_clear_error(upstream):
    with pytest.raises(KeyError, match="t1"):
        load_study_model({"t4": upstream["t4"]}, CHEATER)
    with pytest.raises(KeyError, match="t4"):
        load_study_model({"t1": upstream["t1"]}, "erm")
    with pytest.raises(KeyError, match="no 'dann' model"):
        load_study_model(upstream, "dann")


def test_parse_model_names():
    assert parse_model_names(" cheater, best ,,erm") == ["cheater", "best", "erm"]
    assert parse_model_names(["a", " b "]) == ["a", "b"]
