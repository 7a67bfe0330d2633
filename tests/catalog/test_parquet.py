# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``rows_to_table``: the pandas-free path gives exactly what pyarrow's own conversion gives."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arco_nb.catalog import parquet
from arco_nb.catalog.parquet import rows_to_table, via_json

SCHEMA = pa.schema(
    [
        ("name", pa.string()),
        ("at", pa.timestamp("us", tz="UTC")),
        ("n", pa.int32()),
        ("big", pa.int64()),
        ("ok", pa.bool_()),
        ("tags", pa.list_(pa.string())),
    ]
)
T0 = dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)

rows_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.none() | st.text(),
            "at": st.none()
            | st.datetimes(
                min_value=dt.datetime(1970, 1, 1),
                max_value=dt.datetime(2200, 1, 1),
                timezones=st.just(dt.UTC),
            ),
            "n": st.none() | st.integers(-(2**31), 2**31 - 1),
            "big": st.none() | st.integers(-(2**63), 2**63 - 1),
            "ok": st.none() | st.booleans(),
            "tags": st.none() | st.lists(st.text(), max_size=3),
        }
    ),
    max_size=8,
)


@settings(max_examples=80, deadline=None)
@given(rows_strategy)
def test_the_json_path_equals_from_pylist(rows: list[dict[str, Any]]) -> None:
    assert via_json(rows, SCHEMA).equals(pa.Table.from_pylist(rows, schema=SCHEMA))


def test_missing_keys_are_nulls_and_other_zones_are_converted() -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    rows = [{"name": "a\nb", "at": T0.astimezone(paris)}, {"extra": 1}]
    table = via_json(rows, SCHEMA)
    assert table.schema == SCHEMA
    assert table.column("at").to_pylist()[0] == T0
    assert table.column("name").to_pylist() == ["a\nb", None]


def test_pyarrow_converts_once_pandas_is_loaded_or_inputs_are_large(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(parquet, "via_json", lambda rows, _: calls.append(len(rows)))
    rows = [{"name": "x", "n": 1}, {"name": "y", "n": 2}]
    monkeypatch.setitem(sys.modules, "pandas", object())
    assert rows_to_table(rows, SCHEMA).equals(pa.Table.from_pylist(rows, schema=SCHEMA))
    monkeypatch.delitem(sys.modules, "pandas")
    monkeypatch.setattr(parquet, "_VIA_JSON", 1)
    assert rows_to_table(rows, SCHEMA).num_rows == 2
    assert calls == []
    rows_to_table(rows[:1], SCHEMA)
    assert calls == [1], "small input, pandas not loaded: the JSON path"
    assert via_json([], SCHEMA).schema == SCHEMA
