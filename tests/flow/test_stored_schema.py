# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The schema a materialization records is the one a reader of its file gets back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arco_nb import Workspace
from arco_nb.flow.assets import Registry, asset
from arco_nb.flow.materialize import _encode, stored_schema

TABLES = {
    "ints": pa.table(
        {
            f"c{i}": pa.array([1], t)
            for i, t in enumerate(
                [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint64()]
            )
        }
    ),
    "floats and flags": pa.table({"f": pa.array([1.5], pa.float32()), "d": [2.5], "b": [True]}),
    "text and bytes": pa.table(
        {
            "s": ["a"],
            "ls": pa.array(["b"], pa.large_string()),
            "by": [b"c"],
            "lb": pa.array([b"d"], pa.large_binary()),
        }
    ),
    "not null": pa.table({"x": [1]}, schema=pa.schema([pa.field("x", pa.int64(), False)])),
    "seconds": pa.table({"t": pa.array([dt.datetime(2024, 1, 1)], pa.timestamp("s"))}),
    "date64": pa.table({"d": pa.array([dt.date(2024, 1, 1)], pa.date64())}),
    "nested": pa.table({"l": [[1, 2]], "s": [{"a": 1}]}),
    "metadata": pa.table({"x": [1]}).replace_schema_metadata({"k": "v"}),
}


@pytest.mark.parametrize("name", TABLES)
def test_the_recorded_schema_is_the_files(name: str) -> None:
    table = TABLES[name]
    data = _encode(table)
    read_back = pq.ParquetFile(pa.BufferReader(data)).schema_arrow
    assert stored_schema(table, data).to_string() == read_back.to_string()


@pytest.mark.parametrize("name", TABLES)
def test_a_table_kept_in_memory_after_its_run_is_the_one_its_file_gives(
    name: str, tmp_path: Path
) -> None:
    """A workspace hands its next cell (and ``read``) the tables it just wrote from memory;
    a reader of the files elsewhere must get exactly the same table."""
    registry = Registry()
    ws = Workspace(str(tmp_path / "root"), registry=registry)
    table = TABLES[name]
    asset(name=f"t_{name.replace(' ', '_')}", registry=registry)(lambda: table)
    (spec,) = registry
    ws.run()
    kept = ws.read(spec.name)
    from_file = Workspace(str(tmp_path / "root"), registry=Registry()).read(spec.name)
    assert kept.schema.equals(from_file.schema, check_metadata=True)
    assert kept.equals(from_file)
