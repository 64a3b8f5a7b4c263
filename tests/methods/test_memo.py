"""The run memo reuses a run only when nothing that can change its result changed."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
import torch

import lazy_artist
from lazy_artist.methods import memo as memo_module
from lazy_artist.methods.algorithms import ALGORITHMS, get_algorithm_class
from lazy_artist.methods.memo import RESULT_FILE, RunMemo, canvas_digest, training_code
from lazy_artist.methods.run import fit_method
from tests.methods.test_algorithms import TINY, tiny_canvas


@pytest.fixture(scope="module")
def canvas():
    return tiny_canvas(n_train=128)


def fit(canvas, memo, name="erm", seed=0, hparams=None, precision="bf16"):
    return fit_method(
        name,
        canvas,
        hparams=hparams,
        backbone_width=TINY["width"],
        epochs=1,
        seed=seed,
        backbone="lenet_cnn",
        memo=memo,
        precision=precision,
    )


def test_a_stored_run_is_reused_with_its_weights_and_record(tmp_path, canvas):
    memo = RunMemo(tmp_path)
    trained, first = fit(canvas, memo)
    assert (memo.hits, memo.misses) == (0, 1) and not first.extra.get("reused")

    again = RunMemo(tmp_path)  # a new build: nothing held in memory
    reused, second = fit(canvas, again)
    assert (again.hits, again.misses) == (1, 0) and second.extra["reused"]
    assert second.selected == first.selected and second.history == first.history
    assert second.seconds == first.seconds  # the wall time measured when it trained
    x = torch.rand(4, 3, 28, 28)
    trained.eval(), reused.eval()
    assert torch.equal(trained.predict(x), reused.predict(x))


def test_anything_that_changes_the_result_changes_the_key(tmp_path, canvas):
    memo = RunMemo(tmp_path)
    fit(canvas, memo)
    fit(canvas, memo, seed=1)  # another seed
    fit(canvas, memo, hparams={"lr": 0.002})  # another hparam value
    fit(canvas, memo, name="gray_oracle")  # another method
    fit(canvas.with_train_subset(64), memo)  # other data
    fit(canvas, memo, precision="fp32")  # other arithmetic
    assert (memo.hits, memo.misses) == (0, 6)
    assert len(list(tmp_path.glob("*/*/" + RESULT_FILE))) == 6


def test_a_training_code_change_retrains(tmp_path, canvas, monkeypatch):
    fit(canvas, RunMemo(tmp_path))
    monkeypatch.setattr(memo_module, "training_code_digest", lambda graph=None: "edited trainer")
    memo = RunMemo(tmp_path)
    fit(canvas, memo)
    assert (memo.hits, memo.misses) == (0, 1)


def test_one_methods_code_change_retrains_only_its_runs(tmp_path, canvas, monkeypatch):
    fit(canvas, RunMemo(tmp_path))
    fit(canvas, RunMemo(tmp_path), name="cf_invar")
    real = memo_module.method_code_digest
    edited = get_algorithm_class("cf_invar")

    def digest(cls, graph=None):
        return "edited cf_invar" if cls is edited else real(cls, graph)

    monkeypatch.setattr(memo_module, "method_code_digest", digest)
    memo = RunMemo(tmp_path)
    fit(canvas, memo)
    assert (memo.hits, memo.misses) == (1, 0)  # erm: reused
    fit(canvas, memo, name="cf_invar")
    assert (memo.hits, memo.misses) == (1, 1)  # cf_invar: retrained


def test_an_incomplete_entry_is_never_trusted(tmp_path, canvas):
    memo = RunMemo(tmp_path)
    fit(canvas, memo)
    (result_file,) = tmp_path.glob("*/*/" + RESULT_FILE)
    result_file.unlink()  # as if killed before the entry was whole
    again = RunMemo(tmp_path)
    fit(canvas, again)
    assert (again.hits, again.misses) == (0, 1)
    assert len(list(tmp_path.glob("*/*/" + RESULT_FILE))) == 1


def test_off_without_a_directory(canvas):
    memo = RunMemo(None)
    _, result = fit(canvas, memo)
    assert not memo.enabled and (memo.hits, memo.misses) == (0, 0)
    assert "off" in memo.summary() and not result.extra.get("reused")


def test_canvas_digest_sees_a_single_pixel(canvas):
    before = canvas_digest(canvas)
    canvas["train"].images[0, 0, 0, 0] += 0.5
    try:
        assert canvas_digest(canvas) != before
    finally:
        canvas["train"].images[0, 0, 0, 0] -= 0.5


# --- the method-level code digest on the real package, read from a copy that the tests edit


@pytest.fixture
def package_copy(tmp_path) -> Path:
    copy = tmp_path / "lazy_artist"
    shutil.copytree(
        Path(lazy_artist.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__")
    )
    return copy


def code_digests(package_dir: Path) -> dict[str, str]:
    """The shared digest and every method's own part, the sources read from ``package_dir``."""
    code = training_code(package_dir)
    digests = {name: code.method_digest(get_algorithm_class(name)) for name in ALGORITHMS}
    return {"shared": code.shared_digest(), **digests}


def insert_code(path: Path, class_name: str, line: str, method: str = "update") -> None:
    """Put ``line`` first in ``class_name.method``'s body (a real code change of that method)."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name]
    (function,) = [n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == method]
    first = function.body[0]
    lines = text.splitlines(keepends=True)
    lines.insert(first.lineno - 1, " " * first.col_offset + line + "\n")
    path.write_text("".join(lines), encoding="utf-8")


def source_of(package_dir: Path, cls: type) -> Path:
    """The file of ``package_dir`` (a copy of the package) that defines ``cls``."""
    return package_dir.joinpath(*cls.__module__.split(".")[1:]).with_suffix(".py")


def subclasses_of(name: str) -> set[str]:
    """Methods whose class has ``name``'s class among its bases (itself included)."""
    cls = get_algorithm_class(name)
    return {other for other in ALGORITHMS if cls in get_algorithm_class(other).__mro__}


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {name for name in before if before[name] != after[name]}


def test_every_method_has_its_own_code_digest():
    digests = code_digests(Path(lazy_artist.__file__).parent)
    methods = [digests[name] for name in ALGORITHMS]
    assert len(set(methods)) == len(ALGORITHMS) > 1


def test_editing_one_methods_update_changes_that_method_only(package_copy):
    algorithms = package_copy / "methods" / "algorithms.py"
    cf_invar = get_algorithm_class("cf_invar").__name__
    before = code_digests(package_copy)
    insert_code(algorithms, cf_invar, "_edited = 1")
    assert changed(before, code_digests(package_copy)) == subclasses_of("cf_invar")


def test_cf_invar_is_untouched_by_every_other_methods_edit(package_copy):
    cf_invar_bases = set(get_algorithm_class("cf_invar").__mro__)
    before = code_digests(package_copy)
    edited = []
    for name in ALGORITHMS:
        cls = get_algorithm_class(name)
        if cls in cf_invar_bases or "update" not in cls.__dict__:
            continue
        insert_code(source_of(package_copy, cls), cls.__name__, f"_edited_{name} = 1")
        after = code_digests(package_copy)
        assert name in changed(before, after)
        assert "cf_invar" not in changed(before, after) and "shared" not in changed(before, after)
        before, edited = after, [*edited, name]
    assert len(edited) >= len(ALGORITHMS) // 2  # most methods were edited


def test_comment_and_docstring_edits_of_the_methods_change_nothing(package_copy):
    algorithms = package_copy / "methods" / "algorithms.py"
    before = code_digests(package_copy)
    text = algorithms.read_text(encoding="utf-8")
    first_def = text.index("\ndef ") if "\ndef " in text else text.index("\nclass ")
    commented = text[:first_def] + "\n# a comment-only edit\n" + text[first_def:]
    algorithms.write_text(commented.replace('"""', '"""Reworded: ', 1), encoding="utf-8")
    cf_invar = get_algorithm_class("cf_invar").__name__
    insert_code(algorithms, cf_invar, "# a comment inside the loss")
    assert code_digests(package_copy) == before
    algorithms.write_text(text + "\nA_CODE_CHANGE = print()\n", encoding="utf-8")
    assert changed(before, code_digests(package_copy)) == {"shared"}  # runs at import: all


def test_hparam_tables_count_by_value_and_their_readers_as_code(package_copy):
    hparams = package_copy / "methods" / "hparams.py"
    text = hparams.read_text(encoding="utf-8")
    before = code_digests(package_copy)
    # A new hparam for cf_invar is in its runs' keys as a value (hparams_for's result).
    (table,) = [
        n
        for n in ast.parse(text).body
        if isinstance(n, ast.AnnAssign | ast.Assign) and "METHOD_SPECS" in ast.dump(n)[:200]
    ]
    lines = text.splitlines(keepends=True)
    start, end = table.lineno - 1, table.end_lineno
    segment = "".join(lines[start:end])
    assert segment.count('"cf_invar": {') == 1
    segment = segment.replace('"cf_invar": {', '"cf_invar": {"new": HParam(0.5, float), ')
    hparams.write_text("".join([*lines[:start], segment, *lines[end:]]), encoding="utf-8")
    assert code_digests(package_copy) == before
    # hparams_for itself is code every run goes through.
    hparams.write_text(text, encoding="utf-8")
    tree = ast.parse(text)
    (reader,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "hparams_for"]
    lines = text.splitlines(keepends=True)
    first = reader.body[0]
    lines.insert(first.lineno - 1, " " * first.col_offset + "_edited = 1\n")
    hparams.write_text("".join(lines), encoding="utf-8")
    assert changed(before, code_digests(package_copy)) == {"shared"}


def test_a_shared_module_edit_changes_the_shared_part(package_copy):
    trainer = package_copy / "methods" / "trainer.py"
    before = code_digests(package_copy)
    trainer.write_text(trainer.read_text(encoding="utf-8") + "\n_EDITED = 1\n", encoding="utf-8")
    assert changed(before, code_digests(package_copy)) == {"shared"}


def test_a_reused_run_saves_the_checkpoint_bytes_its_trained_run_saved(tmp_path, canvas):
    """Later tasks key on the bytes of the T4 checkpoints they read (the early cut-off), so a
    run restored from the memo must write exactly what the run did when it trained."""
    import hashlib

    from lazy_artist.methods.artefacts import MethodIndex

    def saved(build, memo_dir):
        algorithm, result = fit(canvas, RunMemo(memo_dir), name="erm", seed=0)
        index = MethodIndex(tmp_path / build / "models")
        written = index.add("erm", 0, algorithm, result)
        index.save()
        files = [*written.values(), tmp_path / build / "models" / "index.json"]
        return {p.relative_to(tmp_path / build).as_posix(): p.read_bytes() for p in files}

    trained = saved("cold", tmp_path / "memo")
    reused = saved("rebuild", tmp_path / "memo")
    digests = {
        path: (hashlib.sha256(trained[path]).hexdigest(), hashlib.sha256(reused[path]).hexdigest())
        for path in trained
    }
    assert all(a == b for a, b in digests.values()), digests


def test_a_recipe_edit_changes_no_code_digest_but_the_recipe_class_does(package_copy):
    # A run gets its backbone's recipe as fields that are in its key (epochs, width, precision,
    # optimiser settings), so editing lenet_cnn's recipe must not re-key cheater_cnn's runs.
    recipes = package_copy / "methods" / "recipes.py"
    text = recipes.read_text(encoding="utf-8")
    before = code_digests(package_copy)
    lenet = text.index('"lenet_cnn": Recipe(')
    edited = text[:lenet] + text[lenet:].replace("epochs=4,", "epochs=9,", 1)
    assert edited != text
    recipes.write_text(edited, encoding="utf-8")
    assert code_digests(package_copy) == before
    insert_code(recipes, "Recipe", "_edited = 1", method="hparams")
    assert changed(before, code_digests(package_copy)) == {"shared"}
