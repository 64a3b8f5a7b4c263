"""The read trace sees every Python-level open under the traced folders, in the process and in
the process_map workers it starts, and nothing outside them."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from lazy_artist import readtrace

CHILD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    import numpy as np

    from lazy_artist import parallel, readtrace
    from lazy_artist.fileio import read_json

    log, root, outside = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    readtrace.install(log, [str(root)])
    (root / "a.txt").read_text()
    np.load(root / "b.npy")
    (outside / "c.txt").read_text()
    with open(root / "a.txt", "rb"):  # a second open of one file: logged once
        pass
    # A spawned worker (two workers, so not in this process) reads a third file.
    print(list(parallel.process_map(read_json, [root / "w.json", root / "w.json"], 2)))
    """
)


def test_opens_under_the_root_are_logged_in_the_process_and_its_workers(tmp_path):
    root, outside = tmp_path / "upstream", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "a.txt").write_text("a")
    (outside / "c.txt").write_text("c")
    (root / "w.json").write_text('{"w": 1}')
    import numpy as np

    np.save(root / "b.npy", np.arange(3))
    log = tmp_path / "reads.log"
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(log), str(root), str(outside)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert child.returncode == 0, child.stderr
    assert "[{'w': 1}, {'w': 1}]" in child.stdout
    read = readtrace.read_log(log)
    assert sorted(read) == sorted(str(root / name) for name in ("a.txt", "b.npy", "w.json"))


def test_a_missing_log_reads_as_nothing(tmp_path):
    assert readtrace.read_log(tmp_path / "none.log") == []


def test_kernel_arguments_round_trip():
    args = readtrace.kernel_arguments("/tmp/log", ["/a", "/b"])
    assert args == ["--trace-log=/tmp/log", "--trace-root=/a", "--trace-root=/b"]
