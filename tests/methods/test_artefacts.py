import pytest
import torch

from lazy_artist.methods.algorithms import build_algorithm
from lazy_artist.methods.artefacts import (
    MethodIndex,
    load_method,
    load_method_network,
    save_method_checkpoint,
)
from lazy_artist.methods.trainer import MethodResult
from lazy_artist.models.checkpoints import load_checkpoint
from tests.methods.test_algorithms import TINY


def fake_result(method):
    return MethodResult(
        method=method,
        hparams={},
        history=[],
        selected_epoch=1,
        selection_rule="rule",
        selected_score=0.5,
        selected={},
        seconds=0.0,
        train_seconds=0.0,
        steps=0,
        images_seen=0,
    )


def test_models_are_loaded_back_by_method_name(tmp_path):
    t4_dir = tmp_path / "t4"
    index = MethodIndex(t4_dir / "artefacts" / "models")
    trained = {}
    for method in ("erm", "gray_oracle"):
        for seed in (0, 1):
            algorithm = build_algorithm(method, backbone_kwargs={"width": 4}, seed=seed)
            index.add(method, seed, algorithm, fake_result(method))
            trained[(method, seed)] = algorithm
    with pytest.raises(ValueError, match="no checkpoint"):
        index.set_best("cf_invar")
    index.set_best("erm")
    index.save()

    network, input_kind, meta = load_method(t4_dir, "best", seed=1)
    assert input_kind == "colour" and meta["method"] == "erm" and meta["seed"] == 1
    assert meta["backbone"] == "cheater_cnn" and meta["rule"] == "conflict_val"
    x = torch.rand(2, 3, 28, 28)
    trained[("erm", 1)].eval()
    assert torch.allclose(network(x), trained[("erm", 1)].predict(x))

    _, gray_kind, _ = load_method(t4_dir, "gray_oracle")
    assert gray_kind == "gray"
    with pytest.raises(KeyError, match="no 'dann' model"):
        load_method(t4_dir, "dann")
    with pytest.raises(KeyError, match="no 'erm' model on 'cheater_cnn' for seed 7"):
        load_method(t4_dir, "erm", seed=7)


def test_each_rule_of_a_run_gets_its_own_checkpoint(tmp_path):
    t4_dir = tmp_path / "t4"
    index = MethodIndex(t4_dir / "artefacts" / "models")
    algorithm = build_algorithm("erm", backbone="lenet_cnn", backbone_kwargs={"width": 4}, seed=0)
    other = build_algorithm("erm", backbone="lenet_cnn", backbone_kwargs={"width": 4}, seed=1)
    algorithm.rule_states = {
        "easy_val": algorithm.network.state_dict(),
        "conflict_val": other.network.state_dict(),
    }
    before = {k: v.clone() for k, v in algorithm.network.state_dict().items()}
    index.add("erm", 0, algorithm, fake_result("erm"), default_rule="easy_val")
    index.set_best("erm", rule="easy_val")
    index.save()
    assert all(torch.equal(before[k], v) for k, v in algorithm.network.state_dict().items())
    x = torch.rand(2, 3, 28, 28)
    easy, _, meta = load_method(t4_dir, "erm")
    assert meta["rule"] == "easy_val" and torch.allclose(easy(x), algorithm.network.eval()(x))
    oracle_style, _, _ = load_method(t4_dir, "erm", rule="conflict_val")
    assert torch.allclose(oracle_style(x), other.network.eval()(x))
    with pytest.raises(KeyError, match="no best method on 'lenet_cnn' under rule 'conflict_val'"):
        load_method(t4_dir, "best")


def test_a_missing_index_says_which_task_to_build(tmp_path):
    with pytest.raises(FileNotFoundError, match="build task t4 first"):
        load_method(tmp_path)


@pytest.mark.parametrize("name", ["gray_oracle", "dann"])
def test_method_checkpoint_round_trip(tmp_path, name):
    algorithm = build_algorithm(name, {"lr": 1e-3}, backbone_kwargs=TINY, seed=1)
    path = save_method_checkpoint(
        tmp_path / "model.pt", name, algorithm, algorithm.hparams, {"seed": 1, "selected_epoch": 3}
    )
    network, input_kind, meta = load_method_network(path)
    assert input_kind == algorithm.input_kind
    assert meta["method"] == name and meta["hparams"]["lr"] == 1e-3 and meta["selected_epoch"] == 3
    x = torch.rand(4, 1 if input_kind == "gray" else 3, 28, 28)
    assert torch.equal(network(x), algorithm.network.eval()(x))
    assert not network.training
    # A method checkpoint is also an ordinary registry checkpoint for later tasks.
    assert torch.equal(load_checkpoint(path)(x), network(x))


def test_loading_a_plain_checkpoint_is_refused(tmp_path):
    from lazy_artist.models.checkpoints import save_checkpoint

    algorithm = build_algorithm("erm", backbone_kwargs=TINY)
    path = save_checkpoint(tmp_path / "plain.pt", "cheater_cnn", algorithm.network)
    with pytest.raises(ValueError, match="not a method checkpoint"):
        load_method_network(path)


def test_a_checkpoint_without_its_input_kind_or_of_an_unknown_method_is_refused(tmp_path):
    from lazy_artist.models.checkpoints import save_checkpoint

    algorithm = build_algorithm("erm", backbone_kwargs=TINY)
    path = save_checkpoint(
        tmp_path / "old.pt", "cheater_cnn", algorithm.network, extra={"method": "erm"}
    )
    with pytest.raises(ValueError, match="input kind None.*rebuild t4"):
        load_method_network(path)
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        save_method_checkpoint(tmp_path / "x.pt", "nope", algorithm)
