"""Atomic writes leave files and directories with the modes a plain open()/mkdir() gives."""

from __future__ import annotations

import os
import stat

import pytest

from lazy_artist.fileio import (
    atomic_write_json,
    atomic_write_text,
    current_umask,
    make_temp_dir,
    read_json,
)


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_written_file_is_group_readable_like_a_plain_open(tmp_path, umask_022):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "hello")
    plain = tmp_path / "plain.txt"
    plain.write_text("hello")
    assert mode(target) == 0o644 == mode(plain)
    assert target.read_text() == "hello"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_json_write_follows_another_umask(tmp_path):
    previous = os.umask(0o027)
    try:
        atomic_write_json(tmp_path / "a.json", {"x": 1})
        assert current_umask() == 0o027
    finally:
        os.umask(previous)
    assert mode(tmp_path / "a.json") == 0o640
    assert read_json(tmp_path / "a.json") == {"x": 1}


def test_temp_dir_gets_the_mode_of_mkdir(tmp_path, umask_022):
    made = make_temp_dir(tmp_path, ".entry.")
    assert made.parent == tmp_path and made.name.startswith(".entry.")
    assert mode(made) == 0o755


def test_a_memo_entry_is_renamed_into_place_with_normal_modes(tmp_path, umask_022):
    from lazy_artist.methods.memo import RunMemo
    from tests.methods.test_algorithms import tiny_canvas
    from tests.methods.test_memo import fit

    memo = RunMemo(tmp_path / "memo")
    fit(tiny_canvas(n_train=64), memo)
    entries = [path for path in (tmp_path / "memo").rglob("*") if path.is_dir()]
    files = [path for path in (tmp_path / "memo").rglob("*") if path.is_file()]
    assert entries and files
    assert {mode(path) for path in entries} == {0o755}, "not mkdtemp's private 0700"
    assert {mode(path) for path in files} == {0o644}
