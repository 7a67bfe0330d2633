# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Assets from notebook cells: SQL or Python text, its dependencies, and a function to run it.

The notebook's ``%%asset`` magic and the headless ``arco run`` both turn cells into assets here,
so a notebook plans the same way in Jupyter and in a terminal. A Python cell sees its upstream
assets as variables named after them; its value is its last expression, or a variable named
after the asset.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Callable, Collection, Iterable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Literal

from arco_nb.catalog.model import AssetDef
from arco_nb.core.errors import AssetDefinitionError
from arco_nb.flow.assets import (
    PARTITION_PARAMETER,
    AssetSpec,
    Registry,
    _options,
    default_registry,
    normalise_code,
    serialize_sql,
    sql_table_refs,
)
from arco_nb.flow.cell_functions import CellFunction, SourceFunction, parse_python
from arco_nb.flow.partitions import Partitions

if TYPE_CHECKING:
    from arco_nb.flow.graph import AssetGraph

__all__ = ["cell_asset", "classify", "spec_from_record"]

_SQL_STARTS = ("select", "with", "from", "values", "table", "pivot", "unpivot", "(")


def classify(code: str) -> Literal["sql", "python"]:
    """``sql`` when DuckDB parses ``code``, ``python`` when Python does; otherwise say why."""
    raw = serialize_sql(code)
    if '"error":true' not in raw.replace(" ", ""):
        return "sql"
    try:
        ast.parse(textwrap.dedent(code))
    except SyntaxError as exc:
        if code.strip().lower().startswith(_SQL_STARTS):
            sql_table_refs(code)  # raises with DuckDB's own message
        raise AssetDefinitionError(
            "?", f"the cell is neither SQL nor Python: line {exc.lineno}: {exc.msg}"
        ) from None
    return "python"


def cell_asset(
    name: str,
    code: str,
    *,
    kind: Literal["sql", "python"] | None = None,
    deps: Iterable[str] | None = None,
    known: Collection[str] = (),
    namespace: MutableMapping[str, Any] | None = None,
    partitions: str | Partitions | None = None,
    description: str = "",
    tags: Iterable[str] = (),
    retries: int = 0,
    registry: Registry | None = None,
) -> AssetSpec:
    """Define asset ``name`` from a cell's ``code`` and add it to ``registry``.

    ``known`` are the asset names a cell may depend on; ``namespace`` is what a Python cell's
    code sees besides its inputs (the notebook's variables).
    """
    options = _options(
        name,
        deps=deps,
        partitions=partitions,
        description=description,
        tags=tags,
        owners=(),
        retries=retries,
        retry_delay=0.0,
    )
    if not code.strip():
        raise AssetDefinitionError(name, "the cell is empty", hint="Write a query or Python code")
    try:
        kind = kind or classify(code)
    except AssetDefinitionError as exc:
        raise AssetDefinitionError(name, exc.problem, hint=exc.hint) from None
    if kind == "sql":
        refs = sql_table_refs(code, asset=name)
        if deps is None:
            unknown = sorted(refs - set(known))
            if unknown:
                import difflib

                close = difflib.get_close_matches(unknown[0], list(known), n=3)
                raise AssetDefinitionError(
                    name,
                    f"reads {unknown[0]!r}, which is not an asset",
                    hint=(f"Did you mean {', '.join(close)}? " if close else "")
                    + "Define it first with %%asset, or list deps with --deps",
                )
        if not normalise_code("sql", code):
            raise AssetDefinitionError(name, "the cell has only comments", hint="Write a query")
        found = tuple(deps) if deps is not None else tuple(sorted(refs))
        spec = AssetSpec(name=name, kind="sql", code=code, deps=found, **options)
    else:
        tree = parse_python(name, code)
        if deps is None:
            used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
            found = tuple(sorted((used & set(known)) - {name}))
        else:
            found = tuple(deps)
        fn = _cell_function(
            name, code, deps=found, namespace=namespace, partitioned=bool(options["partitions"])
        )
        spec = AssetSpec(name=name, kind="python", code=code, deps=found, fn=fn, **options)
    target = default_registry if registry is None else registry
    target._replace(spec, checked=_check_graph(target, spec))
    return spec


def _check_graph(registry: Registry, spec: AssetSpec) -> tuple[int, AssetGraph]:
    """Refuse a definition the graph cannot take, before it replaces the one that works;
    return the graph with it (and the registry version it was built on)."""
    from arco_nb.core.errors import AssetNotFound, CycleError
    from arco_nb.flow.graph import AssetGraph

    version = registry.version
    specs = sorted([*(s for s in registry if s.name != spec.name), spec], key=lambda s: s.name)
    try:
        return version, AssetGraph(specs)
    except AssetNotFound as exc:
        raise AssetDefinitionError(
            spec.name, f"depends on {exc.asset!r}, which is not an asset", hint=exc.hint
        ) from None
    except CycleError as exc:
        raise AssetDefinitionError(spec.name, str(exc.message), hint=exc.hint) from None


def spec_from_record(
    record: AssetDef, *, namespace: MutableMapping[str, Any] | None = None
) -> AssetSpec:
    """Rebuild a definition from its catalog record (after a kernel restart, or headless).

    SQL needs nothing else. Python is either a cell body or an ``@asset`` function's source;
    a function is re-created without its decorators, its globals being ``namespace``.
    """
    common = {
        "name": record.name,
        "code": record.code,
        "deps": record.deps,
        "partitions": record.partitions,
        "description": record.description,
        "tags": record.tags,
        "retries": record.retries,
    }
    if record.kind == "sql":
        return AssetSpec(kind="sql", **common)  # type: ignore[arg-type]
    tree = parse_python(record.name, record.code)
    body = tree.body
    defs = [n for n in body if isinstance(n, ast.FunctionDef)]
    if len(defs) == 1 and all(
        isinstance(n, ast.FunctionDef | ast.Import | ast.ImportFrom) for n in body
    ):
        # an @asset function, after its module's imports
        fn: Callable[..., Any] = SourceFunction(
            record.name, record.code, function=defs[0].name, namespace=namespace
        )
    else:
        fn = _cell_function(
            record.name,
            record.code,
            deps=record.deps,
            namespace=namespace,
            partitioned=bool(record.partitions),
        )
    return AssetSpec(kind="python", fn=fn, **common)  # type: ignore[arg-type]


def _cell_function(
    name: str,
    code: str,
    *,
    deps: Iterable[str],
    namespace: Mapping[str, Any] | None,
    partitioned: bool,
) -> Callable[..., Any]:
    """A function of the asset's inputs that runs the cell and returns its value."""
    params = (*deps, PARTITION_PARAMETER) if partitioned else tuple(deps)
    return CellFunction(name, code, params=params, namespace=namespace)
