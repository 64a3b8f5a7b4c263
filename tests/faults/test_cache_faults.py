"""A damaged stored result is caught before reuse, reported, moved aside and re-run alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from lazy_artist.builder.build import CACHED, COMPLETE, build
from lazy_artist.builder.lock import release_all
from lazy_artist.builder.store import BuildStore
from lazy_artist.methods.memo import HASHES_FILE, MODEL_FILE, RESULT_FILE, RunMemo
from lazy_artist.methods.trainer import MethodResult
from tests.builder.conftest import make_fixture_project


@pytest.fixture
def built(tmp_path):
    """A fixture project with produce and consume built and committed."""
    project = make_fixture_project(tmp_path / "project")
    first, _ = quiet_build(project)
    assert statuses(first) == {"produce": COMPLETE, "consume": COMPLETE}
    return project


def quiet_build(project):
    said: list[str] = []
    try:
        result = build(project, "quick", only=["consume"], stream=False, say=said.append)
    finally:
        release_all()
    return result, said


def statuses(result):
    return {n: o.status for n, o in result.outcomes.items() if n in ("produce", "consume")}


def store(project) -> BuildStore:
    return BuildStore.for_profile(project.build_dir, "quick")


def figure(project) -> Path:
    (path,) = (store(project).task_dir("produce") / "figures").glob("*.png")
    return path


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGES = {
    "truncated results.json": (
        lambda p: truncate(store(p).task_dir("produce") / "results.json"),
        "results.json changed size",
    ),
    "truncated artefact": (
        lambda p: truncate(store(p).task_dir("produce") / "artefacts" / "value.txt"),
        "artefacts/value.txt changed size",
    ),
    "deleted figure": (lambda p: figure(p).unlink(), "is missing"),
    "corrupted figure, same size": (
        lambda p: flip_a_byte(figure(p)),
        "changed content (sha256 differs)",
    ),
    "deleted executed notebook": (
        lambda p: (store(p).task_dir("produce") / "notebook.ipynb").unlink(),
        "notebook.ipynb is missing",
    ),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_result_re_runs_that_task_alone(built, damage):
    do_damage, expected = DAMAGES[damage]
    before = store(built).completed_record("consume")["finished_at_ns"]
    do_damage(built)

    result, said = quiet_build(built)
    # produce re-runs; consume's inputs (produce's key among them) did not change: cached.
    assert statuses(result) == {"produce": COMPLETE, "consume": CACHED}
    (line,) = [line for line in said if "stored result damaged" in line]
    assert line.startswith("produce: stored result damaged: ") and expected in line
    assert "moved to" in line and "re-running" in line
    (moved,) = (store(built).root / ".damaged").iterdir()
    assert moved.name.startswith("produce-") and moved.is_dir()
    assert store(built).completed_record("consume")["finished_at_ns"] == before
    # The re-run's result is whole and verified, and the next build reuses it.
    record = store(built).completed_record("produce")
    assert store(built).verify("produce", record) is None
    again, said = quiet_build(built)
    assert statuses(again) == {"produce": CACHED, "consume": CACHED}
    assert not any("damaged" in line for line in said)


def test_every_output_is_recorded_with_size_and_hash(built):
    record = store(built).completed_record("produce")
    outputs = record["outputs"]
    assert {"results.json", "notebook.ipynb", "artefacts/value.txt"} <= set(outputs)
    assert "task.json" not in outputs
    for name, entry in outputs.items():
        path = store(built).task_dir("produce") / name
        assert entry["size"] == path.stat().st_size and len(entry["sha256"]) == 64


def test_a_malformed_task_record_is_treated_as_absent_with_a_warning(built):
    (store(built).task_dir("produce") / "task.json").write_text('{"key": "abc", ')
    result, said = quiet_build(built)
    assert statuses(result) == {"produce": COMPLETE, "consume": CACHED}
    (line,) = [line for line in said if "warning" in line]
    assert line.startswith("produce: warning: ") and "task.json is unreadable" in line


# --- the T4 run memo -------------------------------------------------------------------


class Stub:
    """What RunMemo reads from an algorithm: its network."""

    def __init__(self, seed: int) -> None:
        torch.manual_seed(seed)
        self.network = torch.nn.Linear(8, 4)


def a_result(seed: int) -> MethodResult:
    return MethodResult(
        method="erm",
        hparams={},
        history=[{"epoch": 1}],
        selected_epoch=1,
        selection_rule="val",
        selected_score=0.5 + seed / 100,
        selected={"hard_test": 0.1},
        seconds=1.0,
        train_seconds=1.0,
        steps=1,
        images_seen=8,
    )


@pytest.mark.parametrize(
    "damage",
    [
        lambda entry: truncate(entry / MODEL_FILE),
        lambda entry: flip_a_byte(entry / MODEL_FILE),
        lambda entry: (entry / RESULT_FILE).write_text("{"),
        lambda entry: (entry / HASHES_FILE).write_text("not json"),
    ],
    ids=["truncated checkpoint", "flipped checkpoint byte", "malformed record", "bad hashes"],
)
def test_a_damaged_memo_entry_is_retrained_alone(tmp_path, capsys, damage):
    memo = RunMemo(tmp_path)
    for seed in (0, 1, 2):
        memo.store(f"{seed:02d}" + "ab" * 31, Stub(seed), a_result(seed), about={"seed": seed})
    assert (
        json.loads((memo.entry("01" + "ab" * 31) / HASHES_FILE).read_text())[MODEL_FILE]["size"] > 0
    )
    damage(memo.entry("01" + "ab" * 31))

    again = RunMemo(tmp_path)
    loaded = {seed: again.load(f"{seed:02d}" + "ab" * 31, Stub(99)) for seed in (0, 1, 2)}
    assert loaded[1] is None and loaded[0] is not None and loaded[2] is not None
    assert (again.hits, again.misses) == (2, 1)
    assert loaded[2].selected_score == a_result(2).selected_score
    (line,) = [line for line in capsys.readouterr().out.splitlines() if "damaged" in line]
    assert line.startswith("run memo: entry 01abababab") and "retraining" in line
    assert not memo.entry("01" + "ab" * 31).exists()
    assert len(list((tmp_path / ".damaged").iterdir())) == 1
    # The retrained run is stored again and then reused.
    again.store("01" + "ab" * 31, Stub(1), a_result(1), about={"seed": 1})
    assert RunMemo(tmp_path).load("01" + "ab" * 31, Stub(5)) is not None


def test_a_memo_entry_loads_its_weights(tmp_path):
    memo = RunMemo(tmp_path)
    source = Stub(3)
    memo.store("03" + "cd" * 31, source, a_result(3), about={})
    target = Stub(4)
    memo.load("03" + "cd" * 31, target)
    assert torch.equal(target.network.weight, source.network.weight)


def test_damaged_results_kept_aside_are_bounded(tmp_path):
    store = BuildStore(tmp_path / "quick")
    for n in range(5):
        (store.task_dir("produce")).mkdir(parents=True)
        (store.task_dir("produce") / "n.txt").write_text(str(n))
        store.set_aside("produce")
    kept = sorted((store.root / ".damaged").iterdir())
    assert [(path / "n.txt").read_text() for path in kept] == ["2", "3", "4"]
