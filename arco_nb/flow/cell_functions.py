# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The functions a Python cell (or a catalog record's source) runs as, which a Dask worker can
rebuild: they pickle as their source and the notebook names the source uses, not as a closure
over the whole notebook namespace (which holds the shell itself and never pickles).

Values of those names travel by pickle (cloudpickle on Dask: helper functions defined in the
notebook by value, modules by name), so a worker needs the same packages installed.
"""

from __future__ import annotations

import ast
import inspect
import linecache
import textwrap
from collections.abc import Iterable, Mapping
from typing import Any

from arco_nb.core.errors import AssetDefinitionError

__all__ = ["CellFunction", "SourceFunction", "filename", "unshippable"]

# What IPython puts in every namespace: never what a cell means by a name.
_SHELL_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "open"})


def filename(name: str) -> str:
    """The file name tracebacks show for asset ``name``'s code."""
    return f"<asset {name}>"


def _compile(name: str, tree: ast.Module | ast.Expression, mode: str) -> Any:
    # ast.parse accepts some code only the compiler refuses (a top-level return, say).
    try:
        return compile(tree, filename(name), mode)
    except SyntaxError as exc:
        raise AssetDefinitionError(
            name, f"Python syntax error on line {exc.lineno}: {exc.msg}"
        ) from None


def parse_python(name: str, code: str) -> ast.Module:
    """``code`` parsed, or :class:`AssetDefinitionError` naming the line."""
    try:
        return ast.parse(textwrap.dedent(code), filename=filename(name))
    except SyntaxError as exc:
        raise AssetDefinitionError(
            name, f"Python syntax error on line {exc.lineno}: {exc.msg}"
        ) from None


def _used(
    tree: ast.AST, namespace: Mapping[str, Any] | None, skip: Iterable[str]
) -> dict[str, Any]:
    """The entries of ``namespace`` that ``tree`` names (what a worker needs of it)."""
    if not namespace:
        return {}
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names -= set(skip) | _SHELL_NAMES
    return {k: namespace[k] for k in sorted(names) if k in namespace and not k.startswith("_")}


class CellFunction:
    """A cell's body as a function of its inputs: runs the cell with the upstream assets as
    variables and returns its last expression (or the variable named after the asset)."""

    def __init__(
        self,
        name: str,
        code: str,
        *,
        params: tuple[str, ...],
        namespace: Mapping[str, Any] | None,
    ) -> None:
        self.asset, self.code, self.params, self.namespace = name, code, params, namespace
        self.__name__ = self.__qualname__ = name
        self.__signature__ = inspect.Signature(
            [inspect.Parameter(p, inspect.Parameter.KEYWORD_ONLY) for p in params]
        )
        source = textwrap.dedent(code)
        # Tracebacks show the cell's own lines, as IPython does for cells.
        linecache.cache[filename(name)] = (
            len(source),
            None,
            source.splitlines(True),
            filename(name),
        )
        tree = parse_python(name, code)
        last = tree.body[-1] if tree.body else None
        self._value = None
        if isinstance(last, ast.Expr):
            tree.body.pop()
            self._value = _compile(name, ast.Expression(last.value), "eval")
        self._body = _compile(name, tree, "exec")

    def __call__(self, **inputs: Any) -> Any:
        scope: dict[str, Any] = dict(self.namespace or {})
        scope.update(inputs)
        exec(self._body, scope)
        value = eval(self._value, scope) if self._value is not None else scope.get(self.asset)
        if value is None:
            raise AssetDefinitionError(
                self.asset,
                "the cell has no value",
                hint=f"End the cell with an expression, or assign a variable named {self.asset}",
            )
        return value

    def __reduce__(self) -> tuple[Any, ...]:
        shipped = _used(parse_python(self.asset, self.code), self.namespace, self.params)
        return (_cell, (self.asset, self.code, self.params, shipped))


def _cell(name: str, code: str, params: tuple[str, ...], namespace: dict[str, Any]) -> Any:
    return CellFunction(name, code, params=params, namespace=namespace)


class SourceFunction:
    """A function re-created from its source (a catalog record of an ``@asset`` function),
    built on its first call: looking at a catalog must not run its modules' imports. Its
    signature comes from the source, annotations as text."""

    def __init__(
        self, name: str, code: str, *, function: str, namespace: Mapping[str, Any] | None
    ) -> None:
        self.asset, self.code, self.function, self.namespace = name, code, function, namespace
        self.__name__ = self.__qualname__ = function
        tree = parse_python(name, code)
        fndef = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
        fndef.decorator_list = []  # how it was registered, not what it does
        self._code = _compile(name, tree, "exec")
        self._built: Any = None
        args = fndef.args
        self.__signature__ = inspect.Signature(
            [
                inspect.Parameter(
                    a.arg,
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=ast.unparse(a.annotation)
                    if a.annotation
                    else inspect.Parameter.empty,
                )
                for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]
            ]
        )

    def __call__(self, **inputs: Any) -> Any:
        if self._built is None:
            scope: dict[str, Any] = dict(self.namespace or {})
            exec(self._code, scope)  # the module's imports, then the function
            self._built = scope[self.function]
        return self._built(**inputs)

    def __reduce__(self) -> tuple[Any, ...]:
        shipped = _used(parse_python(self.asset, self.code), self.namespace, ())
        return (_source, (self.asset, self.code, self.function, shipped))


def _source(name: str, code: str, function: str, namespace: dict[str, Any]) -> Any:
    return SourceFunction(name, code, function=function, namespace=namespace)


def unshippable(fn: Any) -> str | None:
    """Why ``fn`` cannot be sent to another process (a Dask worker), or ``None`` if it can.

    A cell or restored function names the notebook values that do not pickle; any other
    function (an ``@asset`` defined in the notebook) gets cloudpickle's own reason.
    """
    import cloudpickle

    if isinstance(fn, CellFunction | SourceFunction):
        used = _used(parse_python(fn.asset, fn.code), fn.namespace, getattr(fn, "params", ()))
        bad = []
        for name, value in used.items():
            try:
                cloudpickle.dumps(value)
            except Exception as exc:  # pickling raises many kinds (TypeError, PicklingError...)
                bad.append(f"{name} ({type(value).__name__}: {exc})")
        return "it uses notebook values that cannot be sent: " + "; ".join(bad) if bad else None
    try:
        cloudpickle.dumps(fn)
    except Exception as exc:
        return f"its function cannot be sent: {exc}"
    return None
