# SPDX-License-Identifier: Apache-2.0 OR MIT
"""A table's schema change, column by column, in ``diff`` (added, removed, type, nullability)."""

from __future__ import annotations

from arco_nb import Workspace
from arco_nb.catalog.diff import ColumnChange, column_changes
from arco_nb.catalog.model import Column
from arco_nb.flow.assets import Registry, sql_asset


def test_every_kind_of_column_change_is_told_apart() -> None:
    before = (
        Column("id", "int64", nullable=False),
        Column("amount", "int32"),
        Column("note", "string", description="old words"),
        Column("gone", "double"),
    )
    after = (
        Column("id", "int64", nullable=True),
        Column("amount", "string"),
        Column("note", "string", description="new words"),
        Column("added", "bool"),
    )
    assert column_changes(before, after) == [
        ColumnChange("nullability changed", "id", "not null", "nullable"),
        ColumnChange("type changed", "amount", "int32", "string"),
        ColumnChange("added", "added", after="bool"),
        ColumnChange("removed", "gone", before="double"),
    ]
    assert column_changes(before, before) == []
    assert [str(c) for c in column_changes(before, after)] == [
        "id not null -> nullable",
        "amount int32 -> string",
        "+added bool",
        "-gone double",
    ]


def test_diff_names_the_columns_an_edit_changed(memory_root: str) -> None:
    registry = Registry()
    sql_asset("orders", "select 1::INT as id, 2::INT as amount", registry=registry)
    ws = Workspace(memory_root, registry=registry)
    ws.run()
    before = ws.catalog.version
    sql_asset("orders", "select 1::INT as id, '2' as amount, true as paid", registry=registry)
    ws.run()
    said = str(ws.catalog.diff(before, ws.catalog.version))
    assert "columns: amount int32 -> string, +paid bool" in said, said
