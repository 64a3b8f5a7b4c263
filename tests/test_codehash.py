"""The method-level code digest on a small package written here: a run's digest changes when,
and only when, code that run reaches changes (and takes more, never less, where unsure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lazy_artist.codehash import CodeGraph

PACKAGE = "fakepkg"
ENTRY = "import fakepkg.run\n"

FILES = {
    "__init__.py": "",
    # The entry point: what every run goes through.
    "run.py": """
from fakepkg.methods import build
from fakepkg.trainer import train


def fit(name):
    return train(build(name))
""",
    # A shared module, hashed whole.
    "trainer.py": '''
"""The shared training loop."""

STEPS = 3


def train(algorithm):
    # every run
    return [algorithm.update(step) for step in range(STEPS)]
''',
    # The methods: hashed per definition.
    "methods.py": '''
"""Two methods on one base class."""

from fakepkg import helpers
from fakepkg.helpers import unused_here
from fakepkg.tables import value
from fakepkg.trainer import STEPS

_REGISTRY = {}


def _register(cls):
    _REGISTRY[cls.name] = cls
    return cls


class Base:
    """The base class."""

    name = ""

    def update(self, step):
        return self.loss(step) * STEPS

    def loss(self, step):
        raise NotImplementedError


def only_a(x):
    """A helper only A calls."""
    return x + 1


@_register
class A(Base):
    """Method A."""

    name = "a"

    def loss(self, step):
        # a comment
        return only_a(step) * value("a")


@_register
class B(Base):
    name = "b"

    def loss(self, step):
        return helpers.double(step)


def build(name):
    return _REGISTRY[name]()


NAMES = list(_REGISTRY)
''',
    "helpers.py": """
def double(x):
    return 2 * x


def unused_here(x):
    return 3 * x
""",
    # A table that reaches a run only through its reader's value (keyed by value).
    "tables.py": """
TABLE = {"a": 1.0, "b": 2.0}


def value(name):
    return TABLE[name]
""",
}
SPLIT = ("fakepkg.methods", "fakepkg.helpers", "fakepkg.tables")
KEYED = {"fakepkg.tables": (("TABLE",), ("value",))}
REGISTRY = [("fakepkg.methods", "_REGISTRY")]


def stand_in(name: str, module: str = "fakepkg.methods") -> type:
    """A class object naming a definition of the package (only its module and name are read)."""
    return type(name, (), {"__module__": module, "__qualname__": name})


@pytest.fixture
def package(tmp_path) -> Path:
    root = tmp_path / PACKAGE
    root.mkdir()
    for name, text in FILES.items():
        (root / name).write_text(text.lstrip("\n"), encoding="utf-8")
    return root


def graph(package: Path, keyed=KEYED) -> CodeGraph:
    return CodeGraph(ENTRY, SPLIT, package, keyed_by_value=keyed, entry_registries=REGISTRY)


def digests(package: Path, keyed=KEYED) -> dict[str, str]:
    """The shared digest and each method's run digest (shared + method part)."""
    code = graph(package, keyed)
    return {
        "shared": code.shared_digest(),
        "a": code.run_digest(stand_in("A")),
        "b": code.run_digest(stand_in("B")),
    }


def edit(package: Path, file: str, old: str, new: str) -> None:
    path = package / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} not once in {file}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {name for name in before if before[name] != after[name]}


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        # One method's body: only that method.
        ("methods.py", "only_a(step) * value", "only_a(step + 1) * value", {"a"}),
        ("methods.py", "helpers.double(step)", "helpers.double(step) + 1", {"b"}),
        # A helper: only the method that calls it (by name, or as an attribute of its module).
        ("methods.py", "return x + 1", "return x + 2", {"a"}),
        ("helpers.py", "return 2 * x", "return 2.5 * x", {"b"}),
        # The base class: both methods.
        ("methods.py", "self.loss(step) * STEPS", "self.loss(step) * STEPS + 1", {"a", "b"}),
        # A shared module: everything.
        ("trainer.py", "STEPS = 3", "STEPS = 4", {"shared", "a", "b"}),
        # The code that looks methods up, used by the shared entry point: everything.
        (
            "methods.py",
            "return _REGISTRY[name]()",
            "return _REGISTRY[name.lower()]()",
            {"shared", "a", "b"},
        ),
        # A statement the methods module runs at import: everything.
        (
            "methods.py",
            "NAMES = list(_REGISTRY)",
            "NAMES = sorted(_REGISTRY)",
            {"shared", "a", "b"},
        ),
        # A reader of a keyed table is code: every run that calls it.
        ("tables.py", "return TABLE[name]", "return 2 * TABLE[name]", {"a"}),
    ],
)
def test_an_edit_changes_exactly_the_runs_that_reach_it(package, file, old, new, expected):
    before = digests(package)
    edit(package, file, old, new)
    assert changed(before, digests(package)) == expected


def test_comments_docstrings_and_unused_definitions_change_nothing(package):
    before = digests(package)
    edit(package, "methods.py", "# a comment", "# a reworded comment\n        # and another")
    edit(package, "methods.py", '"""Method A."""', '"""Method A, explained at length."""')
    edit(package, "methods.py", '"""The base class."""\n', "")
    edit(package, "trainer.py", "# every run", "# every single run")
    edit(package, "trainer.py", '"""The shared training loop."""', '"""Reworded."""')
    # Imported by the methods module but called by no method: no run executes it.
    edit(package, "helpers.py", "return 3 * x", "return 4 * x")
    assert digests(package) == before


def test_a_keyed_table_counts_by_value_only_through_its_readers(package):
    before = digests(package)
    edit(package, "tables.py", '"a": 1.0', '"a": 1.5')
    assert digests(package) == before  # the value read is in the run's key already
    # Without the declaration the table is code like any other: A's runs change.
    plain_before = digests(package, keyed={})
    edit(package, "tables.py", '"a": 1.5', '"a": 2.5')
    assert changed(plain_before, digests(package, keyed={})) == {"a"}


def test_a_keyed_table_named_by_other_code_counts_whole(package):
    edit(
        package,
        "methods.py",
        "return only_a(step) * value",
        "return only_a(step) * len(TABLE) * value",
    )
    edit(
        package,
        "methods.py",
        "from fakepkg.tables import value",
        "from fakepkg.tables import TABLE, value",
    )
    before = digests(package)
    edit(package, "tables.py", '"b": 2.0', '"b": 3.0')
    assert changed(before, digests(package)) == {"a"}


def test_adding_a_method_changes_the_registry_names_every_run_reads(package):
    before = digests(package)
    methods_before = [graph(package).method_digest(stand_in(name)) for name in "AB"]
    new_class = '@_register\nclass C(Base):\n    name = "c"\n\n\ndef build(name):'
    edit(package, "methods.py", "def build(name):", new_class)
    assert changed(before, digests(package)) == {"shared", "a", "b"}
    # The methods' own parts did not change: only the registered names, read by the shared code.
    assert [graph(package).method_digest(stand_in(name)) for name in "AB"] == methods_before


def test_methods_registered_from_another_split_module_count_in_the_registry_names(package):
    # As methods/algorithms.py registers its classes with base.py's registrar.
    (package / "more.py").write_text(
        "from fakepkg.methods import Base, _register\n\n\n"
        '@_register\nclass D(Base):\n    name = "d"\n',
        encoding="utf-8",
    )
    split = (*SPLIT, "fakepkg.more")

    def shared() -> str:
        return CodeGraph(
            ENTRY, split, package, keyed_by_value=KEYED, entry_registries=REGISTRY
        ).shared_digest()

    before = shared()
    edit(package, "more.py", 'name = "d"', 'name = "e"')  # renamed
    renamed = shared()
    edit(package, "more.py", "@_register\nclass D", "class D")  # no longer registered
    assert len({before, renamed, shared()}) == 3


@pytest.mark.parametrize(
    "new_body",
    [
        "mystery(step)",  # a name bound nowhere: could come from anywhere in the module
        "globals()['only_a'](step)",  # the module's namespace read at run time
        "_REGISTRY['b']().loss(step)",  # another method, found through the registry
    ],
)
def test_what_cannot_be_followed_takes_the_whole_module(package, new_body):
    edit(package, "methods.py", 'return only_a(step) * value("a")', f"return {new_body}")
    before = digests(package)
    edit(package, "methods.py", "helpers.double(step)", "helpers.double(step) - 1")  # B's body
    assert changed(before, digests(package)) == {"a", "b"}


def test_a_module_used_as_a_value_counts_whole(package):
    edit(
        package,
        "methods.py",
        "return helpers.double(step)",
        "return getattr(helpers, 'double')(step)",
    )
    before = digests(package)
    edit(package, "helpers.py", "return 3 * x", "return 4 * x")  # not named by B, but reachable
    assert changed(before, digests(package)) == {"b"}


def test_mutated_module_state_read_by_a_method_takes_the_whole_module(package):
    edit(
        package,
        "helpers.py",
        "def double(x):",
        "CACHE = {}\n\n\ndef remember(k, v):\n    CACHE[k] = v\n\n\ndef double(x):",
    )
    edit(package, "helpers.py", "return 2 * x", "return 2 * x + len(CACHE)")
    before = digests(package)
    edit(package, "helpers.py", "return 3 * x", "return 4 * x")  # what might fill CACHE
    assert changed(before, digests(package)) == {"b"}


def test_relative_imports_and_import_aliases_are_followed(package):
    edit(package, "methods.py", "from fakepkg import helpers\n", "from . import helpers as h\n")
    edit(package, "methods.py", "helpers.double(step)", "h.double(step)")
    before = digests(package)
    edit(package, "helpers.py", "return 2 * x", "return 2.5 * x")
    assert changed(before, digests(package)) == {"b"}
    # Rebinding the alias to another module is a change of B's code.
    edit(package, "methods.py", "from . import helpers as h\n", "from . import tables as h\n")
    assert "b" in changed(before, digests(package))


def test_the_units_name_what_each_method_reaches(package):
    code = graph(package)
    a = code.method(stand_in("A")).describe()
    b = code.method(stand_in("B")).describe()
    assert {"methods.py:A", "methods.py:Base", "methods.py:only_a", "tables.py:value"} <= set(a)
    assert "methods.py:B" not in a and "helpers.py:double" not in a
    assert {"methods.py:B", "methods.py:Base", "helpers.py:double"} <= set(b)
    assert "methods.py:only_a" not in b and "methods.py:A" not in b
    shared = code.shared().describe()
    assert "methods.py:build" in shared and "methods.py:A" not in shared
