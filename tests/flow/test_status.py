# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The status index: incremental reads agree with a full read, before and after compaction."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from arco_nb import StaticPartitions, Workspace
from arco_nb.flow.assets import Registry, asset, sql_asset
from arco_nb.flow.status import StatusIndex


def _registry() -> Registry:
    registry = Registry()
    sql_asset("numbers", "select * from range(3) t(x)", registry=registry)
    sql_asset(
        "daily",
        "select getvariable('partition_key') as day, count(*) as n from numbers",
        partitions=StaticPartitions(["a", "b"]),
        registry=registry,
    )

    @asset(registry=registry)
    def broken(numbers: pa.Table) -> pa.Table:
        raise ValueError("no")

    return registry


def test_incremental_reads_agree_with_a_full_read(memory_root: str) -> None:
    ws = Workspace(memory_root, grace=dt.timedelta(0), registry=_registry())
    index = StatusIndex(ws.events)  # follows the log as it grows
    for step in range(4):
        ws.run(force=step % 2 == 1)
        if step == 2:
            ws.compact()
        fresh = StatusIndex(ws.events)  # reads everything once
        assert index.latest() == fresh.latest()
        assert index.assets() == fresh.assets()
    statuses = index.assets()
    assert statuses["numbers"].status == "succeeded"
    assert statuses["numbers"].rows == 3
    assert statuses["daily"].partitions == 2
    assert statuses["daily"].rows == 2  # one row per partition, added up
    assert statuses["broken"].status == "failed"
    assert statuses["broken"].latest is None
    latest = index.latest()
    assert set(latest) == {("numbers", ""), ("daily", "a"), ("daily", "b")}
    newest = ws.sql(
        "select materialization_id from arco.materializations where asset = 'numbers' "
        "order by created_at desc, materialization_id desc limit 1"
    ).fetchall()
    assert [(latest[("numbers", "")].materialization_id,)] == newest


def test_the_newest_materialization_wins_and_names_its_run(
    ws: Workspace, registry: Registry
) -> None:
    sql_asset("one", "select 1 as x", registry=registry)
    first = ws.run()
    second = ws.run(force=True)
    latest = ws.status.latest()[("one", "")]
    assert latest.run_id == second.run_id != first.run_id
    assert ws.status.assets()["one"].run_id == second.run_id
    rebuilt = StatusIndex(ws.events).latest()[("one", "")]
    assert rebuilt == latest
