"""The import graph of ``src/lazy_artist`` between its parts (subpackages and top-level
modules), read from the syntax trees (imports inside functions included), with its layers
and any cycle. Prints one JSON line: per part what it imports, the layers (each part above
everything it imports), and the cycles (none expected). The builder must sit below the
science: it imports none of it (``tests/builder/test_layering.py`` checks the same).

    python benchmarks/import_graph.py --out build/bench/import_graph.json
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

from _report import emit

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "lazy_artist"


def part_of(module: str) -> str | None:
    """``lazy_artist.methods.memo`` -> ``methods``; ``lazy_artist.stats`` -> ``stats``."""
    pieces = module.split(".")
    if pieces[0] != "lazy_artist" or len(pieces) < 2:
        return None
    return pieces[1]


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def part_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        part = relative.parts[0].removesuffix(".py")
        if part in ("__init__", "__main__"):
            continue
        targets = {part_of(name) for name in imports_of(path)}
        known = {t for t in targets if t and t != part and (PACKAGE / t).exists()}
        known |= {t for t in targets if t and t != part and (PACKAGE / f"{t}.py").exists()}
        graph.setdefault(part, set()).update(known)
    return graph


def layers(graph: dict[str, set[str]]) -> tuple[list[list[str]], list[str]]:
    """Parts by layer (layer 0 imports no other part); the parts left in a cycle."""
    placed: dict[str, int] = {}
    remaining = dict(graph)
    while remaining:
        ready = [p for p, deps in remaining.items() if all(d in placed for d in deps)]
        if not ready:
            break
        for part in ready:
            placed[part] = 1 + max((placed[d] for d in graph[part]), default=-1)
            del remaining[part]
    depth = max(placed.values(), default=-1) + 1
    return [sorted(p for p, level in placed.items() if level == k) for k in range(depth)], sorted(
        remaining
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    graph = part_graph()
    by_layer, in_cycles = layers(graph)
    science = {"attacks", "interpret", "sae", "methods", "inductive", "zoo", "models", "study"}
    return emit(
        {
            "benchmark": "import_graph",
            "imports": {part: sorted(deps) for part, deps in sorted(graph.items())},
            "layers": by_layer,
            "in_cycles": in_cycles,
            "builder_imports_science": sorted(graph.get("builder", set()) & science),
        },
        args.out,
    )


if __name__ == "__main__":
    main()
