# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Catalog snapshots as Parquet: one file per object kind, readable without Arco.

A snapshot is a directory ``catalog/snapshots/{checkpoint_id}/`` (``{commit_id}`` for those
version-1 records name) holding ``namespaces.parquet``, ``tables.parquet``, ``columns.parquet``
and ``assets.parquet``: the complete catalog at one version. Their columns are the public
``arco.*`` views' columns (DESIGN §4); DuckDB, Polars or pyarrow read them directly.
"""

from __future__ import annotations

import io
from collections.abc import ItemsView, Iterator, Mapping, ValuesView
from typing import TYPE_CHECKING, Any

from arco_nb.catalog.model import AssetDef, CatalogState, Column, Namespace, Table
from arco_nb.catalog.parquet import read_parquet_object, rows_to_table
from arco_nb.core.errors import CorruptObject, ObjectNotFound

if TYPE_CHECKING:
    import pyarrow as pa

    from arco_nb.core.storage import ObjectStore

__all__ = [
    "SNAPSHOT_FILES",
    "LazyTables",
    "read_snapshot",
    "read_snapshot_file",
    "snapshot_bytes",
    "snapshot_table",
    "snapshot_tables",
    "write_snapshot",
]

SNAPSHOT_FILES = ("namespaces", "tables", "columns", "assets")


def _schemas() -> dict[str, pa.Schema]:
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    strings = pa.list_(pa.string())
    return {
        "namespaces": pa.schema([("name", pa.string()), ("description", pa.string())]),
        "tables": pa.schema(
            [
                ("namespace", pa.string()),
                ("name", pa.string()),
                ("full_name", pa.string()),
                ("location", pa.string()),
                ("format", pa.string()),
                ("description", pa.string()),
                ("tags", strings),
                ("owner", pa.string()),
                ("created_at", ts),
                ("updated_at", ts),
                ("catalog_version", pa.int64()),
            ]
        ),
        "columns": pa.schema(
            [
                ("table_name", pa.string()),
                ("name", pa.string()),
                ("type", pa.string()),
                ("nullable", pa.bool_()),
                ("position", pa.int32()),
                ("description", pa.string()),
            ]
        ),
        "assets": pa.schema(
            [
                ("name", pa.string()),
                ("kind", pa.string()),
                ("code", pa.string()),
                ("code_version", pa.string()),
                ("deps", strings),
                ("partitions", pa.string()),
                ("description", pa.string()),
                ("tags", strings),
                ("catalog_version", pa.int64()),
                ("retries", pa.int64()),
            ]
        ),
    }


def snapshot_tables(state: CatalogState) -> dict[str, pa.Table]:
    """Return the Arrow tables of ``state``'s snapshot, rows sorted by name."""
    return {name: snapshot_table(state, name) for name in SNAPSHOT_FILES}


def snapshot_table(state: CatalogState, name: str) -> pa.Table:
    """One kind (``namespaces``, ``tables``, ``columns``, ``assets``) of ``state``'s snapshot."""

    tables = [state.tables[k] for k in sorted(state.tables)]
    rows: list[dict[str, Any]]
    if name == "namespaces":
        rows = [state.namespaces[k].to_json() for k in sorted(state.namespaces)]
    elif name == "tables":
        rows = [
            {
                "namespace": t.namespace,
                "name": t.name,
                "full_name": t.full_name,
                "location": t.location,
                "format": t.format,
                "description": t.description,
                "tags": list(t.tags),
                "owner": t.owner,
                "created_at": t.created_at,
                "updated_at": t.updated_at,
                "catalog_version": state.version,
            }
            for t in tables
        ]
    elif name == "columns":
        rows = [
            {"table_name": t.full_name, "position": i, **c.to_json()}
            for t in tables
            for i, c in enumerate(t.columns)
        ]
    else:
        rows = [
            {**state.assets[k].to_json(), "catalog_version": state.version}
            | {"retries": state.assets[k].retries}
            for k in sorted(state.assets)
        ]
    return rows_to_table(rows, _schemas()[name])


def snapshot_bytes(state: CatalogState, name: str) -> bytes:
    """Snapshot file ``name`` of ``state``, encoded as Parquet."""
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(snapshot_table(state, name), buffer, compression="zstd")
    return buffer.getvalue()


def write_snapshot(store: ObjectStore, directory: str, state: CatalogState) -> dict[str, str]:
    """Write ``state`` as the four snapshot files under ``directory``; return their keys by
    kind."""
    files: dict[str, str] = {}
    for name in SNAPSHOT_FILES:
        files[name] = f"{directory}/{name}.parquet"
        store.write(files[name], snapshot_bytes(state, name))
    return files


def read_snapshot(store: ObjectStore, files: Mapping[str, str], version: int) -> CatalogState:
    """Load the state a snapshot's files hold. Tables are built on first access
    (:class:`LazyTables`): a cold reader that looks up one table of 10,000 builds one."""
    data: dict[str, pa.Table] = {}
    for name in SNAPSHOT_FILES:
        key = files.get(name)
        if key is None:
            raise CorruptObject(f"snapshot of version {version}", reason=f"no {name} file")
        try:
            data[name] = read_snapshot_file(store, key, name)
        except ObjectNotFound as exc:
            raise CorruptObject(
                key, reason="the snapshot file a checkpoint (or the log) names is missing"
            ) from exc
    try:
        return _state(data, version)
    except (KeyError, TypeError, IndexError) as exc:
        raise CorruptObject(
            f"snapshot of version {version}", reason=f"unexpected snapshot columns ({exc!r})"
        ) from exc


def read_snapshot_file(store: ObjectStore, key: str, name: str) -> pa.Table:
    """Snapshot file ``key`` of kind ``name``; ``CorruptObject`` if it lacks a column."""
    table = read_parquet_object(store, key)
    if missing := [c for c in _schemas()[name].names if c not in table.column_names]:
        raise CorruptObject(key, reason=f"a {name} snapshot file without {', '.join(missing)}")
    return table


class LazyTables(Mapping[str, Table]):
    """The tables of a snapshot file, built on first access. Names, lengths and membership
    need no ``Table``; a lookup builds one; the first full iteration (or many lookups) builds
    them all at once, column-wise."""

    _ONE_BY_ONE = 64  # beyond this many lookups, building all at once is cheaper

    def __init__(self, tables: pa.Table, columns: pa.Table) -> None:
        self._tables = tables
        self._columns = columns
        self._rows = {n: i for i, n in enumerate(tables.column("full_name").to_pylist())}
        self._built: dict[str, Table] = {}
        self._all: dict[str, Table] | None = None

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def __getitem__(self, key: str) -> Table:
        if self._all is not None:
            return self._all[key]
        found = self._built.get(key)
        if found is None:
            row = self._rows[key]
            if len(self._built) >= self._ONE_BY_ONE:
                return self.everything()[key]
            found = self._built[key] = self._one(row, key)
        return found

    def items(self) -> ItemsView[str, Table]:
        return self.everything().items()

    def values(self) -> ValuesView[Table]:
        return self.everything().values()

    def everything(self) -> dict[str, Table]:
        """Every table, built once."""
        if self._all is None:
            self._all = _tables(self._tables.to_pydict(), self._columns.to_pydict())
        return self._all

    def _one(self, row: int, key: str) -> Table:
        import pyarrow.compute as pc

        mine = self._columns.filter(pc.equal(self._columns.column("table_name"), key))
        return _tables(self._tables.slice(row, 1).to_pydict(), mine.to_pydict())[key]


def _tables(t: dict[str, list[Any]], cols: dict[str, list[Any]]) -> dict[str, Table]:
    # Column-wise: much faster than building a dict per row for large catalogs.
    columns: dict[str, list[Column]] = {}
    order = sorted(
        range(len(cols["name"])), key=lambda i: (cols["table_name"][i], cols["position"][i])
    )
    for i in order:
        columns.setdefault(cols["table_name"][i], []).append(
            Column(cols["name"][i], cols["type"][i], cols["nullable"][i], cols["description"][i])
        )
    return {
        full: Table(
            namespace=t["namespace"][i],
            name=t["name"][i],
            columns=tuple(columns.get(full, ())),
            location=t["location"][i],
            format=t["format"][i],
            description=t["description"][i],
            tags=tuple(t["tags"][i] or ()),
            owner=t["owner"][i],
            created_at=t["created_at"][i],
            updated_at=t["updated_at"][i],
        )
        for i, full in enumerate(t["full_name"])
    }


def _state(data: dict[str, pa.Table], version: int) -> CatalogState:
    ns = data["namespaces"].to_pydict()
    a = data["assets"].to_pydict()
    return CatalogState(
        version=version,
        namespaces={n: Namespace(n, d) for n, d in zip(ns["name"], ns["description"], strict=True)},
        tables=LazyTables(data["tables"], data["columns"]),
        assets={
            a["name"][i]: AssetDef(
                name=a["name"][i],
                kind=a["kind"][i],
                code=a["code"][i],
                code_version=a["code_version"][i],
                deps=tuple(a["deps"][i] or ()),
                partitions=a["partitions"][i],
                description=a["description"][i],
                tags=tuple(a["tags"][i] or ()),
                retries=int((a.get("retries") or [0] * len(a["name"]))[i] or 0),
            )
            for i in range(len(a["name"]))
        },
    )
