# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Reading Arco's Parquet objects, with damage reported as :class:`CorruptObject` naming the
object (not as a pyarrow or DuckDB error from deep inside a read), and building Arrow tables
from rows without importing pandas."""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
from typing import IO, TYPE_CHECKING, Any

from arco_nb.core.errors import CorruptObject

if TYPE_CHECKING:
    import pyarrow as pa

    from arco_nb.core.storage import ObjectStore

__all__ = ["damaged", "read_parquet_object", "rows_to_table", "via_json"]

_VIA_JSON = 5_000  # rows: past this, pyarrow's own conversion is faster than JSON


def read_parquet_object(
    store: ObjectStore,
    key: str,
    columns: list[str] | None = None,
    *,
    source: IO[bytes] | None = None,
) -> pa.Table:
    """The table in Parquet object ``key`` (all of it, or ``columns``), read from ``source``
    when given (a stream already opened) or fetched whole.

    Raises
    ------
    CorruptObject
        The object is not a readable Parquet file (truncated, overwritten, ...).
    """
    # ParquetFile, not read_table: the dataset layer behind read_table imports pandas (0.2 s).
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        data = source if source is not None else pa.BufferReader(store.read(key))
        return pq.ParquetFile(data).read(columns=columns)
    except (pa.ArrowException, ValueError) as exc:  # ArrowInvalid and ArrowIOError among them
        raise damaged(key, exc) from exc


def damaged(key: str, exc: BaseException) -> CorruptObject:
    """The error for a Parquet object that cannot be read."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return CorruptObject(key, reason=f"not a readable Parquet file ({first})")


def rows_to_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """The Arrow table of ``rows`` (dictionaries of JSON-able values and aware datetimes).

    pyarrow's conversion of Python objects (``from_pylist``, ``pa.array``) imports pandas
    when it is installed, about 0.5 s the first time: a fresh kernel's first cell paid it.
    Until pandas is imported anyway, inputs of modest size go through pyarrow's JSON reader,
    which does not import it.
    """
    import pyarrow as pa

    if "pandas" in sys.modules or len(rows) > _VIA_JSON:
        return pa.Table.from_pylist(rows, schema=schema)
    return via_json(rows, schema)


def via_json(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """:func:`rows_to_table` through pyarrow's JSON reader (no pandas import)."""
    import pyarrow as pa
    import pyarrow.json as pj

    if not rows:
        return pa.Table.from_batches([], schema=schema)  # empty_table() imports pandas

    lines = "\n".join(json.dumps(row, default=_json_value) for row in rows).encode()
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    table = pj.read_json(io.BytesIO(lines), parse_options=options)
    return table.select(schema.names).cast(schema)


def _json_value(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    raise TypeError(f"{type(value).__name__} has no JSON form")
