# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Catalog snapshots as Parquet: one file per object kind, readable without Arco.

A snapshot is a directory ``catalog/snapshots/{commit_id}/`` holding ``namespaces.parquet``,
``tables.parquet``, ``columns.parquet`` and ``assets.parquet``: the complete catalog at one
version. Their columns are the public ``arco.*`` views' columns (DESIGN §4); DuckDB, Polars or
pyarrow read them directly.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from arco_nb.catalog.model import AssetDef, CatalogState, Column, Namespace, Table
from arco_nb.catalog.parquet import read_parquet_object
from arco_nb.core.errors import CorruptObject, ObjectNotFound
from arco_nb.core.ids import content_hash

if TYPE_CHECKING:
    import pyarrow as pa

    from arco_nb.core.storage import ObjectStore

__all__ = [
    "SNAPSHOT_FILES",
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
    import pyarrow as pa

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
    return pa.Table.from_pylist(rows, schema=_schemas()[name])


def snapshot_bytes(state: CatalogState, name: str) -> bytes:
    """Snapshot file ``name`` of ``state``, encoded as Parquet."""
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(snapshot_table(state, name), buffer, compression="zstd")
    return buffer.getvalue()


def write_snapshot(
    store: ObjectStore,
    directory: str,
    state: CatalogState,
    *,
    committed: Mapping[str, tuple[str, str]] | None = None,
    unchanged: frozenset[str] = frozenset(),
) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """Write ``state`` under ``directory``; return (content hash, key) of each file by kind,
    and the keys written now.

    ``committed`` maps kind -> (content hash, key) of files that committed records already
    name: a file with the same content is referenced again instead of written again (most
    commits change one kind, e.g. assets, and leave namespaces, tables and columns alone).
    Kinds in ``unchanged`` are known to equal the committed ones and are not even encoded.
    """
    files: dict[str, tuple[str, str]] = {}
    written: list[str] = []
    for name in SNAPSHOT_FILES:
        if name in unchanged and committed and name in committed:
            files[name] = committed[name]
            continue
        data = snapshot_bytes(state, name)
        digest = content_hash(data)
        previous = (committed or {}).get(name)
        if previous is not None and previous[0] == digest:
            files[name] = previous
            continue
        key = f"{directory}/{name}.parquet"
        store.write(key, data)
        files[name] = (digest, key)
        written.append(key)
    return files, written


def read_snapshot(store: ObjectStore, files: Mapping[str, str], version: int) -> CatalogState:
    """Load the state a commit's snapshot files hold."""

    data: dict[str, dict[str, list[Any]]] = {}
    for name in SNAPSHOT_FILES:
        key = files.get(name)
        if key is None:
            raise CorruptObject(f"snapshot of version {version}", reason=f"no {name} file")
        try:
            data[name] = read_snapshot_file(store, key, name).to_pydict()
        except ObjectNotFound as exc:
            raise CorruptObject(
                key, reason="the snapshot file named by the log is missing"
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


def _state(data: dict[str, dict[str, list[Any]]], version: int) -> CatalogState:
    # Column-wise: much faster than building a dict per row for large catalogs.
    cols = data["columns"]
    columns: dict[str, list[Column]] = {}
    order = sorted(
        range(len(cols["name"])), key=lambda i: (cols["table_name"][i], cols["position"][i])
    )
    for i in order:
        columns.setdefault(cols["table_name"][i], []).append(
            Column(cols["name"][i], cols["type"][i], cols["nullable"][i], cols["description"][i])
        )
    t = data["tables"]
    tables = {
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
    ns = data["namespaces"]
    a = data["assets"]
    return CatalogState(
        version=version,
        namespaces={n: Namespace(n, d) for n, d in zip(ns["name"], ns["description"], strict=True)},
        tables=tables,
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
