"""A task's key stands, per upstream task, on the files it read there and the upstream's file
list: other outputs of the upstream may change without re-running it."""

from __future__ import annotations

from lazy_artist.builder.upstream import reads_by_upstream, recorded_reads, upstream_identity

OUTPUTS = {
    "artefacts/models/erm.pt": {"size": 10, "sha256": "a" * 64},
    "artefacts/models/cf_invar.pt": {"size": 10, "sha256": "b" * 64},
    "results.json": {"size": 5, "sha256": "c" * 64},
}


def _with(path: str, digest: str) -> dict:
    return {**OUTPUTS, path: {"size": 10, "sha256": digest}}


def test_without_a_trace_the_upstream_key_stands_for_it():
    assert upstream_identity("KEY", OUTPUTS, None) == "KEY"
    assert upstream_identity("KEY", None, ["results.json"]) == "KEY"


def test_only_the_files_read_count():
    read = ["artefacts/models/erm.pt"]
    before = upstream_identity("K1", OUTPUTS, read)
    # The upstream re-ran (new key) and rewrote a file this task never opened: same identity.
    assert upstream_identity("K2", _with("artefacts/models/cf_invar.pt", "d" * 64), read) == before
    # A file it read changed: a different identity.
    assert upstream_identity("K2", _with("artefacts/models/erm.pt", "d" * 64), read) != before
    # Order and repeats of the reads do not matter.
    assert upstream_identity("K1", OUTPUTS, read * 2) == before


def test_a_file_that_appears_or_vanishes_counts():
    read = ["artefacts/models/erm.pt"]
    before = upstream_identity("K", OUTPUTS, read)
    assert upstream_identity("K", {**OUTPUTS, "extra.txt": {"sha256": "e"}}, read) != before
    fewer = {k: v for k, v in OUTPUTS.items() if k != "results.json"}
    assert upstream_identity("K", fewer, read) != before


def test_a_read_file_that_is_not_an_output_stands_for_the_whole_upstream():
    read = ["task.json"]  # not among the committed outputs' digests
    assert upstream_identity("K1", OUTPUTS, read) != upstream_identity("K2", OUTPUTS, read)


def test_reads_map_to_their_upstream_relative_to_its_folder(tmp_path):
    t0, t4 = tmp_path / "t0", tmp_path / "t4"
    paths = [
        str(t4 / "artefacts" / "models" / "index.json"),
        str(t0 / "artefacts" / "canvas.npz"),
        str(t4 / "artefacts" / "models" / "index.json"),
        str(tmp_path / "t40" / "elsewhere.txt"),  # a sibling whose name starts like t4's
        "/usr/lib/python3/os.py",
    ]
    assert reads_by_upstream(paths, {"t0": t0, "t4": t4, "t1": tmp_path / "t1"}) == {
        "t0": ["artefacts/canvas.npz"],
        "t4": ["artefacts/models/index.json"],
        "t1": [],
    }


def test_recorded_reads_tell_no_trace_from_nothing_read():
    assert recorded_reads(None, "t4") is None
    assert recorded_reads({"key": "k"}, "t4") is None
    assert recorded_reads({"reads": {"t0": ["a"]}}, "t4") == []
    assert recorded_reads({"reads": {"t4": ["a"]}}, "t4") == ["a"]
