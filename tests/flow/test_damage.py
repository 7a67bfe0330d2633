# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Damaged Parquet objects are reported as CorruptObject naming the object, on every read
path, not as pyarrow or DuckDB errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from arco_nb import CorruptObject, Workspace
from arco_nb.flow.assets import Registry, sql_asset

CALLS: dict[str, Callable[[Workspace], Any]] = {
    "read": lambda ws: ws.read("b"),
    "plan": lambda ws: ws.plan(),
    "run": lambda ws: ws.run(force=True),
    "sql": lambda ws: ws.sql("select * from arco.runs"),
    "assets": lambda ws: ws.assets(),
    "runs": lambda ws: ws.runs(),
    "tasks": lambda ws: ws.tasks(asset="a"),
    "gc": lambda ws: ws.gc(dry_run=True),
}


@pytest.fixture(params=["memory", "local"])
def damaged(request: pytest.FixtureRequest, memory_root: str, local_root: str) -> str:
    root = memory_root if request.param == "memory" else local_root
    registry = Registry()
    sql_asset("a", "select 1 as x", registry=registry)
    sql_asset("b", "select x + 1 as y from a", registry=registry)
    ws = Workspace(root, registry=registry)
    assert ws.run().status == "succeeded"
    ws.compact()
    for key in ws.store.list("events/compacted"):
        if key.endswith(".parquet"):
            ws.store.write(key, b"PAR1 half a file")
    return root


INDEXED = ("assets", "plan", "read", "run")  # need only the latest index, not the parts


def _pair() -> Registry:
    registry = Registry()
    sql_asset("a", "select 1 as x", registry=registry)
    sql_asset("b", "select x + 1 as y from a", registry=registry)
    return registry


@pytest.mark.parametrize("call", sorted(set(CALLS) - set(INDEXED)))
def test_a_damaged_compacted_part_is_named(damaged: str, call: str) -> None:
    with pytest.raises(CorruptObject, match=r"'events/compacted/\w+/part-[^']+\.parquet'") as info:
        CALLS[call](Workspace(damaged, registry=_pair()))
    assert "not a readable Parquet file" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("call", INDEXED)
def test_what_needs_only_the_latest_index_works_past_a_damaged_part(
    damaged: str, call: str
) -> None:
    CALLS[call](Workspace(damaged, registry=_pair()))
    assert Workspace(damaged, registry=_pair()).read("b").to_pydict() == {"y": [2]}


@pytest.mark.parametrize("call", INDEXED)
def test_a_damaged_latest_index_falls_back_to_the_parts(damaged: str, call: str) -> None:
    ws = Workspace(damaged, registry=_pair())
    ws.store.write(ws.events.manifest().latest, b"{not json")
    with (
        pytest.warns(UserWarning, match="Reading the parts instead: .*_latest/latest-"),
        pytest.raises(CorruptObject, match=r"'events/compacted/\w+/part-[^']+\.parquet'"),
    ):
        CALLS[call](Workspace(damaged, registry=_pair()))


def test_a_damaged_data_file_is_named(ws: Workspace, registry: Registry) -> None:
    sql_asset("a", "select 1 as x", registry=registry)
    assert ws.run().status == "succeeded"
    (key,) = ws.store.list("data/a")
    ws.store.write(key, b"not parquet at all")
    # Another reader: the writing workspace keeps the table it wrote in memory (ADR 0022).
    reader = Workspace(ws.scope.root, storage_options=ws.store.storage_options, registry=registry)
    with pytest.raises(CorruptObject, match=f"'{key}' is unreadable: not a readable Parquet"):
        reader.read("a")
