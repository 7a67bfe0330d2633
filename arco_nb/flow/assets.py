# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Asset definitions: ``@asset`` functions and SQL assets, their dependencies and code versions.

An :class:`AssetSpec` is what the planner works from. Its ``code_version`` is a hash of the
*normalised* code plus the options that change its output, so reformatting a function or adding
a SQL comment does not make an asset look changed, while editing its logic does.
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import textwrap
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from arco_nb.catalog.model import AssetDef, check_name
from arco_nb.core.errors import AssetDefinitionError, AssetNotFound, ConfigError, InvalidName
from arco_nb.core.ids import content_hash
from arco_nb.flow.partitions import Partitions, parse_partitions

if TYPE_CHECKING:
    from arco_nb.flow.graph import AssetGraph

__all__ = [
    "PARTITION_PARAMETER",
    "AssetSpec",
    "Registry",
    "asset",
    "default_registry",
    "listed_spec",
    "serialize_sql",
    "sql_asset",
    "sql_table_refs",
]

#: A Python asset's parameter of this name receives the partition key (it is not a dependency);
#: SQL assets read it with ``getvariable('partition_key')``.
PARTITION_PARAMETER = "partition_key"

Kind = Literal["python", "sql"]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class AssetSpec:
    """One asset's definition, as the planner and executors see it."""

    name: str
    kind: Kind
    code: str
    deps: tuple[str, ...] = ()
    partitions: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    retries: int = 0
    retry_delay: float = 0.0
    fn: Callable[..., Any] | None = field(default=None, compare=False, repr=False)

    @cached_property
    def partition_def(self) -> Partitions | None:
        """The parsed partition definition (``None`` when unpartitioned)."""
        return parse_partitions(self.partitions or None)

    def retry_wait(self, attempt: int) -> float:
        """Seconds to wait before retrying after failed ``attempt`` (exponential backoff)."""
        return float(self.retry_delay * 2 ** max(attempt - 1, 0))

    @cached_property
    def code_version(self) -> str:
        """Hash of the normalised code and the options that change what the asset produces."""
        return content_hash(
            {
                "kind": self.kind,
                "code": normalise_code(self.kind, self.code),
                "deps": sorted(self.deps),
                "partitions": self.partitions,
            }
        )[:16]

    def to_record(self) -> AssetDef:
        """The catalog's record of this definition."""
        return AssetDef(
            name=self.name,
            kind=self.kind,
            code=self.code,
            code_version=self.code_version,
            deps=self.deps,
            partitions=self.partitions,
            description=self.description,
            tags=self.tags,
            retries=self.retries,
        )


def _sourceless_code(func: Callable[..., Any]) -> str:
    """Stand-in code for a function without source: its name as a comment (``<lambda>`` is
    no Python) and a digest of its compiled code, so an edit still changes the version."""
    import hashlib
    import marshal

    compiled = getattr(func, "__code__", None)
    digest = hashlib.sha256(marshal.dumps(compiled)).hexdigest()[:16] if compiled else ""
    name = f"{getattr(func, '__module__', None) or '?'}.{getattr(func, '__qualname__', '?')}"
    return f"# {name}: defined where no source is kept\n__code__ = {digest!r}\n"


def normalise_code(kind: Kind, code: str) -> str:
    """Code with formatting, comments and (for Python) docstrings removed."""
    if kind == "python":
        tree = ast.parse(textwrap.dedent(code))
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if (
                isinstance(body, list)
                and body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                body.pop(0)  # a docstring documents; it does not change the output
        for node in ast.walk(tree):  # decorators are how it was registered, not what it does
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                node.decorator_list = []
        return ast.unparse(tree)
    import duckdb

    tokens = duckdb.tokenize(code)
    parts = []
    for i, (start, kind_) in enumerate(tokens):
        end = tokens[i + 1][0] if i + 1 < len(tokens) else len(code)
        text = code[start:end].strip()
        if kind_ == duckdb.token_type.comment:
            continue
        # Keywords and unquoted identifiers are case-insensitive in DuckDB; literals are not.
        if kind_ == duckdb.token_type.keyword or (
            kind_ == duckdb.token_type.identifier and not text.startswith('"')
        ):
            text = text.lower()
        parts.append(text)
    return " ".join(p for p in parts if p)


_PARSER_LOCK = threading.Lock()
_PARSER: list[Any] = []  # one in-memory DuckDB for parsing: connecting costs ~15 ms


@functools.lru_cache(maxsize=256)
@functools.lru_cache(maxsize=512)
def serialize_sql(sql: str) -> str:
    """DuckDB's parse tree of ``sql`` as JSON (``"error": true`` when it does not parse).

    Kept for the last 512 texts: a notebook runs the same cells again and again, and the
    parse (about 0.3 ms) is a fifth of a cell that is skipped as up to date.
    """
    import duckdb

    with _PARSER_LOCK:
        if not _PARSER:
            _PARSER.append(duckdb.connect())
        (raw,) = _PARSER[0].execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0]
    return str(raw)


def sql_table_refs(sql: str, *, asset: str = "?") -> set[str]:
    """The table names a SQL query reads, from DuckDB's own parser, without running it.

    ``docs/adr/0008-sql-dependency-inference.md`` says why this is not ``get_table_names``.

    CTE names are not tables; table functions (``read_parquet(...)``) are not names. Names are
    returned lower-cased, as DuckDB compares identifiers case-insensitively.
    """
    tree = json.loads(serialize_sql(sql))
    if tree.get("error"):
        raise AssetDefinitionError(
            asset,
            f"SQL does not parse: {tree.get('error_message', 'syntax error')}",
            hint="Fix the query; DuckDB's SQL dialect is expected",
        )
    from arco_nb.catalog.sql_tree import walk_sql

    tables: set[str] = set()

    def visit(node: Mapping[str, Any]) -> None:
        if node.get("type") == "BASE_TABLE" and node.get("table_name"):
            tables.add(str(node["table_name"]).lower())

    return tables - walk_sql(tree, visit)


def listed_spec(record: AssetDef) -> AssetSpec:
    """A definition from its catalog record, for listings only: Python code is not compiled
    (``fn`` is ``None``), so it cannot run; :func:`arco_nb.flow.cells.spec_from_record` makes
    one that can."""
    return AssetSpec(
        name=record.name,
        kind="sql" if record.kind == "sql" else "python",
        code=record.code,
        deps=record.deps,
        partitions=record.partitions,
        description=record.description,
        tags=record.tags,
    )


class Registry:
    """Asset definitions by name. ``default_registry`` is the process-wide one.

    ``version`` counts the changes, so that what is derived from the definitions (a
    workspace's asset graph) is rebuilt only when they change.
    """

    def __init__(self, specs: Iterable[AssetSpec] = ()) -> None:
        self._specs: dict[str, AssetSpec] = {}
        self._lock = threading.Lock()
        self.version = 0
        self._graph: tuple[int, AssetGraph] | None = None
        for spec in specs:
            self.add(spec)

    def add(self, spec: AssetSpec) -> AssetSpec:
        """Add or replace the definition of ``spec.name``."""
        self._replace(spec)
        return spec

    def _replace(self, spec: AssetSpec, *, checked: tuple[int, AssetGraph] | None = None) -> None:
        """Add or replace ``spec``; ``checked`` is the graph of this registry with ``spec`` in
        it, built at version ``checked[0]``: kept if nothing else changed since."""
        with self._lock:
            if self._specs.get(spec.name) is not spec:
                self._specs[spec.name] = spec
                self.version += 1
                if checked is not None and checked[0] == self.version - 1:
                    self._graph = (self.version, checked[1])

    def _current_graph(self) -> AssetGraph:
        """The validated graph of these definitions, rebuilt only when they change."""
        from arco_nb.flow.graph import AssetGraph

        version = self.version  # read first: a change while building rebuilds later
        found = self._graph
        if found is None or found[0] != version:
            found = self._graph = (version, AssetGraph(self))
        return found[1]

    def get(self, name: str) -> AssetSpec:
        """The definition of ``name``, or :class:`AssetNotFound` with close matches."""
        found = self._specs.get(name)
        if found is None:
            import difflib

            raise AssetNotFound(
                str(name), suggestions=difflib.get_close_matches(str(name), list(self._specs))
            )
        return found

    def remove(self, name: str) -> None:
        """Forget ``name`` (no error if unknown)."""
        with self._lock:
            if self._specs.pop(name, None) is not None:
                self.version += 1

    def clear(self) -> None:
        """Forget every definition."""
        with self._lock:
            if self._specs:
                self._specs.clear()
                self.version += 1

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[AssetSpec]:
        with self._lock:  # a snapshot: another thread may define assets meanwhile
            return iter([self._specs[k] for k in sorted(self._specs)])

    def __len__(self) -> int:
        return len(self._specs)


default_registry = Registry()


def _module_imports(func: Callable[..., Any]) -> str:
    """The import statements at the top level of ``func``'s module, one per line.

    They are part of what the function runs with, and what rebuilding it from the catalog needs
    (``arco run`` without the module).
    """
    module = inspect.getmodule(func)
    if module is None:
        return ""
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        return ""
    lines = [
        ast.unparse(node)
        for node in tree.body
        if isinstance(node, ast.Import)
        or (isinstance(node, ast.ImportFrom) and node.module != "__future__")
    ]
    return "".join(f"{line}\n" for line in lines)


def _options(
    name: str,
    *,
    deps: Iterable[str] | None,
    partitions: str | Partitions | None,
    description: str,
    tags: Iterable[str],
    owners: Iterable[str],
    retries: int,
    retry_delay: float,
) -> dict[str, Any]:
    try:
        check_name(name, kind="asset")
    except InvalidName as exc:
        raise AssetDefinitionError(name, "is not a valid asset name", hint=exc.hint) from exc
    if isinstance(deps, str):
        raise AssetDefinitionError(name, "deps must be a list of names", hint=f"deps=[{deps!r}]")
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise AssetDefinitionError(name, f"retries must be a whole number >= 0, not {retries!r}")
    if (
        not isinstance(retry_delay, int | float)
        or isinstance(retry_delay, bool)
        or not 0 <= retry_delay <= 3600
    ):
        raise AssetDefinitionError(
            name, f"retry_delay must be seconds between 0 and 3600, not {retry_delay!r}"
        )
    try:
        parsed = parse_partitions(partitions or None)
    except ConfigError as exc:
        raise AssetDefinitionError(name, str(exc.message), hint=exc.hint) from None
    return {
        "partitions": parsed.spec() if parsed else "",
        "retry_delay": float(retry_delay),
        "description": description,
        "tags": tuple(sorted(set(tags))),
        "owners": tuple(owners),
        "retries": retries,
    }


@overload
def asset(fn: F) -> F: ...
@overload
def asset(
    *,
    name: str | None = None,
    deps: Iterable[str] | None = None,
    partitions: str | Partitions | None = None,
    description: str | None = None,
    tags: Iterable[str] = (),
    owners: Iterable[str] = (),
    retries: int = 0,
    retry_delay: float = 0.0,
    registry: Registry | None = None,
) -> Callable[[F], F]: ...
def asset(
    fn: F | None = None,
    *,
    name: str | None = None,
    deps: Iterable[str] | None = None,
    partitions: str | Partitions | None = None,
    description: str | None = None,
    tags: Iterable[str] = (),
    owners: Iterable[str] = (),
    retries: int = 0,
    retry_delay: float = 0.0,
    registry: Registry | None = None,
) -> F | Callable[[F], F]:
    """Define a Python asset. Parameters named after upstream assets receive their data.

    Parameters
    ----------
    name, deps
        Default: the function's name, and its parameters (except ``partition_key``).
    partitions
        ``"daily:2024-01-01"``, ``"monthly:2024-01"``, ``"static:eu,us"`` or a
        :class:`~arco_nb.flow.partitions.Partitions`. A ``partition_key`` parameter receives
        the key.
    retries, retry_delay
        Attempts after the first, and seconds before the first retry (doubling each time).

    Examples
    --------
    >>> @asset(tags=["sales"])
    ... def orders_clean(orders):
    ...     return orders.filter(orders["amount"] > 0)
    """

    def register(func: F) -> F:
        asset_name = name or func.__name__
        params = [
            p.name
            for p in inspect.signature(func).parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != PARTITION_PARAMETER
        ]
        options = _options(
            asset_name,
            deps=deps,
            partitions=partitions,
            description=description if description is not None else inspect.getdoc(func) or "",
            tags=tags,
            owners=owners,
            retries=retries,
            retry_delay=retry_delay,
        )
        try:
            code = _module_imports(func) + textwrap.dedent(inspect.getsource(func))
        except (OSError, TypeError):  # defined where no source is kept (exec, REPL)
            code = _sourceless_code(func)
        spec = AssetSpec(
            name=asset_name,
            kind="python",
            code=code,
            deps=tuple(deps) if deps is not None else tuple(params),
            fn=func,
            **options,
        )
        (default_registry if registry is None else registry).add(spec)
        func.__arco_asset__ = spec  # type: ignore[attr-defined]
        return func

    return register(fn) if fn is not None else register


def sql_asset(
    name: str,
    sql: str,
    *,
    deps: Iterable[str] | None = None,
    partitions: str | Partitions | None = None,
    description: str = "",
    tags: Iterable[str] = (),
    owners: Iterable[str] = (),
    retries: int = 0,
    retry_delay: float = 0.0,
    registry: Registry | None = None,
) -> AssetSpec:
    """Define a SQL (DuckDB) asset; upstream assets are tables by name in the query.

    A partitioned SQL asset reads its key with ``getvariable('partition_key')``.
    """
    options = _options(
        name,
        deps=deps,
        partitions=partitions,
        description=description,
        tags=tags,
        owners=owners,
        retries=retries,
        retry_delay=retry_delay,
    )
    refs = sql_table_refs(sql, asset=name)
    spec = AssetSpec(
        name=name,
        kind="sql",
        code=sql,
        deps=tuple(deps) if deps is not None else tuple(sorted(refs)),
        **options,
    )
    return (default_registry if registry is None else registry).add(spec)
