# SPDX-License-Identifier: Apache-2.0 OR MIT
"""SQL over the metadata files: DuckDB views in schema ``arco`` (DESIGN §4).

Tier 1 views read the current catalog snapshot; Tier 2 views read the compacted Parquet parts
plus the not-yet-compacted inbox, deduplicated by event id, so an event is queryable as soon as
its append returned. On local disk DuckDB reads the Parquet files itself (lazily, in parallel);
on other backends Arco reads them through fsspec into Arrow and hands DuckDB the tables, which
needs no DuckDB extension (``docs/adr/0007-sql-over-metadata.md``).

The view names and columns are a public contract: add columns freely, rename or remove only
through the deprecation policy.

Given an :class:`~arco_nb.catalog.asset_sql.AssetSource`, each asset's latest data is also a
table named after the asset, bound only when a query names it (:mod:`arco_nb.catalog.asset_sql`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from arco_nb.catalog.catalog import Catalog
from arco_nb.catalog.eventlog import EventLog
from arco_nb.catalog.events import (
    ABANDONED,
    KINDS,
    RUN_FINISHED,
    TASK_FINISHED,
)
from arco_nb.catalog.parquet import damaged, read_parquet_object
from arco_nb.catalog.snapshot import SNAPSHOT_FILES, snapshot_tables
from arco_nb.core.errors import CatalogError, QueryError
from arco_nb.core.settings import DEFAULT_RUN_LEASE

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from arco_nb.catalog.asset_sql import AssetSource, AssetViews, TableRefs

__all__ = ["METADATA_VIEWS", "MetadataSQL", "view_sources"]

_TERMINAL_RUN = "(" + ", ".join(f"'{s}'" for s in sorted(RUN_FINISHED)) + ")"
_TERMINAL_TASK = "(" + ", ".join(f"'{s}'" for s in sorted(TASK_FINISHED)) + ")"
# Order of states at the same instant: later in a life cycle wins, and no two tie.
_RANK = (
    "CASE status WHEN 'queued' THEN 0 WHEN 'pending' THEN 0 WHEN 'running' THEN 1 "
    "WHEN 'skipped' THEN 2 WHEN 'up_to_date' THEN 3 WHEN 'succeeded' THEN 4 "
    "WHEN 'failed' THEN 5 WHEN 'cancelled' THEN 6 ELSE 7 END"
)
_ORDER = f'epoch_us("at") * 8 + {_RANK}'
_TASK_ORDER = f"coalesce(attempt, 1)::HUGEINT * 10000000000000000000 + {_ORDER}"

# Views over the raw tables; {x} names the deduplicated relation of fact table x.
_DERIVED = {
    "tables": "SELECT namespace, name, full_name, location, format, description, tags, owner, "
    "created_at, updated_at, catalog_version FROM _arco_t1_tables",
    "columns": "SELECT table_name, name, type, nullable, position, description "
    "FROM _arco_t1_columns",
    "assets": "SELECT name, kind, code_version, deps, partitions, description, tags, code, "
    "catalog_version FROM _arco_t1_assets",
    "namespaces": "SELECT name, description FROM _arco_t1_namespaces",
    # A run not finished whose writer renewed nothing (no run, task or heartbeat event) for
    # longer than its lease is abandoned: its process is gone (ADR 0016).
    "runs": f"""
        WITH r AS (
            SELECT run_id,
                   arg_max(status, {_ORDER}) AS status,
                   max(plan_id) AS plan_id,
                   min("at") AS queued_at,
                   min("at") FILTER (WHERE status = 'running') AS started_at,
                   max("at") FILTER (WHERE status IN {_TERMINAL_RUN}) AS finished_at,
                   max(executor) AS executor,
                   coalesce(max(lease_s), {DEFAULT_RUN_LEASE}) AS lease_s,
                   max("at") AS seen
            FROM {{run_transitions}} GROUP BY run_id),
        open AS (SELECT run_id FROM r WHERE status NOT IN {_TERMINAL_RUN}),
        seen AS (  -- only runs still open can have been abandoned
            SELECT run_id, max("at") AS seen FROM (
                SELECT run_id, "at" FROM {{task_transitions}} SEMI JOIN open USING (run_id)
                UNION ALL
                SELECT run_id, "at" FROM {{heartbeats}} SEMI JOIN open USING (run_id))
            GROUP BY run_id)
        SELECT r.run_id,
               CASE WHEN r.status NOT IN {_TERMINAL_RUN}
                         AND greatest(r.seen, coalesce(seen.seen, r.seen))
                             + to_seconds(r.lease_s) < now()
                    THEN '{ABANDONED}' ELSE r.status END AS status,
               r.plan_id, r.queued_at, r.started_at, r.finished_at, r.executor
        FROM r LEFT JOIN seen USING (run_id)""",
    "task_runs": f"""
        SELECT t.run_id, t.asset, t."partition",
               CASE WHEN t.status NOT IN {_TERMINAL_TASK} AND runs.status = '{ABANDONED}'
                    THEN '{ABANDONED}' ELSE t.status END AS status,
               t.attempt, t.started_at, t.finished_at,
               CASE WHEN t.status = 'failed' THEN t.last_error END AS error
        FROM (
            SELECT run_id, asset, "partition",
                   arg_max(status, {_TASK_ORDER}) AS status,
                   coalesce(max(attempt), 1) AS attempt,
                   min("at") FILTER (WHERE status = 'running') AS started_at,
                   max("at") FILTER (WHERE status IN {_TERMINAL_TASK}) AS finished_at,
                   arg_max(error, {_TASK_ORDER})
                       FILTER (WHERE error IS NOT NULL AND error <> '') AS last_error
            FROM {{task_transitions}} GROUP BY run_id, asset, "partition") AS t
        LEFT JOIN (SELECT run_id, status FROM arco.runs) AS runs USING (run_id)""",
    "materializations": """
        SELECT materialization_id, run_id, asset, "partition", rows, bytes, schema_hash,
               fingerprint, path, "at" AS created_at, event_id, code_version
        FROM {materializations}""",
    "lineage": """
        SELECT materialization_id, run_id, asset, "partition", input_asset, input_partition,
               input_materialization_id, "at", event_id
        FROM {lineage}""",
    "events": " UNION ALL ".join(
        f"""SELECT event_id, kind, run_id, asset, "partition", "at", payload::JSON AS payload
            FROM {{{t.name}}}"""
        for t in KINDS.values()
    ),
    "run_transitions": "SELECT * EXCLUDE (payload, schema_version) FROM {run_transitions}",
    "task_transitions": "SELECT * EXCLUDE (payload, schema_version) FROM {task_transitions}",
    "logs": "SELECT * EXCLUDE (payload, schema_version) FROM {logs}",
}
METADATA_VIEWS = tuple(sorted(_DERIVED))


def view_sources(view: str) -> tuple[str, tuple[str, ...]]:
    """What view ``arco.{view}`` reads: ``("snapshot", files)`` for a Tier 1 view (snapshot file
    names) or ``("facts", tables)`` for a Tier 2 view (fact table names).

    Derived from the view definitions themselves, so whatever lists the files behind a view
    (signed URLs, a static site) cannot drift from what the view reads.

    Raises
    ------
    KeyError
        If there is no such view.
    """
    import re
    import string

    body = _DERIVED[view]
    tables = tuple(
        dict.fromkeys(field for _, field, _, _ in string.Formatter().parse(body) if field)
    )
    if tables:
        return "facts", tables
    return "snapshot", tuple(dict.fromkeys(re.findall(r"_arco_t1_(\w+)", body)))


_METADATA_DIRS = ("catalog/snapshots", "events/compacted")
_DATA_DIR = "data"  # asset tables read the workspace's data files (local roots)
_WHERE = "Metadata SQL"
_VIEWS_HINT = "Metadata views: " + ", ".join(f"arco.{v}" for v in METADATA_VIEWS)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class MetadataSQL:
    """A DuckDB connection whose ``arco`` schema shows one workspace's metadata.

    Views are refreshed before every query: Tier 1 when the catalog version moved, Tier 2 when
    a compaction committed, and the fresh inbox every time. With ``assets``, the assets a query
    names are tables too, each bound to its latest data (:mod:`arco_nb.catalog.asset_sql`).
    """

    def __init__(
        self, catalog: Catalog, events: EventLog, assets: AssetSource | None = None
    ) -> None:
        from arco_nb.catalog.asset_sql import AssetViews
        from arco_nb.core.sandbox import sandboxed_connection

        self.catalog = catalog
        self.events = events
        self._local = catalog.store.protocol == "file"
        store = catalog.store
        # The views read these directories on local roots; nothing else is reachable, and other
        # roots hand DuckDB Arrow tables and datasets, so there it reads no file at all.
        dirs = _METADATA_DIRS + ((_DATA_DIR,) if assets is not None else ())
        read_dirs = [store.path(d) for d in dirs] if self._local else []
        self.con = sandboxed_connection(read_dirs)
        self._lock = threading.Lock()
        self._tier1_version = -1
        self._facts: dict[str, pa.Table] = {}
        self._views = False
        self.assets: AssetViews | None = None
        if assets is not None:
            self.assets = AssetViews(self.con, store, assets)
        self.con.execute("CREATE SCHEMA arco")

    def sql(self, query: str, params: Sequence[object] | None = None) -> duckdb.DuckDBPyRelation:
        """Run ``query`` (with ``?`` placeholders bound to ``params``) with the ``arco.*`` views
        up to date; returns a DuckDB relation.

        Only statements that read are accepted, and they reach nothing but this workspace's
        metadata (:mod:`arco_nb.core.sandbox`).

        Raises
        ------
        QueryRefused
            A statement that is not a read, or an attempt to reach a file or URL.
        QueryError
            A syntax error, an unknown table, view or column, or an asset with no data yet.
        CorruptObject
            A metadata or data file that is not readable Parquet.
        """
        import duckdb

        from arco_nb.core.sandbox import check_read_only, query_error

        with self._lock:
            check_read_only(self.con, query, where=_WHERE)
            refs: TableRefs | None = None
            try:
                self.refresh()  # DuckDB reads a local file's footer here: damage shows now
                if self.assets is not None:
                    refs = self.assets.bind(query)
                # Run it now, under the lock: a lazy relation would run later, against views
                # another thread may be rebuilding. The result is an Arrow-backed relation.
                relation = self.con.sql(query, params=params)
                if relation is None:  # pragma: no cover - every read statement returns rows
                    raise QueryError(
                        "The query returns no rows to show", hint="Write a SELECT (or VALUES)"
                    )
                return self.con.from_arrow(relation.to_arrow_table())
            except duckdb.Error as exc:
                if (key := self._damaged_file(exc)) is not None:
                    raise damaged(key, exc) from None
                if self.assets is not None and (name := self.assets.unknown(exc, refs)):
                    raise self.assets.unknown_error(name, METADATA_VIEWS) from None
                raise query_error(exc, where=_WHERE, hint=_VIEWS_HINT) from None

    def _damaged_file(self, exc: Exception) -> str | None:
        """The store key of the metadata file DuckDB found damaged, if that is what ``exc``
        says (local roots, where DuckDB reads the files itself)."""
        import re

        import duckdb

        if not self._local or not isinstance(
            exc, duckdb.InvalidInputException | duckdb.IOException
        ):
            return None
        root = self.catalog.store.path("catalog").removesuffix("catalog")
        for path in re.findall(r"'([^']+\.parquet)'", str(exc)):
            if path.startswith(root):
                return str(path[len(root) :])
        return None

    def refresh(self) -> None:
        """Bring every view up to date with the files."""
        state = self.catalog.state
        if state.version != self._tier1_version:
            self._tier1(state.version)
            self._tier1_version = state.version
        # Deduplicated by the event log, in Arrow, and kept until its parts or inbox change:
        # a query does not decode Parquet or deduplicate again.
        for name, facts in self.events.read_tables(t.name for t in KINDS.values()).items():
            if self._facts.get(name) is not facts:
                self.con.register(f"_arco_all_{name}", facts)
                self._facts[name] = facts
        if not self._views:
            names = {t.name: f"_arco_all_{t.name}" for t in KINDS.values()}
            for view, body in _DERIVED.items():
                if "{" in body:
                    self.con.execute(
                        f"CREATE OR REPLACE VIEW arco.{view} AS {body.format(**names)}"
                    )
            self._views = True

    def _tier1(self, version: int) -> None:
        # A checkpointed version is read from its Parquet files; another is built in Arrow
        # from the state the catalog replayed (ADR 0018).
        files = self.catalog.snapshot_files(version)
        built = {} if files else snapshot_tables(self.catalog.as_of(version).state)
        for name in SNAPSHOT_FILES:
            relation = f"_arco_t1_{name}"
            if files:
                self._parquet(relation, [files[name]], None)
            else:
                self.con.register(f"{relation}_arrow", built[name])
                self.con.execute(
                    f"CREATE OR REPLACE VIEW {relation} AS SELECT * FROM {relation}_arrow"
                )
        for view, body in _DERIVED.items():
            if "{" not in body:
                self.con.execute(f"CREATE OR REPLACE VIEW arco.{view} AS {body}")

    def _parquet(self, name: str, keys: list[str], empty: pa.Table | None) -> str:
        """Define view ``name`` over the Parquet objects ``keys``; return what to select from."""
        store = self.catalog.store
        if not keys:
            if empty is None:  # pragma: no cover - snapshots always have every file
                raise CatalogError(f"No files for {name}")
            self.con.register(f"{name}_empty", empty.slice(0, 0))
            self.con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {name}_empty")
            return name
        if self._local:
            paths = ", ".join(_literal(store.path(k)) for k in keys)
            self.con.execute(
                f"CREATE OR REPLACE VIEW {name} AS "
                f"SELECT * FROM read_parquet([{paths}], union_by_name = true)"
            )
        else:
            import pyarrow as pa

            tables = [read_parquet_object(store, k) for k in keys]
            table = pa.concat_tables(tables, promote_options="default")
            self.con.register(f"{name}_arrow", table)
            self.con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {name}_arrow")
        return name

    def close(self) -> None:
        """Close the DuckDB connection."""
        self.con.close()
