"""Which library source files a piece of code can reach, and what of them counts as code.

Shared by the build cache (a task's key hashes the modules its notebook imports) and the T4
run memo (a trained run is reused only while the training code it went through is unchanged).
Both hash the syntax tree without comments and docstrings (:func:`code_fingerprint`), so
editing an explanation never re-runs a task or retrains a model; for a notebook only its code
cells count (:func:`notebook_fingerprint`): a markdown edit re-renders the report only.
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import lazy_artist

# Report machinery: changing it re-renders the report but cannot change a task's numbers.
BUILDER_PARTS = ("builder", "cli.py", "__main__.py")


def package_root(package_dir: Path | None) -> Path:
    return Path(package_dir or Path(lazy_artist.__file__).parent)


def _is_type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``: false whenever the code runs."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` except the bodies of ``if TYPE_CHECKING:`` blocks: imports there
    never run, so they cannot change a result (their ``else`` branch does run)."""
    nodes, pending = [], [tree]
    while pending:
        node = pending.pop()
        nodes.append(node)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))
    return nodes


def _imported_names(source: str, package: str) -> set[str]:
    """Dotted names ``package.x.y`` that ``source`` imports, including ``from package.x import y``
    (``y`` may be a module or an attribute; both candidates are returned, unknown ones dropped)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {package}  # unparsable: depend on the package root at least
    names: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name == package or name.startswith(package + ".")}


def _module_files(name: str, package: str, package_dir: Path) -> list[Path]:
    """The files executed when ``name`` is imported: its own and its parents' ``__init__``."""
    parts = name.split(".")[1:]
    files = [package_dir / "__init__.py"]
    for depth in range(1, len(parts) + 1):
        stem = package_dir.joinpath(*parts[:depth])
        if (stem / "__init__.py").exists():
            files.append(stem / "__init__.py")
        elif depth == len(parts) and stem.with_suffix(".py").exists():
            files.append(stem.with_suffix(".py"))
        else:
            break  # an attribute, not a module
    return files


def reachable_modules(source: str, package_dir: Path | None = None) -> list[Path]:
    """Library files that ``source`` (a notebook's text) imports, directly or through the
    library itself, sorted; the builder parts are never included."""
    package_dir = package_root(package_dir)
    package = package_dir.name
    seen: set[Path] = set()
    pending = [source]
    while pending:
        for name in _imported_names(pending.pop(), package):
            for path in _module_files(name, package, package_dir):
                if path not in seen:
                    seen.add(path)
                    pending.append(path.read_text(encoding="utf-8"))
    return sorted(
        path for path in seen if path.relative_to(package_dir).parts[0] not in BUILDER_PARTS
    )


_DOCSTRING_OWNERS = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def strip_docstrings(tree: ast.AST) -> ast.AST:
    """``tree`` with the docstring of every module, class and function removed (in place)."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, _DOCSTRING_OWNERS)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:]
    return tree


def code_fingerprint(source: str) -> str:
    """What of ``source`` can change what it computes: its syntax tree without docstrings
    (comments are not in the tree) or positions. Unparsable text counts as a whole."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return "text:" + source
    return ast.dump(strip_docstrings(tree), annotate_fields=True, include_attributes=False)


def notebook_fingerprint(text: str) -> str:
    """What of a notebook's text (jupytext percent format, or .ipynb JSON) counts as code: each
    code cell's :func:`code_fingerprint` and tags (``parameters`` tells papermill where to
    inject), in order. Markdown cells and comments do not count."""
    import jupytext  # only the builder reads notebooks; the training code never imports this

    fmt = "ipynb" if text.lstrip().startswith("{") else "py:percent"
    try:
        notebook = jupytext.reads(text, fmt=fmt)
    except Exception:  # not a notebook jupytext reads: the text is all there is
        return "text:" + text
    cells = [
        [sorted(cell.metadata.get("tags", [])), code_fingerprint(cell.source)]
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]
    # A code cell of comments only runs nothing: adding or removing one is no change either.
    empty = code_fingerprint("")
    return json.dumps([cell for cell in cells if cell != [[], empty]])


def module_digests(paths: Iterable[Path], package_dir: Path | None = None) -> dict[str, str]:
    """``{relative path: sha256 of its code fingerprint}`` per module, so that a changed key
    can name the module that changed it."""
    package_dir = package_root(package_dir)
    return {
        path.relative_to(package_dir).as_posix(): hashlib.sha256(
            code_fingerprint(path.read_text(encoding="utf-8")).encode()
        ).hexdigest()
        for path in sorted(paths)
    }


def combine_digests(digests: Mapping[str, str]) -> str:
    """One sha256 over per-module digests (name + digest, sorted by name)."""
    digest = hashlib.sha256()
    for name, value in sorted(digests.items()):
        digest.update(name.encode() + b"\0" + value.encode() + b"\0")
    return digest.hexdigest()


def source_digest(paths: Iterable[Path], package_dir: Path | None = None) -> str:
    """sha256 over ``paths``' code (relative path + code fingerprint), comments and docstrings
    left out."""
    return combine_digests(module_digests(paths, package_dir))
