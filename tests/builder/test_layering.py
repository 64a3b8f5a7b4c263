"""The builder is a generic engine: the study is its input, so nothing under builder/ imports
the science (at module level or inside a function)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import lazy_artist.builder

SCIENCE = ("attacks", "interpret", "sae", "methods", "inductive", "zoo", "models", "study")


def _import_graph():
    """benchmarks/import_graph.py, the one reader of the package's imports."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "import_graph.py"
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location("import_graph", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


IMPORT_GRAPH = _import_graph()


def science_imports(path: Path) -> list[str]:
    return sorted(
        name
        for name in IMPORT_GRAPH.imports_of(path)
        if name.split(".")[:2] in (["lazy_artist", part] for part in SCIENCE)
    )


def test_no_builder_module_imports_the_science():
    folder = Path(lazy_artist.builder.__file__).parent
    found = {p.name: science_imports(p) for p in sorted(folder.glob("*.py"))}
    offending = {name: imports for name, imports in found.items() if imports}
    assert not offending, f"builder modules importing the study or its science: {offending}"
    assert len(found) > 10


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from lazy_artist.methods.run_plan import explain_t4\n")
    assert science_imports(module) == [
        "lazy_artist.methods.run_plan",
        "lazy_artist.methods.run_plan.explain_t4",
    ]


def test_the_parts_of_the_package_import_each_other_without_cycles():
    """benchmarks/import_graph.py's layering of src/lazy_artist: every part sits above all it
    imports, the builder below the science and the study at the top (below the CLI)."""
    layers, in_cycles = IMPORT_GRAPH.layers(IMPORT_GRAPH.part_graph())
    assert in_cycles == []
    level = {part: k for k, parts in enumerate(layers) for part in parts}
    assert level["builder"] < level["methods"] < level["study"] < level["cli"]
