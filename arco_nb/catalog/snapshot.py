# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Catalog snapshots as Parquet: one file per object kind, readable without Arco.

A snapshot is a directory ``catalog/snapshots/{checkpoint_id}/`` (``{commit_id}`` for those
version-1 records name) holding ``namespaces.parquet``, ``tables.parquet``, ``columns.parquet``
and ``assets.parquet``: the complete catalog at one version. Their columns are the public
``arco.*`` views' columns (DESIGN §4); DuckDB, Polars or pyarrow read them directly.
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Callable, ItemsView, Iterable, Iterator, Mapping, ValuesView
from typing import TYPE_CHECKING, Any

from arco_nb.catalog.model import AssetDef, CatalogState, Column, Namespace, Table
from arco_nb.catalog.parquet import read_parquet_object, rows_to_table
from arco_nb.core.errors import CorruptObject, ObjectNotFound
from arco_nb.core.ids import canonical_json

if TYPE_CHECKING:
    import pyarrow as pa

    from arco_nb.core.storage import ObjectStore

__all__ = [
    "SNAPSHOT_FILES",
    "DeferredTables",
    "LazyTables",
    "check_snapshot_file",
    "definitions_json",
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
    """Snapshot file ``name`` of ``state``, encoded as Parquet (``definitions``: as JSON)."""
    import pyarrow.parquet as pq

    if name == "definitions":
        return canonical_json(definitions_json(state))

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


def definitions_json(state: CatalogState) -> dict[str, Any]:
    """The namespaces and asset definitions of ``state``, as a checkpoint's JSON object."""
    return {
        "schema_version": 1,
        "version": state.version,
        "namespaces": [state.namespaces[n].to_json() for n in sorted(state.namespaces)],
        "assets": [state.assets[a].to_json() for a in sorted(state.assets)],
    }


def read_snapshot(
    store: ObjectStore,
    files: Mapping[str, str],
    version: int,
    *,
    definitions: str = "",
    fallback: Callable[[], Mapping[str, Table]] | None = None,
) -> CatalogState:
    """Load the state a snapshot's files hold. Tables are built on first access
    (:class:`LazyTables`): a cold reader that looks up one table of 10,000 builds one.

    With ``definitions`` (a checkpoint's JSON namespaces and assets), no Parquet file is read
    until a table is looked up; if the table files then turn out damaged, the tables come
    from ``fallback`` (with a warning) instead.
    """
    if definitions:
        try:
            found = json.loads(store.read(definitions))
            return CatalogState(
                version=version,
                namespaces={
                    str(n["name"]): Namespace(str(n["name"]), str(n.get("description") or ""))
                    for n in found["namespaces"]
                },
                tables=DeferredTables(store, files, version, fallback),
                assets={str(a["name"]): AssetDef.from_json(a) for a in found["assets"]},
            )
        except ObjectNotFound as exc:
            raise CorruptObject(definitions, reason="a checkpoint's file is missing") from exc
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CorruptObject(definitions, reason=f"not a definitions object ({exc!r})") from exc
    data = _read_files(store, files, version, SNAPSHOT_FILES)
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


def _read_files(
    store: ObjectStore, files: Mapping[str, str], version: int, names: Iterable[str]
) -> dict[str, pa.Table]:
    data: dict[str, pa.Table] = {}
    for name in names:
        key = files.get(name)
        if key is None:
            raise CorruptObject(f"snapshot of version {version}", reason=f"no {name} file")
        try:
            data[name] = read_snapshot_file(store, key, name)
        except ObjectNotFound as exc:
            raise CorruptObject(
                key, reason="the snapshot file a checkpoint (or the log) names is missing"
            ) from exc
    return data


def check_snapshot_file(store: ObjectStore, key: str, name: str) -> None:
    """Read file ``key`` of kind ``name`` (a snapshot file, or ``definitions``) as a reader
    would; ``CorruptObject`` or ``ObjectNotFound`` if it cannot be."""
    if name == "definitions":
        read_snapshot(store, {}, 0, definitions=key)
    else:
        read_snapshot_file(store, key, name)


class DeferredTables(Mapping[str, Table]):
    """The tables of a snapshot, whose files are read on first use (then as
    :class:`LazyTables`)."""

    def __init__(
        self,
        store: ObjectStore,
        files: Mapping[str, str],
        version: int,
        fallback: Callable[[], Mapping[str, Table]] | None,
    ) -> None:
        self._store, self._files, self._version = store, files, version
        self._fallback = fallback
        self._loaded: Mapping[str, Table] | None = None

    @property
    def loaded(self) -> Mapping[str, Table]:
        """The tables, read now if they were not yet."""
        if self._loaded is None:
            try:
                data = _read_files(self._store, self._files, self._version, ("tables", "columns"))
                self._loaded = LazyTables(data["tables"], data["columns"])
            except CorruptObject as exc:
                if self._fallback is None:
                    raise
                warnings.warn(
                    f"Skipping a damaged catalog checkpoint file ({exc}); replaying the log "
                    "instead. `arco doctor --repair` rebuilds it",
                    stacklevel=3,
                )
                self._loaded = self._fallback()
        return self._loaded

    def __len__(self) -> int:
        return len(self.loaded)

    def __iter__(self) -> Iterator[str]:
        return iter(self.loaded)

    def __contains__(self, key: object) -> bool:
        return key in self.loaded

    def __getitem__(self, key: str) -> Table:
        return self.loaded[key]


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
