"""Which code one method's runs reach, definition by definition: the method-level memo key.

:func:`lazy_artist.sourcehash.source_digest` hashes whole modules; :class:`CodeGraph` splits a
program in two. The **shared part** is what every run goes through: every library module the
entry point imports, hashed whole, except the *split* modules (the methods' own files, e.g.
``methods/algorithms.py``), of which only the definitions the shared modules use count, plus
their import-time statements. The **method part** of a class is its definition and those of
its base classes in the package, and, transitively, every module-level function, class,
constant and import alias of the package that those bodies name, resolved the way Python
would: through the defining module's top-level bindings and ``from``-imports, with attribute
access on an imported package module (``counterfactual.recolour``) followed into it. A run's
key needs both; editing one method's loss changes only that method's part.

Every definition counts as its syntax tree without docstrings or positions (comments are not
in the tree), so rewording an explanation changes nothing. Where a name cannot be followed the
digest takes more, never less:

- a name that is not bound in its module, not a builtin and not local: the whole module (also
  every module it ``import *``-s); ``globals()``, ``vars()``, ``locals()``, ``eval``, ``exec``:
  the whole module; ``__import__``, ``import_module``, ``sys.modules``: the whole package;
- a package module used as a value rather than through an attribute: that whole module (for a
  package, every module under it); a module reached that is neither shared nor split: whole;
- module-level state of a split module that some code mutates (item or attribute assignment,
  ``append``/``update``/... or a torch in-place ``name_()`` call, ``global``): a read of it
  (a *registry*: what it holds was put there by code the reader does not name) takes the whole
  module. One exception, the *entry registry* (``base.REGISTRY``): the shared code
  looks up the run's own method in it, and that class is ``type(algorithm)``, hashed as the
  method part; a read of its keys (``list(REGISTRY)``) adds the registered names in their
  order (of every split module's classes the registrar decorates, wherever it is imported)
  and the code that registers them, so adding or renaming a method changes every key;
  a method whose own code reads it takes the whole module;
- statements of a split module that run code at import (everything but ``def``, ``class``,
  imports and ``NAME = <constants, names and displays of them>``: assignments that call or
  compute, expressions, ``if``/``try`` blocks, ``from __future__``) are shared; a plain value
  counts where it is used. A class body and its decorators also run at import: they are
  taken to act on the class (or, like ``@register``, on a registry, handled above), not on
  other methods' state.

*Keyed by value*: a split module's table whose only effect on a run is values that are in
the key already. ``methods/hparams.py``'s tables (``METHOD_SPECS``, ``DEFAULT_HPARAMS``, ...:
every ``NAME = {...}`` there) reach a run only through ``hparams_for``, i.e. as the resolved
hparams, which the memo key holds as values, so a new default or range for one method does not
re-key the others. Such a table counts as its names only (the classes and functions it builds
from, e.g. ``HParam`` and the samplers, are still followed and hashed) when the code naming it
is one of its declared readers; named by any other code, or changed by any code, it counts
whole. Not followed: module state changed through another name for it (an alias, or passed to
a function that changes it), and modules outside the shared and split ones changing a split
module's state.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lazy_artist.sourcehash import (
    code_fingerprint,
    package_root,
    reachable_modules,
    strip_docstrings,
)

BUILTINS = frozenset(dir(builtins))
# Method calls that change the object they are called on (plus torch's in-place ``name_()``).
MUTATING_METHODS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "update",
        "setdefault",
        "add",
        "pop",
        "popitem",
        "remove",
        "discard",
        "clear",
        "sort",
        "reverse",
        "__setitem__",
        "__delitem__",
    }
)
KEYED_METHODS = frozenset({"get", "__getitem__", "__contains__"})  # one entry of a container
KEYS_FUNCTIONS = frozenset({"list", "tuple", "sorted", "set", "frozenset", "len", "iter"})
NAMESPACE_NAMES = frozenset({"globals", "locals", "vars", "eval", "exec"})
DYNAMIC_IMPORTS = frozenset({"__import__", "import_module"})
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_SCOPES = (*_DEFINITIONS, ast.Lambda)


def _dump(node: ast.AST) -> str:
    return ast.dump(node, annotate_fields=True, include_attributes=False)


@dataclass(frozen=True)
class _Binding:
    """One way a module binds a top-level name: statement ``index`` (and ``alias``, the
    position in an import's names). For an import, ``target`` is the package module it names
    (None: outside the package) and ``attr`` the name taken from it (None: the module itself)."""

    index: int
    alias: int | None = None
    is_import: bool = False
    target: str | None = None
    attr: str | None = None
    text: str = ""


@dataclass
class _Ref:
    """A name a statement uses, with the attributes taken from it: ``chain`` ("recolour",) or
    ("counterfactual", "recolour"); ``usage[d]`` says how the object ``chain[: d + 1]`` is
    used (keyed, keys, write or escape); ``mutates``: the use changes that object's state."""

    chain: tuple[str, ...]
    usage: tuple[str, ...]
    mutates: bool = False


@dataclass
class _Statement:
    refs: list[_Ref]
    local: set[str]  # names bound inside the statement (parameters, assignments, ...)
    globals_written: set[str]  # ``global x`` then ``x = ...`` inside a function
    names: set[str]  # the top-level names it binds


@dataclass
class _Module:
    name: str
    path: Path
    rel: str
    is_package: bool
    source: str
    body: list[ast.stmt] | None  # None: unparsable
    bindings: dict[str, list[_Binding]] = field(default_factory=dict)
    star: list[str | None] = field(default_factory=list)
    statements: dict[int, _Statement] = field(default_factory=dict)
    _dumps: dict[int, str] = field(default_factory=dict)

    def dump(self, index: int) -> str:
        """Statement ``index`` as hashed: its syntax tree, without docstrings or positions."""
        if index not in self._dumps:
            assert self.body is not None
            self._dumps[index] = _dump(self.body[index])
        return self._dumps[index]

    def fingerprint(self) -> str:
        """The whole module as :func:`~lazy_artist.sourcehash.code_fingerprint` gives it."""
        if self.body is None:
            return "text:" + self.source
        return _dump(ast.Module(body=self.body, type_ignores=[]))


def _absolute(module: _Module, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    parts = module.name.split(".")
    if not module.is_package:
        parts = parts[:-1]
    parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
    return ".".join([*parts, *([node.module] if node.module else [])])


def _scope_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """``node`` and what it contains in the same scope: nested function, class and lambda
    bodies are left out (their names, decorators and defaults are in this scope)."""
    yield node
    if isinstance(node, _SCOPES) and not isinstance(node, ast.Lambda):
        inner: list[ast.AST] = [*node.decorator_list]
        if isinstance(node, ast.ClassDef):
            inner += [*node.bases, *node.keywords]
        else:
            inner += [*node.args.defaults, *node.args.kw_defaults]
        for child in inner:
            if child is not None:
                yield from _scope_nodes(child)
        return
    if isinstance(node, ast.Lambda):
        for child in node.args.defaults:
            yield from _scope_nodes(child)
        return
    if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
        yield from _scope_nodes(node.generators[0].iter)  # the rest is the comprehension's own
        return
    for child in ast.iter_child_nodes(node):
        yield from _scope_nodes(child)


def _usage(path: list[ast.AST], depth: int, parents: Mapping[ast.AST, ast.AST]) -> str:
    """How the object at ``path[depth]`` is used: through one entry ("keyed"), through its
    keys only ("keys"), changed without being read ("write"), or otherwise ("escape")."""
    node = path[depth]
    if depth + 1 < len(path):
        step = path[depth + 1]
        if isinstance(step, ast.Subscript):
            return (
                "write"
                if step is path[-1] and isinstance(step.ctx, ast.Store | ast.Del)
                else "keyed"
            )
        assert isinstance(step, ast.Attribute)
        parent = parents.get(step)
        if isinstance(parent, ast.Call) and parent.func is step:
            if step.attr in KEYED_METHODS:
                return "keyed"
            if step.attr == "keys":
                return "keys"
            if step.attr in MUTATING_METHODS - {"pop", "popitem", "setdefault"}:
                return "write"
        if step is path[-1] and isinstance(step.ctx, ast.Store | ast.Del):
            return "write"
        return "escape"
    parent = parents.get(node)
    if isinstance(parent, ast.Compare) and any(node is c for c in parent.comparators):
        if all(isinstance(op, ast.In | ast.NotIn) for op in parent.ops):
            return "keyed"
    if (
        isinstance(parent, ast.Call)
        and isinstance(parent.func, ast.Name)
        and parent.func.id in KEYS_FUNCTIONS
        and any(node is a for a in parent.args)
    ):
        return "keys"
    if isinstance(parent, ast.For | ast.comprehension) and parent.iter is node:
        return "keys"
    return "escape"


def _mutates(path: list[ast.AST], parents: Mapping[ast.AST, ast.AST]) -> bool:
    last = path[-1]
    if len(path) > 1 and isinstance(getattr(last, "ctx", None), ast.Store | ast.Del):
        return True
    parent = parents.get(last)
    if isinstance(parent, ast.AugAssign) and parent.target is last and len(path) > 1:
        return True
    if isinstance(last, ast.Attribute) and isinstance(parent, ast.Call) and parent.func is last:
        attr = last.attr
        return attr in MUTATING_METHODS or (attr.endswith("_") and not attr.startswith("_"))
    return False


def _statement(stmt: ast.stmt, names: set[str]) -> _Statement:
    """The names ``stmt`` uses (with how) and the names it binds inside, in one walk."""
    parents: dict[ast.AST, ast.AST] = {}
    loads: list[ast.Name] = []
    local: set[str] = set()  # every name bound anywhere inside: an over-approximation
    declared: set[str] = set()
    pending: list[ast.AST] = [stmt]
    while pending:
        node = pending.pop()
        for child in ast.iter_child_nodes(node):
            parents[child] = node
            pending.append(child)
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                loads.append(node)
            else:
                local.add(node.id)
        elif isinstance(node, ast.arg):
            local.add(node.arg)
        elif isinstance(node, _DEFINITIONS):
            local.add(node.name)
        elif isinstance(node, ast.alias):
            local.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            local.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            local.add(node.rest)
        elif isinstance(node, ast.Global):
            declared.update(node.names)
    refs: list[_Ref] = []
    for node in loads:
        path: list[ast.AST] = [node]
        chain = [node.id]
        while True:
            parent = parents.get(path[-1])
            if isinstance(parent, ast.Attribute) and parent.value is path[-1]:
                if len(chain) == len(path):  # attributes directly on the name extend the chain
                    chain.append(parent.attr)
                path.append(parent)
            elif isinstance(parent, ast.Subscript) and parent.value is path[-1]:
                path.append(parent)
            else:
                break
        usage = tuple(_usage(path, depth, parents) for depth in range(len(chain)))
        refs.append(_Ref(tuple(chain), usage, _mutates(path, parents)))
    # ``global x`` and a binding of x in the same definition: it rebinds module state.
    return _Statement(refs, local, declared & local, names)


_TABLES = (ast.Dict, ast.DictComp, ast.List, ast.ListComp, ast.Set, ast.SetComp, ast.Tuple)


def _table_name(stmt: ast.stmt) -> str | None:
    """The name a top-level ``NAME = {...}`` (or list, set, tuple, comprehension) binds."""
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [getattr(stmt, "target", None)]
    if (
        isinstance(stmt, ast.Assign | ast.AnnAssign)
        and len(targets) == 1
        and isinstance(targets[0], ast.Name)
        and isinstance(stmt.value, _TABLES)
    ):
        return targets[0].id
    return None


def _inert(node: ast.expr | None) -> bool:
    """Whether evaluating ``node`` can do nothing but build a value: constants, names and
    displays of them (no call, attribute, subscript or operator, which run code)."""
    if node is None or isinstance(node, ast.Constant | ast.Name):
        return True
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return all(_inert(element) for element in node.elts)
    if isinstance(node, ast.Dict):
        return all(_inert(part) for part in [*node.keys, *node.values])
    return False


def _runs_at_import(stmt: ast.stmt) -> bool:
    """Whether a top-level statement does anything when its module is imported beyond binding
    a definition, an import or a plain value (``from __future__`` changes how the whole
    module compiles); a plain value counts where it is used."""
    if isinstance(stmt, (*_DEFINITIONS, ast.Import)):
        return False
    if isinstance(stmt, ast.ImportFrom):
        return stmt.module == "__future__"
    if isinstance(stmt, ast.Assign):
        return not (all(isinstance(t, ast.Name) for t in stmt.targets) and _inert(stmt.value))
    if isinstance(stmt, ast.AnnAssign):
        return not (isinstance(stmt.target, ast.Name) and _inert(stmt.value))
    return True


class CodeGraph:
    """The code a program entered through ``entry`` (source text, e.g. ``"import
    lazy_artist.methods.run"``) reaches, with the modules in ``split`` hashed per definition.

    ``keyed_by_value``: ``{module: (names, readers)}``, top-level tables of a split module
    that count as their names only when named by ``readers`` (names of that module's
    definitions) or by each other; ``names`` ``"*"``: every ``NAME = {...}`` (or list, set,
    tuple, comprehension) of the module; ``entry_registries``: ``(module, name)`` of registries the
    shared code reads only for the run's own class (see the module docstring).
    """

    def __init__(
        self,
        entry: str,
        split: Iterable[str],
        package_dir: Path | None = None,
        keyed_by_value: Mapping[str, tuple[Iterable[str] | str, Iterable[str]]] | None = None,
        entry_registries: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.package_dir = package_root(package_dir)
        self.package = self.package_dir.name
        self.split = frozenset(split)
        self._keyed_by_value = dict(keyed_by_value or {})
        self._keyed: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self.entry_registries = frozenset(entry_registries)
        reached = {self._module_name(p) for p in reachable_modules(entry, self.package_dir)}
        self.whole = frozenset(reached - self.split)
        self._modules: dict[str, _Module | None] = {}
        self._mutated: dict[tuple[str, str], set[tuple[str, int]]] | None = None
        self._shared: _Closure | None = None
        self._classes: dict[tuple[str, ...], _Closure] = {}

    # --- modules ----------------------------------------------------------------------------

    def _module_name(self, path: Path) -> str:
        parts = list(path.relative_to(self.package_dir).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        return ".".join([self.package, *parts])

    def ours(self, name: str) -> bool:
        return name == self.package or name.startswith(self.package + ".")

    def _path(self, name: str) -> Path | None:
        stem = self.package_dir.joinpath(*name.split(".")[1:])
        if (stem / "__init__.py").is_file():
            return stem / "__init__.py"
        if name != self.package and stem.with_suffix(".py").is_file():
            return stem.with_suffix(".py")
        return None

    def module(self, name: str) -> _Module | None:
        if name not in self._modules:
            path = self._path(name) if self.ours(name) else None
            self._modules[name] = None if path is None else self._parse(name, path)
        return self._modules[name]

    def _parse(self, name: str, path: Path) -> _Module:
        source = path.read_text(encoding="utf-8")
        try:
            body = strip_docstrings(ast.parse(source)).body  # type: ignore[attr-defined]
        except SyntaxError:
            body = None
        rel = path.relative_to(self.package_dir).as_posix()
        module = _Module(name, path, rel, path.name == "__init__.py", source, body)
        for index, stmt in enumerate(body or []):
            self._bind(module, index, stmt)
        return module

    def _bind(self, module: _Module, index: int, stmt: ast.stmt) -> None:
        names: set[str] = set()

        def add(name: str, binding: _Binding) -> None:
            names.add(name)
            module.bindings.setdefault(name, []).append(binding)

        for node in _scope_nodes(stmt):
            if isinstance(node, ast.Import | ast.ImportFrom):
                # An import inside a top-level if/try binds like one at top level.
                for alias_index, alias in enumerate(node.names):
                    if isinstance(node, ast.Import):
                        bound = alias.asname or alias.name.split(".")[0]
                        target = alias.name if alias.asname else alias.name.split(".")[0]
                        text = f"import {alias.name} as {bound}"
                        attr = None
                    else:
                        source = _absolute(module, node)
                        if alias.name == "*":
                            module.star.append(source if self.ours(source) else None)
                            continue
                        bound, target, attr = alias.asname or alias.name, source, alias.name
                        text = f"from {'.' * node.level}{node.module or ''} import {alias.name} as {bound}"
                    add(
                        bound,
                        _Binding(
                            index,
                            alias_index,
                            True,
                            target if self.ours(target) else None,
                            attr,
                            text,
                        ),
                    )
            elif node is stmt and isinstance(node, _DEFINITIONS):
                add(node.name, _Binding(index))
            elif isinstance(node, _DEFINITIONS):  # defined inside a top-level if/try
                add(node.name, _Binding(index))
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
                add(node.id, _Binding(index))
            elif isinstance(node, ast.Attribute | ast.Subscript) and isinstance(
                node.ctx, ast.Store | ast.Del
            ):
                base = node
                while isinstance(base, ast.Attribute | ast.Subscript):
                    base = base.value
                if isinstance(base, ast.Name):  # X.attr = ... at import changes X
                    add(base.id, _Binding(index))
        info = _statement(stmt, names)
        for name in info.globals_written:  # a function rebinding a module-level name
            if index not in {b.index for b in module.bindings.get(name, [])}:
                add(name, _Binding(index))
        info.names = names
        module.statements[index] = info

    def keyed(self, module: str) -> tuple[frozenset[str], frozenset[str]]:
        """``(tables keyed by value, the names whose reads of them count by value)``."""
        if module not in self._keyed:
            names, readers = self._keyed_by_value.get(module, ((), ()))
            if names == "*":
                info = self.module(module)
                found = [_table_name(stmt) for stmt in (info.body or [])] if info else []
                names = [name for name in found if name is not None]
            names = frozenset(names)
            self._keyed[module] = (names, frozenset(readers) | names)
        return self._keyed[module]

    # --- following a name -------------------------------------------------------------------

    def lookup(
        self,
        module: str,
        chain: tuple[str, ...],
        on_import: Callable[[str, _Binding], None] | None = None,
    ) -> list[tuple]:
        """Where ``chain`` used in ``module`` leads, each way it can: ("def", module, name,
        depth, bindings), ("module", name), ("external",), ("unresolved", module) or
        ("missing", name). ``on_import`` sees every import binding passed on the way."""
        found: list[tuple] = []
        self._follow_name(module, chain, 0, on_import, found, set())
        return found

    def _follow_name(self, module, chain, depth, on_import, found, seen) -> None:
        name = chain[depth]
        if (module, name) in seen:
            return
        seen.add((module, name))
        info = self.module(module)
        if info is None:
            found.append(("missing", module))
            return
        if info.body is None or name not in info.bindings:
            found.append(("unresolved", module))
            return
        bindings = info.bindings[name]
        definitions = [b for b in bindings if not b.is_import]
        if definitions:
            found.append(("def", module, name, depth, definitions))
        for binding in bindings:
            if not binding.is_import:
                continue
            if on_import is not None:
                on_import(module, binding)
            if binding.target is None:
                found.append(("external",))
            elif binding.attr is None:
                self._follow_module(binding.target, chain, depth, on_import, found, seen)
            else:
                self._follow_attr(
                    binding.target, binding.attr, chain, depth, on_import, found, seen
                )

    def _follow_attr(self, module, attr, chain, depth, on_import, found, seen) -> None:
        info = self.module(module)
        if info is None:
            found.append(("missing", module))
        elif attr in info.bindings:
            self._follow_name(
                module, (*chain[:depth], attr, *chain[depth + 1 :]), depth, on_import, found, seen
            )
        elif info.is_package and self.module(f"{module}.{attr}") is not None:
            self._follow_module(f"{module}.{attr}", chain, depth, on_import, found, seen)
        else:
            found.append(("unresolved", module))

    def _follow_module(self, module, chain, depth, on_import, found, seen) -> None:
        """``chain[depth]`` names the package module ``module``: follow the next attribute."""
        if depth + 1 >= len(chain):
            found.append(("module", module))
        else:
            self._follow_attr(module, chain[depth + 1], chain, depth + 1, on_import, found, seen)

    # --- state that code changes ------------------------------------------------------------

    def mutated(self) -> dict[tuple[str, str], set[tuple[str, int]]]:
        """``{(split module, name): {(module, statement) that changes it}}``, over the shared
        and split modules."""
        if self._mutated is None:
            self._mutated = {}
            for name in sorted(self.whole | self.split):
                info = self.module(name)
                if info is None or info.body is None:
                    continue
                for index, stmt in info.statements.items():
                    for written in stmt.globals_written:
                        self._mutated.setdefault((name, written), set()).add((name, index))
                    for ref in stmt.refs:
                        if not ref.mutates or ref.chain[0] not in info.bindings:
                            continue
                        for hit in self.lookup(name, ref.chain):
                            if hit[0] == "def" and hit[1] in self.split:
                                self._mutated.setdefault((hit[1], hit[2]), set()).add((name, index))
        return self._mutated

    # --- digests ----------------------------------------------------------------------------

    def shared(self) -> _Closure:
        if self._shared is None:
            closure = _Closure(self, shared=True)
            for name in sorted(self.whole):
                closure.add_refs_of_module(name)
            for name in sorted(self.split):
                info = self.module(name)
                if info is None:
                    continue
                if info.body is None:
                    closure.add_whole(name)
                    continue
                keyed = self.keyed(name)[0]
                for index, stmt in enumerate(info.body):
                    if _runs_at_import(stmt) and _table_name(stmt) not in keyed:
                        closure.add_statement(name, index)
            closure.run()
            self._shared = closure
        return self._shared

    def shared_digest(self) -> str:
        """sha256 of what every run goes through: the shared modules whole, and what of the
        split modules they (and the split modules' import-time statements) use."""
        digest = hashlib.sha256()
        for name in sorted(self.whole):
            info = self.module(name)
            if info is not None:
                digest.update(f"{info.rel}\0{info.fingerprint()}\0".encode())
        digest.update(self.shared().digest().encode())
        return digest.hexdigest()

    def _class_roots(self, cls: type) -> tuple[tuple[str, str], ...]:
        return tuple(
            (klass.__module__, klass.__qualname__)
            for klass in cls.__mro__
            if self.ours(klass.__module__)
        )

    def method(self, cls: type) -> _Closure:
        roots = self._class_roots(cls)
        if roots not in self._classes:
            closure = _Closure(self, shared=False)
            for module, qualname in roots:
                if "." in qualname or self.module(module) is None:  # nested or not a file
                    closure.add_whole(module)
                else:
                    closure.add_name(module, qualname)
            closure.run()
            self._classes[roots] = closure
        return self._classes[roots]

    def method_digest(self, cls: type) -> str:
        """sha256 of the code ``cls`` reaches beyond the shared part (its class, its bases in
        the package and what they name). A class from outside the package counts as its
        module's source."""
        if not self.ours(cls.__module__):
            try:
                text = code_fingerprint(inspect.getsource(inspect.getmodule(cls)))  # type: ignore[arg-type]
            except (OSError, TypeError):
                text = f"unreadable:{cls.__module__}.{cls.__qualname__}"
            return hashlib.sha256(text.encode()).hexdigest()
        return self.method(cls).digest()

    def run_digest(self, cls: type) -> str:
        """The code digest of one run of ``cls``: shared part and method part together."""
        return hashlib.sha256(
            f"{self.shared_digest()}/{self.method_digest(cls)}".encode()
        ).hexdigest()


class _Closure:
    """The units (definitions, import aliases, whole modules) some roots reach."""

    def __init__(self, graph: CodeGraph, shared: bool) -> None:
        self.graph = graph
        self.shared = shared
        # (rel, index, alias, kind) -> content; kind orders a module's special units last.
        self.units: dict[tuple[str, int, int, str], str] = {}
        self.labels: dict[tuple[str, int, int, str], str] = {}
        self._pending: list[tuple[str, int | None]] = []  # (module, statement or None: all)
        self._done: set[tuple[str, int | None]] = set()

    # --- adding units -----------------------------------------------------------------------

    def _other(self, module: str) -> bool:
        """A module hashed neither whole in the shared part nor per definition: whole here."""
        return module not in self.graph.whole and module not in self.graph.split

    def add_statement(self, module: str, index: int, keyed: bool = False) -> None:
        if module in self.graph.whole:
            return  # in the shared part, whole
        if self._other(module):
            self.add_whole(module)
            return
        info = self.graph.module(module)
        assert info is not None and info.body is not None
        unit = (info.rel, index, -1, "")
        content = "keyed by value" if keyed else info.dump(index)
        if unit in self.units and (keyed or self.units[unit] == content):
            return
        self.units[unit] = content
        names = sorted(info.statements[index].names)
        self.labels[unit] = f"{info.rel}:{','.join(names) or f'statement {index}'}"
        self._queue(module, index)

    def add_import(self, module: str, binding: _Binding) -> None:
        if module in self.graph.whole:
            return
        if self._other(module):
            self.add_whole(module)
            return
        info = self.graph.module(module)
        assert info is not None
        unit = (info.rel, binding.index, binding.alias or 0, "")
        self.units[unit] = binding.text
        self.labels[unit] = f"{info.rel}:{binding.text}"

    def add_whole(self, module: str) -> None:
        if module in self.graph.whole:
            return
        info = self.graph.module(module)
        if info is None:
            unit = (module, -1, -1, "missing")
            self.units[unit] = "missing"
            self.labels[unit] = f"{module} (missing)"
            return
        unit = (info.rel, -1, -1, "whole")
        if unit in self.units:
            return
        self.units[unit] = info.fingerprint()
        self.labels[unit] = f"{info.rel} (whole)"
        if info.body is not None:
            self._queue(module, None)

    def add_refs_of_module(self, module: str) -> None:
        """Follow every name a module hashed whole elsewhere uses (not hashing it here)."""
        self._queue(module, None)

    def add_name(self, module: str, name: str) -> None:
        self._resolve(module, _Ref((name,), ("escape",)), frozenset(), set())

    def _registry_signature(self, module: str, name: str) -> None:
        """What reading the entry registry's keys depends on: the registered classes' names in
        order, and the code that registers them."""
        info = self.graph.module(module)
        assert info is not None and info.body is not None
        writers = self.graph.mutated().get((module, name), set())
        registrars = set()
        for writer_module, index in sorted(writers):
            self.add_statement(writer_module, index)
            if writer_module == module:
                registrars |= info.statements[index].names
        entries = []
        for stmt, registers in self._registered_classes(module, registrars):
            if not registers:
                continue
            own = [
                _dump(s)
                for s in stmt.body
                if isinstance(s, ast.Assign | ast.AnnAssign)
                and any(
                    isinstance(t, ast.Name) and t.id == "name"
                    for t in (s.targets if isinstance(s, ast.Assign) else [s.target])
                )
            ]
            entries.append(own or ["inherits", *map(_dump, stmt.bases)])
        unit = (info.rel, -1, -1, f"registry {name}")
        self.units[unit] = repr(entries)
        self.labels[unit] = f"{info.rel}:{name} (registered names)"

    def _registered_classes(
        self, module: str, registrars: set[str]
    ) -> Iterator[tuple[ast.ClassDef, bool]]:
        """Every class of the registry's module, then of the other split modules (by name),
        with whether a decorator of it is one of ``registrars`` (functions of ``module``),
        named there directly or imported from ``module`` (``from .base import register``)."""
        graph = self.graph
        for name in [module, *sorted(graph.split - {module})]:
            info = graph.module(name)
            if info is None or info.body is None:
                continue
            for stmt in info.body:
                if not isinstance(stmt, ast.ClassDef):
                    continue
                decorators = [d.func if isinstance(d, ast.Call) else d for d in stmt.decorator_list]
                yield (
                    stmt,
                    any(
                        isinstance(d, ast.Name)
                        and self._names_registrar(name, d.id, module, registrars)
                        for d in decorators
                    ),
                )

    def _names_registrar(self, where: str, name: str, module: str, registrars: set[str]) -> bool:
        if where == module:
            return name in registrars
        return any(
            hit[0] == "def" and hit[1] == module and hit[2] in registrars
            for hit in self.graph.lookup(where, (name,))
        )

    # --- walking ----------------------------------------------------------------------------

    def _queue(self, module: str, index: int | None) -> None:
        if (module, index) not in self._done:
            self._done.add((module, index))
            self._pending.append((module, index))

    def run(self) -> None:
        while self._pending:
            module, index = self._pending.pop()
            info = self.graph.module(module)
            assert info is not None and info.body is not None
            indices = range(len(info.body)) if index is None else [index]
            for i in indices:
                stmt = info.statements[i]
                for ref in stmt.refs:
                    self._resolve(module, ref, frozenset(stmt.names), stmt.local)

    def _resolve(self, module: str, ref: _Ref, referrer: frozenset[str], local: set[str]) -> None:
        graph = self.graph
        info = graph.module(module)
        assert info is not None
        first = ref.chain[0]
        if any(part in DYNAMIC_IMPORTS for part in ref.chain) or ref.chain[:2] == (
            "sys",
            "modules",
        ):
            for path in sorted(graph.package_dir.rglob("*.py")):
                self.add_whole(graph._module_name(path))
        if first not in info.bindings:
            if first in NAMESPACE_NAMES:
                self.add_whole(module)
            elif first not in BUILTINS and first not in local:
                self.add_whole(module)  # cannot tell where it comes from
                for star in info.star:
                    if star is not None:
                        self.add_whole(star)
            return
        for hit in graph.lookup(module, ref.chain, on_import=self.add_import):
            kind = hit[0]
            if kind == "def":
                _, target, name, depth, bindings = hit
                names, readers = graph.keyed(target)
                keyed = name in names and target == module and bool(referrer & readers)
                for binding in bindings:
                    self.add_statement(target, binding.index, keyed=keyed)
                if (target, name) in graph.mutated():
                    self._registry_read(target, name, ref.usage[depth])
            elif kind == "module":
                self.add_whole(hit[1])
                target_info = graph.module(hit[1])
                if target_info is not None and target_info.is_package:
                    for path in sorted(target_info.path.parent.rglob("*.py")):
                        self.add_whole(graph._module_name(path))
            elif kind in ("unresolved", "missing"):
                self.add_whole(hit[1])

    def _registry_read(self, module: str, name: str, usage: str) -> None:
        if usage == "write":
            return
        if self.shared and (module, name) in self.graph.entry_registries:
            if usage == "keyed":
                return  # the run's own class: its method part
            if usage == "keys":
                self._registry_signature(module, name)
                return
        self.add_whole(module)

    # --- results ----------------------------------------------------------------------------

    def digest(self) -> str:
        digest = hashlib.sha256()
        for unit in sorted(self.units):  # source order within a module; positions not hashed
            digest.update(f"{unit[0]}\0{unit[3]}\0{self.units[unit]}\0".encode())
        return digest.hexdigest()

    def describe(self) -> list[str]:
        """The units, one line each (``path:name``), in source order."""
        return [self.labels[unit] for unit in sorted(self.units)]
