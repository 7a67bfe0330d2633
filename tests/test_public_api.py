# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The public API is what ``arco_nb.__all__`` lists: sorted, complete, the same in ``arco``,
what ``docs/api.md`` documents, and closed: every type a public signature names is public too."""

from __future__ import annotations

import ast
import builtins
import collections.abc
import datetime as dt
import functools
import importlib
import inspect
import re
import sys
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import arco
import arco_nb
from arco_nb import RunInfo

if TYPE_CHECKING:
    import click
    import pyarrow as pa

    from arco_nb.flow.graph import AssetGraph


def test_all_is_sorted_and_unique() -> None:
    assert list(arco_nb.__all__) == sorted(set(arco_nb.__all__))


def test_all_is_complete() -> None:
    public = {
        name
        for name, value in vars(arco_nb).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
    }
    assert public | {"__version__"} == set(arco_nb.__all__)


def test_every_name_resolves() -> None:
    for name in arco_nb.__all__:
        assert getattr(arco_nb, name) is not None


def test_public_objects_present_as_members_of_arco_nb() -> None:
    for name in arco_nb.__all__:
        obj = getattr(arco_nb, name)
        if isinstance(obj, (type, types.FunctionType)):
            assert obj.__module__ == "arco_nb", name


def test_arco_reexports_exactly_the_public_api() -> None:
    assert arco.__all__ == arco_nb.__all__
    for name in arco_nb.__all__:
        assert getattr(arco, name) is getattr(arco_nb, name)
    assert arco.__version__ == arco_nb.__version__


def test_every_error_is_exported() -> None:
    from arco_nb.core import errors

    assert set(errors.__all__) <= set(arco_nb.__all__)


def test_the_api_page_documents_exactly_the_public_api() -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()
    targets = re.findall(r"^\.\. auto\w+:: (\S+)", page, flags=re.MULTILINE)
    documented = {t.split(".")[1] for t in targets if t.count(".") == 1}
    assert documented == set(arco_nb.__all__) - {"__version__"}
    # Anything deeper is a member of a public name, or the error tree (the module's docstring).
    deeper = {t for t in targets if t.count(".") > 1} - {"arco_nb.core.errors"}
    assert all(t.split(".")[1] in arco_nb.__all__ for t in deeper), deeper


# -- every type a public signature names is public too ---------------------------------------
# A public signature (the parameters and return of a public method or property of an exported
# class, its public attributes, or an exported function) may name what ``arco_nb`` exports,
# builtins, the standard library (datetime, collections.abc, typing, ...) and these third-party
# packages: the data and SQL types users hold anyway (pyarrow, duckdb, polars), the filesystem an
# ObjectStore wraps (fsspec) and the widget the catalog browser is (ipywidgets).
ACCEPTED_THIRD_PARTY = frozenset({"pyarrow", "duckdb", "polars", "fsspec", "ipywidgets"})
_UNWRAP: dict[type, Callable[[Any], object]] = {
    property: lambda p: p.fget,
    functools.cached_property: lambda p: p.func,
    staticmethod: lambda m: m.__func__,
    classmethod: lambda m: m.__func__,
}


def _accepted_module(name: str) -> bool:
    root = name.partition(".")[0]
    return root in sys.stdlib_module_names or root.lstrip("_") in ACCEPTED_THIRD_PARTY


def _defined_in(namespace: dict[str, Any]) -> str:
    return str(namespace.get("__name__", ""))


def _own_function(attribute: object, home: str) -> types.FunctionType | None:
    """The function behind a class attribute, when it is defined in a module under ``home``
    (methods inherited from ``Exception`` or an ipywidgets base are not ours to check)."""
    for kind, unwrap in _UNWRAP.items():
        if isinstance(attribute, kind):
            attribute = unwrap(attribute)
            break
    if isinstance(attribute, types.FunctionType) and _defined_in(attribute.__globals__).startswith(
        home
    ):
        return attribute
    return None


def _class_home(cls: type) -> dict[str, Any] | None:
    """The namespace of the module whose source defines ``cls``: its ``__module__`` may say
    ``arco_nb`` (the package presents exported classes as its own)."""
    for module in list(sys.modules.values()):
        if not isinstance(module, types.ModuleType) or vars(module).get(cls.__name__) is not cls:
            continue
        try:
            body = ast.parse(inspect.getsource(module)).body
        except (OSError, TypeError):
            continue
        if any(isinstance(node, ast.ClassDef) and node.name == cls.__name__ for node in body):
            return vars(module)
    return None


def _annotations(obj: object, home: str) -> Iterator[tuple[str, object, dict[str, Any]]]:
    """``(where, annotation, namespace it is written in)`` for each annotation of a public
    signature of ``obj``: a function, or a class (public methods, properties, attributes)."""
    if isinstance(obj, types.FunctionType):
        for param, note in inspect.get_annotations(obj).items():
            yield f"{obj.__name__}({param})", note, obj.__globals__
        return
    assert isinstance(obj, type)
    for name in dir(obj):
        if name.startswith("_") and name != "__init__":
            continue
        fn = _own_function(inspect.getattr_static(obj, name), home)
        if fn is not None:
            for param, note in inspect.get_annotations(fn).items():
                yield f"{obj.__name__}.{name}({param})", note, fn.__globals__
    for klass in obj.__mro__:
        namespace = _class_home(klass) if "__annotations__" in vars(klass) else None
        if namespace is None or not _defined_in(namespace).startswith(home):
            continue
        for name, note in inspect.get_annotations(klass).items():
            if not name.startswith("_"):
                yield f"{obj.__name__}.{name}", note, namespace


def _guarded_imports(namespace: dict[str, Any]) -> dict[str, object]:
    """What the module's ``if TYPE_CHECKING:`` imports bind, imported now."""
    tree = ast.parse(inspect.getsource(sys.modules[_defined_in(namespace)]))
    bound: dict[str, object] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")):
            continue
        for stmt in node.body:
            if isinstance(stmt, ast.ImportFrom) and stmt.module and not stmt.level:
                module = importlib.import_module(stmt.module)
                for alias in stmt.names:
                    bound[alias.asname or alias.name] = getattr(module, alias.name)
            elif isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    module = importlib.import_module(alias.name)
                    top = alias.name.partition(".")[0]  # `import a.b` binds a
                    bound[alias.asname or top] = module if alias.asname else sys.modules[top]
    return bound


def _dotted(node: ast.AST) -> list[str] | None:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else [*base, node.attr]
    return None


class _Annotation:
    """One annotation, read the way a user reads it: each name in it must be importable."""

    def __init__(
        self, where: str, namespace: dict[str, Any], public: list[object], home: str
    ) -> None:
        self.where = where
        self.home = home
        self.namespace = namespace
        self.public = public
        self.guarded: dict[str, object] | None = None
        self.problems: list[str] = []

    def resolve(self, parts: list[str]) -> tuple[object, bool] | None:
        """The object a dotted name means, and whether it was reached through an accepted
        module (``pa.Table``, ``dt.datetime``); ``None`` if nothing by that name exists."""
        head, obj = parts[0], None
        if head in self.namespace:
            obj = self.namespace[head]
        elif head in vars(builtins):
            obj = vars(builtins)[head]
        else:
            if self.guarded is None:
                self.guarded = _guarded_imports(self.namespace)
            if head not in self.guarded:
                return None
            obj = self.guarded[head]
        via_module = isinstance(obj, types.ModuleType) and _accepted_module(obj.__name__)
        for part in parts[1:]:
            obj = getattr(obj, part, None)
        return (obj, via_module) if obj is not None else None

    def judge(self, name: str, obj: object, via_module: bool) -> str | None:
        if via_module or any(obj is p for p in self.public) or isinstance(obj, typing.TypeVar):
            return None
        if isinstance(obj, type | types.FunctionType):
            module = obj.__module__
            if module.startswith(("arco_nb", self.home)):
                return f"{self.where}: {name} ({module}) is not exported"
            if not _accepted_module(module):
                return f"{self.where}: {name} ({module}) is a third-party type we do not accept"
            return None
        last = name.rpartition(".")[2]
        if any(getattr(m, last, None) is obj for m in (typing, collections.abc)):
            return None  # Any, Literal, Optional, ...
        return f"{self.where}: {name} (an alias of {obj!r}) is not exported"

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            self.visit(ast.parse(node.value, mode="eval").body)  # a quoted forward reference
            return
        parts = _dotted(node)
        if parts is not None:
            name = ".".join(parts)
            resolved = self.resolve(parts)
            if resolved is None:
                self.problems.append(f"{self.where}: {name} names nothing importable")
            elif (problem := self.judge(name, *resolved)) is not None:
                self.problems.append(problem)
            return
        if isinstance(node, ast.Subscript):
            self.visit(node.value)
            base = _dotted(node.value)
            resolved = self.resolve(base) if base else None
            if resolved is not None and resolved[0] is typing.Literal:
                return  # Literal["a", "b"] holds values, not types
            self.visit(node.slice)
            return
        for child in ast.iter_child_nodes(node):
            self.visit(child)


def unexported_types(
    objects: Iterable[object], *, public: Iterable[object] | None = None, home: str = "arco_nb"
) -> list[str]:
    """Every name that a public signature of ``objects`` (classes and functions defined in
    modules under ``home``) uses and a user cannot import from ``arco_nb`` (or from ``public``),
    the standard library or an accepted third-party package."""
    known = [getattr(arco_nb, name) for name in arco_nb.__all__] if public is None else list(public)
    problems = []
    for obj in objects:
        if not isinstance(obj, type | types.FunctionType):
            continue  # __version__
        for where, note, namespace in _annotations(obj, home):
            annotation = _Annotation(where, namespace, known, home)
            text = note if isinstance(note, str) else getattr(note, "__name__", repr(note))
            annotation.visit(ast.parse(text, mode="eval").body)
            problems.extend(annotation.problems)
    return problems


def test_public_signatures_name_only_public_types() -> None:
    assert unexported_types(getattr(arco_nb, name) for name in arco_nb.__all__) == []


# A tiny fake API for the checker to find fault with: it must be able to fail.
_Mode = typing.Literal["fast", "slow"]


class _Hidden:
    pass


class _FakeAPI:
    when: dt.datetime
    hidden: _Hidden

    def __init__(self, mode: _Mode, workspace: arco_nb.Workspace) -> None:
        self.mode = mode
        self.workspace = workspace

    def table(self, columns: Sequence[str]) -> pa.Table:  # accepted: pyarrow
        raise NotImplementedError

    def graph(self) -> AssetGraph:  # private to arco_nb.flow
        raise NotImplementedError

    def command(self) -> click.Command:  # a dependency, but not a type we hand out
        raise NotImplementedError

    @property
    def runs(self) -> list[RunInfo] | None:  # exported
        return None

    def _internal(self) -> _Hidden:  # private methods are nobody's business
        raise NotImplementedError


def _fake_function(api: _FakeAPI, *, missing: NoSuchType) -> None:  # type: ignore[name-defined]  # noqa: F821
    return None


def test_the_signature_checker_reports_unexported_types() -> None:
    import click

    from arco_nb.flow.graph import AssetGraph

    me = __name__
    found = unexported_types(
        [_FakeAPI, _fake_function], public=[arco_nb.Workspace, _FakeAPI, RunInfo], home=me
    )
    assert found == [
        f"_FakeAPI.__init__(mode): _Mode (an alias of {_Mode!r}) is not exported",
        "_FakeAPI.command(return): click.Command (click.core) is a third-party type we do not "
        "accept",
        "_FakeAPI.graph(return): AssetGraph (arco_nb.flow.graph) is not exported",
        f"_FakeAPI.hidden: _Hidden ({me}) is not exported",
        "_fake_function(missing): NoSuchType names nothing importable",
    ]
    # and the same fake, with everything it names made public, passes
    assert (
        unexported_types(
            [_FakeAPI],
            public=[arco_nb.Workspace, RunInfo, AssetGraph, _Hidden, _Mode, click.Command],
            home=me,
        )
        == []
    )
