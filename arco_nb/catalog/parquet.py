# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Reading Arco's Parquet objects, with damage reported as :class:`CorruptObject` naming the
object (not as a pyarrow or DuckDB error from deep inside a read)."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from arco_nb.core.errors import CorruptObject

if TYPE_CHECKING:
    import pyarrow as pa

    from arco_nb.core.storage import ObjectStore

__all__ = ["damaged", "read_parquet_object"]


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
