# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Asset tables in metadata SQL: each asset's latest data, queried by the asset's name.

``ws.sql("select * from orders")`` reads the data ``Workspace.read("orders")`` reads: the newest
materialization of the asset, or of each of its partitions, with a ``partition`` column
(``docs/adr/0024-asset-tables-in-sql.md``). Only the assets a query names are bound, so a
query costs the same in a workspace of ten assets or of thousands:

1. DuckDB's own parser lists the tables the query reads (:func:`table_refs`), as it does for
   dependency inference (ADR 0008);
2. the workspace says which of those names are assets and which data files they read now
   (:class:`AssetSource`, implemented above this layer);
3. a view named after each asset is (re)defined only when its files changed since the last
   query: over the files themselves on local roots (DuckDB reads them, below the workspace's
   ``data/`` folder that the sandbox lets it read), over a lazy pyarrow dataset that Arco reads
   through fsspec on other roots (no DuckDB extension, credentials stay in one place).

The connection stays sandboxed (ADR 0013): a view names only this workspace's files, and names
starting with ``_arco_`` are Arco's own relations, never asset tables.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from arco_nb.catalog.parquet import damaged
from arco_nb.core.errors import ArcoError, QueryError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from arco_nb.core.storage import ObjectStore

__all__ = [
    "PARTITION_COLUMN",
    "PARTITION_COLUMN_FALLBACK",
    "RESERVED_PREFIX",
    "AssetSource",
    "AssetTable",
    "AssetViews",
    "TableRefs",
    "table_refs",
]

#: The column that holds a partitioned asset's partition key.
PARTITION_COLUMN = "partition"
#: Its name when the asset has a column named ``partition`` of its own (kept as it is).
PARTITION_COLUMN_FALLBACK = "arco_partition"
#: Names of Arco's own relations start with this; no asset table is ever bound to one.
RESERVED_PREFIX = "_arco_"

_FILE_COLUMN = "_arco_file"
# Relations that list tables: a query over one of them sees every asset table.
_LISTING_SCHEMAS = frozenset({"information_schema", "pg_catalog"})
_LISTING_FUNCTIONS = frozenset(
    {"duckdb_tables", "duckdb_views", "duckdb_columns", "show_tables", "show_tables_expanded"}
)
_MISSING = re.compile(r"Table with name (.+?) does not exist!")


@dataclass(frozen=True)
class AssetTable:
    """What an asset's table reads: the data files ``Workspace.read(name)`` reads.

    ``parts`` are (partition key, data file key) in key order; the key is ``""`` when the asset
    is not partitioned. ``error`` says why an asset has nothing to read yet (no
    materialization, none under its current partitions, ...).
    """

    name: str
    parts: tuple[tuple[str, str], ...] = ()
    partitioned: bool = False
    error: ArcoError | None = None


class AssetSource(Protocol):
    """Which names are assets and what their tables read (the workspace implements it)."""

    def tables(self, names: Collection[str] | None) -> Mapping[str, AssetTable]:
        """The assets among ``names`` (lower-cased table names; ``None``: every asset), by
        lower-cased name. Names that are no asset are left out."""
        ...

    def names(self) -> Collection[str]:
        """Every asset name, for suggestions."""
        ...


@dataclass(frozen=True)
class TableRefs:
    """The tables a query reads, as DuckDB's parser sees them.

    ``names``: tables named without a schema (or in ``main``), lower-cased; ``ctes``: names of
    common table expressions; ``listing``: the query lists tables (``SHOW TABLES``,
    ``information_schema``, ``duckdb_tables()``), so every asset table must be there.
    """

    names: frozenset[str] = frozenset()
    ctes: frozenset[str] = frozenset()
    listing: bool = False


def table_refs(con: duckdb.DuckDBPyConnection, query: str) -> TableRefs:
    """The tables ``query`` reads, from DuckDB's own parser (never a regular expression).

    Statements the parser cannot serialise (``EXPLAIN``, ``PRAGMA``) fall back to their
    identifiers and string constants: a name too many only binds a table the query ignores.
    """
    (raw,) = con.execute("SELECT json_serialize_sql(?)", [query]).fetchall()[0]
    tree = json.loads(raw)
    if tree.get("error"):
        return _token_refs(query)
    from arco_nb.catalog.sql_tree import walk_sql

    names: set[str] = set()
    listing = False

    def visit(node: Mapping[str, Any]) -> None:
        nonlocal listing
        kind = node.get("type")
        if kind in ("BASE_TABLE", "SHOW_REF"):
            listing |= _add_ref(node, names)
        elif kind == "TABLE_FUNCTION":
            function = node.get("function") or {}
            listing |= str(function.get("function_name", "")).lower() in _LISTING_FUNCTIONS

    ctes = walk_sql(tree, visit)
    return TableRefs(frozenset(names), ctes, listing)


def _add_ref(node: Mapping[str, Any], names: set[str]) -> bool:
    """Add the table ``node`` names to ``names``; return whether it lists tables."""
    name = str(node.get("table_name") or "")
    schema = str(node.get("schema_name") or "").lower()
    catalog = str(node.get("catalog_name") or "").lower()
    if node.get("show_type") == "SHOW_SPECIAL" or schema in _LISTING_SCHEMAS:
        return True  # SHOW TABLES, SHOW ALL TABLES, DESCRIBE; information_schema.tables
    if name and schema in ("", "main") and catalog in ("", "memory"):
        names.add(name.lower())
    return False


def _token_refs(query: str) -> TableRefs:
    import duckdb

    kinds = {duckdb.token_type.identifier, duckdb.token_type.keyword}
    tokens = duckdb.tokenize(query)
    ends = [start for start, _ in tokens[1:]] + [len(query)]
    words: set[str] = set()
    for (start, kind), end in zip(tokens, ends, strict=True):
        text = query[start:end].strip()
        if kind in kinds:
            words.add(text.strip('"').lower())
        elif kind == duckdb.token_type.string_const:
            words.add(text.strip("'").lower())
    return TableRefs(frozenset(words), listing=bool(words & _LISTING_FUNCTIONS))


def _ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class _Bound:
    table: AssetTable
    schemas: dict[str, pa.Schema] = field(default_factory=dict)
    registered: str | None = None


class AssetViews:
    """The asset tables of one sandboxed DuckDB connection, bound as queries name them."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, store: ObjectStore, source: AssetSource
    ) -> None:
        self.con = con
        self.store = store
        self.source = source
        self._local = store.protocol == "file"
        self._bound: dict[str, _Bound] = {}

    def bind(self, query: str) -> TableRefs:
        """Define (or bring up to date) the view of every asset ``query`` names.

        Raises
        ------
        QueryError
            A named asset has nothing to read yet, or partitions whose schemas do not combine.
        CorruptObject
            A data file is not readable Parquet.
        """
        refs = table_refs(self.con, query)
        if refs.listing:
            for lower, every in self.source.tables(None).items():
                if every.error is None and not lower.startswith(RESERVED_PREFIX):
                    self._bind(lower, every)
        names = [n for n in refs.names if not n.startswith(RESERVED_PREFIX)]
        if not names:
            return refs
        tables = self.source.tables(names)
        for lower in sorted(names):
            table = tables.get(lower)
            if table is None:
                self._unbind(lower)  # not an asset (any more): no stale view answers for it
            elif table.error is None:
                self._bind(lower, table)
            elif lower not in refs.ctes:  # a CTE of that name needs no data
                raise table.error
        return refs

    def unknown(self, exc: Exception, refs: TableRefs | None) -> str | None:
        """The missing table's name, if ``exc`` is DuckDB saying that a table the query names
        without a schema does not exist."""
        import duckdb

        if refs is None or not isinstance(exc, duckdb.CatalogException):
            return None
        found = _MISSING.search(str(exc))
        if found is None or found.group(1).lower() not in refs.names:
            return None
        return found.group(1)

    def unknown_error(self, name: str, views: Iterable[str]) -> QueryError:
        """The error for table ``name`` that is neither an asset nor a view: close asset
        names (or metadata views) suggested."""
        choices = {a.lower(): a for a in self.source.names()}
        if name.lower().startswith(RESERVED_PREFIX) and name.lower() in choices:
            return QueryError(
                f"Asset {choices[name.lower()]!r} has no table in SQL: names that start with "
                f"{RESERVED_PREFIX!r} are reserved for Arco's own relations",
                hint=f"Read it with ws.read({choices[name.lower()]!r}), or rename it",
            )
        for view in views:
            choices.setdefault(view, f"arco.{view}")
        close = difflib.get_close_matches(name.lower(), list(choices), n=3)
        if close:
            hint = "Did you mean " + ", ".join(repr(choices[c]) for c in close) + "?"
        else:
            hint = (
                "Each asset with data is a table by its name (select name from arco.assets "
                "lists them); metadata views are arco.*"
            )
        return QueryError(f"No table or asset named {name!r} in this workspace", hint=hint)

    def _unbind(self, lower: str) -> None:
        bound = self._bound.pop(lower, None)
        if bound is None:
            return
        self.con.execute(f"DROP VIEW IF EXISTS {_ident(bound.table.name)}")
        if bound.registered is not None:
            self.con.unregister(bound.registered)

    def _bind(self, lower: str, table: AssetTable) -> None:
        old = self._bound.get(lower)
        if old is not None and old.table == table:
            return  # the same files as last time: the view stands
        if old is not None and old.table.name != table.name:
            self._unbind(lower)  # another asset whose name differs only in case
        known = old.schemas if old is not None else {}
        schemas = {key: known.get(key) or self._schema(key) for _, key in table.parts}
        bound = _Bound(table, schemas)
        combined = _combined(table.name, schemas.values())  # as Workspace.read combines them
        column = _partition_column(table, schemas.values())
        if self._local:
            body = self._files_body(table, schemas, column)
        else:
            bound.registered = f"{RESERVED_PREFIX}asset_{lower}"
            self.con.register(bound.registered, self._dataset(table, combined, column))
            body = f"SELECT * FROM {_ident(bound.registered)}"
        self.con.execute(f"CREATE OR REPLACE VIEW {_ident(table.name)} AS {body}")
        if old is not None and old.registered and old.registered != bound.registered:
            self.con.unregister(old.registered)
        self._bound[lower] = bound

    def _schema(self, key: str) -> pa.Schema:
        import pyarrow as pa
        import pyarrow.parquet as pq

        with self.store.open(key) as f:  # ObjectNotFound if it is gone
            try:
                return pq.ParquetFile(f).schema_arrow
            except (pa.ArrowException, ValueError) as exc:
                raise damaged(key, exc) from None

    def _files_body(
        self, table: AssetTable, schemas: Mapping[str, pa.Schema], column: str | None
    ) -> str:
        """A SELECT over the files themselves (local roots: DuckDB reads them lazily)."""
        paths = [self.store.path(key) for _, key in table.parts]
        files = "[" + ", ".join(_literal(p) for p in paths) + "]"
        options = "" if _uniform(schemas.values()) else ", union_by_name = true"
        if column is None:
            return f"SELECT * FROM read_parquet({files}{options})"
        # The partition key of each row comes from its file's path, so that a filter on it
        # prunes files (DuckDB evaluates it on each file name before it opens the file).
        return (
            f"SELECT * EXCLUDE ({_ident(_FILE_COLUMN)}), "
            f"{self._key_of_file(table, paths)} AS {_ident(column)} "
            f"FROM read_parquet({files}, filename = {_literal(_FILE_COLUMN)}{options})"
        )

    def _key_of_file(self, table: AssetTable, paths: list[str]) -> str:
        """A SQL expression of the file name column that gives the file's partition key."""
        prefix = self.store.path(f"data/{table.name}") + "/"
        tails = {len(p) - p.rindex("/") for p in paths}  # "/{materialization id}.parquet"
        if len(tails) == 1 and all(
            key and p.startswith(prefix) and p[len(prefix) : p.rindex("/")] == key
            for p, (key, _) in zip(paths, table.parts, strict=True)
        ):
            # The folder between data/{asset}/ and the file name (a slice: cheap per file).
            return f"{_ident(_FILE_COLUMN)}[{len(prefix) + 1}:-{tails.pop() + 1}]"
        keys = ", ".join(
            f"{_literal(p)}: {_literal(k)}" for p, (k, _) in zip(paths, table.parts, strict=True)
        )
        return f"MAP {{{keys}}}[{_ident(_FILE_COLUMN)}]"

    def _dataset(self, table: AssetTable, schema: pa.Schema, column: str | None) -> Any:
        """A lazy pyarrow dataset over the files, read through the store's fsspec filesystem
        (other roots): DuckDB scans it with projection and filter pushdown. Each file carries
        its partition key as an expression, so a filter on the key skips the other files."""
        import pyarrow as pa
        import pyarrow.dataset as ds
        from pyarrow.fs import FSSpecHandler, PyFileSystem

        keys = None
        if column is not None:
            schema = schema.append(pa.field(column, pa.string()))
            keys = [ds.field(column) == key for key, _ in table.parts]
        return ds.FileSystemDataset.from_paths(
            [self.store.path(key) for _, key in table.parts],
            schema=schema,
            format=ds.ParquetFileFormat(),
            filesystem=PyFileSystem(FSSpecHandler(self.store.fs)),
            partitions=keys,
        )


def _uniform(schemas: Iterable[pa.Schema]) -> bool:
    listed = list(schemas)
    return all(s.equals(listed[0]) for s in listed[1:])


def _combined(asset: str, schemas: Iterable[pa.Schema]) -> pa.Schema:
    """One schema for every partition, as ``Workspace.read`` combines them."""
    import pyarrow as pa

    try:
        return pa.unify_schemas(list(schemas), promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise QueryError(
            f"The partitions of {asset!r} have schemas that do not combine: {exc}",
            hint="Re-materialize the older partitions with the current code (run with --force)",
        ) from None


def _partition_column(table: AssetTable, schemas: Iterable[pa.Schema]) -> str | None:
    """The name of the partition key's column: ``partition``, or ``arco_partition`` when the
    asset has a ``partition`` column of its own (never replaced); ``None`` when unpartitioned.
    """
    if not table.partitioned:
        return None
    taken = {name.lower() for schema in schemas for name in schema.names}
    for name in (PARTITION_COLUMN, PARTITION_COLUMN_FALLBACK):
        if name not in taken:
            return name
    raise QueryError(
        f"Asset {table.name!r} has columns named both {PARTITION_COLUMN!r} and "
        f"{PARTITION_COLUMN_FALLBACK!r}: SQL has no name left for its partition key",
        hint=f"Rename one of them, or read it with ws.read({table.name!r})",
    )
