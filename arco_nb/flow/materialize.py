# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Worker-side code: read an asset's inputs, compute it, write its Parquet file.

Everything here runs wherever an executor sends it (this process, a thread, a Dask worker). It
needs only the store and the asset's definition, so a remote worker with access to the root
needs nothing else.
"""

from __future__ import annotations

import contextlib
import io
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from arco_nb.catalog.parquet import read_parquet_object
from arco_nb.core.errors import AssetDefinitionError, QueryRefused, SchemaError
from arco_nb.core.ids import content_hash, new_id
from arco_nb.flow.assets import PARTITION_PARAMETER

if TYPE_CHECKING:
    import pyarrow as pa

    from arco_nb.core.storage import ObjectStore
    from arco_nb.core.syncer import BackgroundSync
    from arco_nb.flow.assets import AssetSpec

__all__ = [
    "Output",
    "TableCache",
    "data_key",
    "materialize",
    "read_data",
    "stored_schema",
    "to_arrow",
]


class TableCache:
    """Tables this process just wrote, by materialization id, so a downstream task in the same
    process skips reading them back. Bounded by Arrow bytes; oldest out first."""

    def __init__(self, max_bytes: int = 256 << 20) -> None:
        self.max_bytes = max_bytes
        self._tables: OrderedDict[str, pa.Table] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, materialization_id: str) -> pa.Table | None:
        with self._lock:
            return self._tables.get(materialization_id)

    def put(self, materialization_id: str, table: pa.Table) -> None:
        size = table.get_total_buffer_size()  # what it keeps alive, slices included
        if size > self.max_bytes:
            return
        with self._lock:
            self._tables[materialization_id] = table
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, old = self._tables.popitem(last=False)
                self._bytes -= old.get_total_buffer_size()


@dataclass(frozen=True)
class Output:
    """What materializing one asset partition produced (returned by workers, local or remote)."""

    materialization_id: str
    path: str
    rows: int
    bytes: int
    schema_hash: str
    columns: tuple[tuple[str, str, bool], ...]


def data_key(asset: str, partition: str, materialization_id: str) -> str:
    """Where a materialization's data lives: ``data/{asset}/{partition or _}/{id}.parquet``."""
    return f"data/{asset}/{partition or '_'}/{materialization_id}.parquet"


def materialize(
    spec: AssetSpec,
    store: ObjectStore,
    inputs: Sequence[tuple[str, str, str]],
    partition: str = "",
    *,
    cache: TableCache | None = None,
    sandbox: bool = False,
    syncs: BackgroundSync | None = None,
) -> Output:
    """Read ``inputs`` ((asset, partition, materialization id)), compute, write Parquet.

    ``cache`` is for executors in this process; a remote worker reads everything from the store.
    With ``sandbox``, a SQL asset runs read-only statements on a DuckDB that sees its inputs and
    nothing else (:mod:`arco_nb.core.sandbox`). With ``syncs`` (executors in this process),
    the file is made durable in the background, and the caller waits on ``syncs`` before
    recording anything that names it; otherwise it is durable when this returns.
    """
    by_asset: dict[str, list[tuple[str, str]]] = {}
    for asset, key, mid in inputs:
        by_asset.setdefault(asset, []).append((key, mid))
    tables = {
        asset: read_data(store, asset, parts, cache=cache) for asset, parts in by_asset.items()
    }
    table = _compute(spec, tables, partition, sandbox=sandbox)
    data = _encode(table)
    # The id (and so the file's age, which gc goes by) is taken as the file is written, not
    # before computing: a task that computes for longer than gc's grace period must not write
    # a file that is already "old" before its materialization is recorded.
    mid = new_id()
    path = data_key(spec.name, partition, mid)
    if syncs is None:
        store.put_if_absent(path, data)
    else:
        syncs.write(path, data)
    # Describe (and hand on) what the file holds, which is what any later reader gets: Parquet
    # has no timestamp[s] or date64, for instance, so it is not always the table returned.
    schema = stored_schema(table, data)
    if cache is not None:
        cache.put(mid, table if schema.equals(table.schema, check_metadata=True) else _decode(data))
    return Output(
        materialization_id=mid,
        path=path,
        rows=table.num_rows,
        bytes=len(data),
        schema_hash=content_hash(schema.to_string())[:16],
        columns=tuple((f.name, str(f.type), bool(f.nullable)) for f in schema),
    )


def read_data(
    store: ObjectStore,
    asset: str,
    parts: Sequence[tuple[str, str]],
    *,
    cache: TableCache | None = None,
) -> pa.Table:
    """One asset's data over ``parts`` ((partition, materialization id)), in that order."""
    import pyarrow as pa

    tables = []
    for key, mid in parts:
        cached = cache.get(mid) if cache is not None else None
        if cached is not None:
            tables.append(cached)
            continue
        path = data_key(asset, key, mid)
        with store.open(path) as f:
            tables.append(read_parquet_object(store, path, source=f))
    if len(tables) == 1:
        return tables[0]
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SchemaError(
            f"The partitions of {asset!r} have schemas that do not combine: {exc}",
            asset=asset,
            hint="Re-materialize the older partitions with the current code (run with --force)",
        ) from None


def _encode(table: pa.Table) -> bytes:
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def stored_schema(table: pa.Table, data: bytes) -> pa.Schema:
    """The schema a reader of ``data`` (``table`` encoded) gets back. Flat tables of types
    Parquet stores as they are need no look at the file (0.1 ms a task on trivial assets)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = table.schema
    if schema.metadata is None and all(_round_trips(f.type) for f in schema):
        return schema
    return pq.ParquetFile(pa.BufferReader(data)).schema_arrow


def _round_trips(type_: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_integer(type_)
        or pa.types.is_float32(type_)
        or pa.types.is_float64(type_)
        or pa.types.is_boolean(type_)
        or pa.types.is_string(type_)
        or pa.types.is_large_string(type_)
        or pa.types.is_binary(type_)
        or pa.types.is_large_binary(type_)
    )


def _decode(data: bytes) -> pa.Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pq.ParquetFile(pa.BufferReader(data)).read()


def _compute(
    spec: AssetSpec, inputs: dict[str, pa.Table], partition: str, *, sandbox: bool
) -> pa.Table:
    if spec.kind == "sql":
        # A cursor has its own views and variables; the database is shared.
        con = _duckdb(sandbox=sandbox).cursor()
        try:
            if sandbox:
                from arco_nb.core.sandbox import check_read_only

                check_read_only(con, spec.code, where=f"SQL asset {spec.name!r} (sandboxed)")
            for name, table in inputs.items():
                con.register(name, table)
            if partition:  # unset, getvariable() gives NULL, as for unpartitioned assets
                con.execute(f"SET VARIABLE {PARTITION_PARAMETER} = ?", [partition])
            if not sandbox:
                return con.sql(spec.code).to_arrow_table()
            return _sandboxed_query(con, spec)
        finally:
            con.close()
    assert spec.fn is not None, "python assets carry their function"
    import polars as pl

    arrow_params, wants_key = _parameters(spec.fn)
    args: dict[str, Any] = {
        name: table if name in arrow_params else pl.from_arrow(table)
        for name, table in inputs.items()
    }
    if wants_key:
        args[PARTITION_PARAMETER] = partition or None
    return to_arrow(spec.name, spec.fn(**args))


def _sandboxed_query(con: Any, spec: AssetSpec) -> pa.Table:
    import duckdb

    from arco_nb.core.sandbox import query_error

    try:
        return con.sql(spec.code).to_arrow_table()
    except duckdb.Error as exc:
        error = query_error(
            exc,
            where=f"SQL asset {spec.name!r} (sandboxed)",
            hint="In the SQL sandbox an asset reads only its upstream assets, by name",
        )
        if isinstance(error, QueryRefused):
            raise error from None
        raise  # the user's own SQL error, as DuckDB words it


_DUCKDB: dict[bool, Any] = {}
_DUCKDB_LOCK = threading.Lock()


def _duckdb(*, sandbox: bool = False) -> Any:
    """This process's in-memory DuckDB (a sandboxed one with ``sandbox``). A cursor costs
    microseconds; a connection ~15 ms."""
    with _DUCKDB_LOCK:
        if sandbox not in _DUCKDB:
            import duckdb

            from arco_nb.core.sandbox import sandboxed_connection

            _DUCKDB[sandbox] = sandboxed_connection() if sandbox else duckdb.connect()
        return _DUCKDB[sandbox]


def _parameters(fn: Callable[..., Any]) -> tuple[frozenset[str], bool]:
    """Parameters annotated ``pa.Table`` (they get Arrow tables; all others polars DataFrames),
    and whether the function takes the partition key (kept per function: a signature costs
    more than a trivial asset's body)."""
    try:
        return _PARAMETERS[fn]
    except (KeyError, TypeError):  # TypeError: not weak-referenceable, so never kept
        pass
    found = _inspect_parameters(fn)
    with contextlib.suppress(TypeError):
        _PARAMETERS[fn] = found
    return found


_PARAMETERS: weakref.WeakKeyDictionary[Callable[..., Any], tuple[frozenset[str], bool]] = (
    weakref.WeakKeyDictionary()
)


def _inspect_parameters(fn: Callable[..., Any]) -> tuple[frozenset[str], bool]:
    import inspect

    import pyarrow as pa

    found = set()
    params = inspect.signature(fn).parameters
    for param in params.values():
        ann = param.annotation
        text = ann if isinstance(ann, str) else ""
        if ann is pa.Table or text.replace("pyarrow.", "pa.") == "pa.Table":
            found.add(param.name)
    return frozenset(found), PARTITION_PARAMETER in params


def to_arrow(asset: str, value: Any) -> pa.Table:
    """Turn what an asset returned into an Arrow table, or say clearly why not."""
    import pyarrow as pa

    if isinstance(value, pa.Table):
        return value
    module = type(value).__module__.split(".")[0]
    if module == "polars" and hasattr(value, "to_arrow"):
        return value.to_arrow()
    if module == "pandas" and hasattr(value, "to_parquet"):
        return pa.Table.from_pandas(value, preserve_index=False)
    if module in {"duckdb", "_duckdb"} and hasattr(value, "to_arrow_table"):
        return value.to_arrow_table()
    raise AssetDefinitionError(
        asset,
        f"returned {type(value).__name__}, which is not a table",
        hint="Return a polars or pandas DataFrame, a pyarrow Table or a DuckDB relation",
    )
