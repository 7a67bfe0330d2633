# SPDX-License-Identifier: Apache-2.0 OR MIT
"""SQL over the metadata files: the arco.* views, and the same files read without Arco."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from arco_nb import ArcoError, Workspace
from arco_nb.catalog.events import Event
from tests.catalog.conftest import ORDERS
from tests.conftest import S3Endpoint

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)

# DESIGN §4: these views and at least these columns are a public contract.
CONTRACT = {
    "tables": ["namespace", "name", "location", "format", "description", "catalog_version"],
    "columns": ["table_name", "name", "type", "nullable", "position", "description"],
    "assets": ["name", "kind", "code_version", "deps", "partitions", "description", "tags"],
    "runs": ["run_id", "status", "plan_id", "started_at", "finished_at", "executor"],
    "task_runs": [
        "run_id",
        "asset",
        "partition",
        "status",
        "attempt",
        "started_at",
        "finished_at",
        "error",
    ],
    "materializations": [
        "materialization_id",
        "run_id",
        "asset",
        "partition",
        "rows",
        "bytes",
        "schema_hash",
        "fingerprint",
        "path",
        "created_at",
    ],
    "lineage": [
        "materialization_id",
        "run_id",
        "asset",
        "partition",
        "input_asset",
        "input_partition",
        "input_materialization_id",
    ],
    "events": ["event_id", "kind", "run_id", "asset", "at", "payload"],
}


def _at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def _fill(ws: Workspace) -> None:
    ws.catalog.create_namespace("sales")
    ws.catalog.create_table("sales.orders", ORDERS, description="Orders", tags=["pii"])
    from arco_nb.catalog.model import AssetDef

    ws.catalog.define_asset(AssetDef("orders_clean", "sql", code_version="c1", deps=("orders",)))
    log = ws.events
    log.append(
        Event.create(
            "run", run_id="r1", at=_at(0), status="queued", plan_id="p1", executor="inline"
        )
    )
    log.append(Event.create("run", run_id="r1", at=_at(1), status="running"))
    log.append(
        Event.create(
            "task", run_id="r1", at=_at(1), asset="orders_clean", status="running", attempt=1
        )
    )
    log.append(
        Event.create(
            "task",
            run_id="r1",
            at=_at(2),
            asset="orders_clean",
            status="failed",
            attempt=1,
            error="Traceback: boom",
        )
    )
    log.append(
        Event.create(
            "task", run_id="r1", at=_at(3), asset="orders_clean", status="running", attempt=2
        )
    )
    log.append(
        [
            Event.create(
                "task", run_id="r1", at=_at(4), asset="orders_clean", status="succeeded", attempt=2
            ),
            Event.create(
                "materialization",
                run_id="r1",
                at=_at(4),
                asset="orders_clean",
                materialization_id="m1",
                rows=10,
                bytes=999,
                schema_hash="s",
                fingerprint="f",
                path="data/orders_clean/_/m1.parquet",
            ),
            Event.create(
                "lineage",
                run_id="r1",
                at=_at(4),
                asset="orders_clean",
                materialization_id="m1",
                input_asset="orders",
                input_partition="",
                input_materialization_id="m0",
            ),
            Event.create("run", run_id="r1", at=_at(5), status="succeeded"),
        ]
    )


@pytest.fixture(params=["memory", "local"])
def ws(request: pytest.FixtureRequest, memory_root: str, local_root: str) -> Workspace:
    root = memory_root if request.param == "memory" else local_root
    return Workspace(root, tenant="acme", grace=dt.timedelta(0))


def _check_views(ws: Workspace) -> None:
    for view, columns in CONTRACT.items():
        got = ws.sql(f"select * from arco.{view} limit 0").columns
        assert set(columns) <= set(got), (view, got)
    assert ws.sql(
        "select name, description, tags, catalog_version from arco.tables"
    ).fetchall() == [("orders", "Orders", ["pii"], 3)]
    assert ws.sql("select name, type from arco.columns order by position").fetchall() == [
        ("id", "int64"),
        ("amount", "double"),
        ("placed_at", "timestamp[us, tz=UTC]"),
    ]
    assert ws.sql("select name, deps, code_version from arco.assets").fetchall() == [
        ("orders_clean", ["orders"], "c1")
    ]
    run = ws.sql("select status, plan_id, executor, started_at, finished_at from arco.runs")
    [(status, plan, executor, started, finished)] = run.fetchall()
    assert (status, plan, executor) == ("succeeded", "p1", "inline")
    assert (started, finished) == (_at(1), _at(5))
    # The failure of attempt 1 is history: the task succeeded on attempt 2.
    assert ws.sql("select status, attempt, error from arco.task_runs").fetchall() == [
        ("succeeded", 2, None)
    ]
    assert ws.sql(
        "select materialization_id, rows, bytes from arco.materializations"
    ).fetchall() == [("m1", 10, 999)]
    assert ws.sql("select input_asset, input_materialization_id from arco.lineage").fetchall() == [
        ("orders", "m0")
    ]
    assert ws.sql("select count(*), count(distinct event_id) from arco.events").fetchall() == [
        (9, 9)
    ]
    payload = ws.sql(
        "select payload->>'error' from arco.events where payload->>'error' is not null"
    ).fetchall()
    assert payload == [("Traceback: boom",)]


def test_views_before_and_after_compaction(ws: Workspace) -> None:
    assert ws.sql("select count(*) from arco.tables").fetchall() == [(0,)]
    assert ws.sql("select count(*) from arco.events").fetchall() == [(0,)]
    _fill(ws)
    _check_views(ws)
    ws.compact()
    _check_views(ws)
    # Replaying an append after compaction still counts once.
    ws.events.append(Event.create("run", run_id="r1", at=_at(5), status="succeeded"))
    assert ws.sql("select count(*) from arco.events").fetchall() == [(9,)]
    ws.compact()
    ws.compact()  # grace 0: the inbox is collected
    assert ws.store.list("events/inbox") == []
    _check_views(ws)


def test_views_follow_new_commits_and_events(ws: Workspace) -> None:
    _fill(ws)
    assert ws.sql("select count(*) from arco.tables").fetchall() == [(1,)]
    ws.catalog.create_table("sales.refunds", ORDERS)
    ws.events.append(Event.create("run", run_id="r2", at=_at(9), status="queued"))
    assert ws.sql("select count(*) from arco.tables").fetchall() == [(2,)]
    assert ws.sql("select count(*) from arco.runs").fetchall() == [(2,)]


def test_task_and_run_folding_edge_cases(ws: Workspace) -> None:
    append = ws.events.append
    # Attempt 2 starts at the very instant attempt 1 failed (or a worker clock lags): the
    # attempt number, not the clock, decides which state is current.
    append(Event.create("task", run_id="r", asset="a", at=_at(1), status="running", attempt=1))
    append(
        Event.create(
            "task", run_id="r", asset="a", at=_at(2), status="failed", attempt=1, error="first"
        )
    )
    append(Event.create("task", run_id="r", asset="a", at=_at(1), status="running", attempt=2))
    # A task whose last attempt failed keeps that attempt's error.
    append(
        Event.create(
            "task", run_id="r", asset="b", at=_at(1), status="failed", attempt=1, error="old"
        )
    )
    append(
        Event.create(
            "task", run_id="r", asset="b", at=_at(3), status="failed", attempt=2, error="new"
        )
    )
    # Two final states at the same instant resolve the same way, whatever the append order.
    append(Event.create("run", run_id="x", at=_at(5), status="succeeded"))
    append(Event.create("run", run_id="x", at=_at(5), status="failed"))
    rows = ws.sql("select asset, status, attempt, error from arco.task_runs order by asset")
    assert rows.fetchall() == [("a", "running", 2, None), ("b", "failed", 2, "new")]
    assert ws.sql("select status from arco.runs where run_id = 'x'").fetchall() == [("failed",)]


def test_results_are_stable_while_views_refresh(ws: Workspace) -> None:
    ws.events.append(Event.create("run", run_id="r1", at=_at(0), status="queued"))
    result = ws.sql("select count(*) from arco.events")
    ws.events.append(Event.create("run", run_id="r2", at=_at(0), status="queued"))
    ws.compact()
    assert result.fetchall() == [(1,)], "a result is what the query saw when it ran"
    assert ws.sql("select count(*) from arco.events").fetchall() == [(2,)]


def test_sql_errors_are_one_clear_line(ws: Workspace) -> None:
    with pytest.raises(
        ArcoError, match=r"SQL error: .*nope does not exist\. Metadata views: arco\.assets"
    ) as info:
        ws.sql("select * from arco.nope")
    assert "\n" not in str(info.value)


@pytest.mark.s3
def test_views_on_s3(s3_root: str, s3_endpoint: S3Endpoint) -> None:
    ws = Workspace(s3_root, storage_options=s3_endpoint.storage_options, grace=dt.timedelta(0))
    _fill(ws)
    _check_views(ws)
    ws.compact()
    _check_views(ws)


EXTERNAL_READER = r"""
import json, sys
import duckdb, polars as pl
paths = json.loads(sys.argv[1])
out = {}
for name, files in paths.items():
    d = duckdb.sql(f"select count(*) from read_parquet({files!r})").fetchall()[0][0]
    p = pl.scan_parquet(files).select(pl.len()).collect().item()
    ids = sorted(duckdb.sql(f"select * from read_parquet({files!r})").fetchall())
    out[name] = {"duckdb": d, "polars": p, "rows": [list(map(str, r)) for r in ids]}
assert "arco_nb" not in sys.modules and "arco" not in sys.modules
print(json.dumps(out))
"""


def test_plain_duckdb_and_polars_read_the_same_rows(local_root: str, tmp_path: Path) -> None:
    ws = Workspace(local_root, tenant="acme")
    _fill(ws)
    ws.compact()
    snapshot = ws.catalog.checkpoint().snapshot
    manifest = ws.events.manifest()
    paths: dict[str, list[str]] = {
        "tables": [ws.store.path(snapshot["tables"])],
        "columns": [ws.store.path(snapshot["columns"])],
        "assets": [ws.store.path(snapshot["assets"])],
        "materializations": [ws.store.path(k) for k in manifest.parts["materializations"]],
        "lineage": [ws.store.path(k) for k in manifest.parts["lineage"]],
        "run_transitions": [ws.store.path(k) for k in manifest.parts["run_transitions"]],
    }
    proc = subprocess.run(
        [sys.executable, "-c", EXTERNAL_READER, json.dumps(paths)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    external: dict[str, Any] = json.loads(proc.stdout)
    raw = {
        "tables": "_arco_t1_tables",
        "columns": "_arco_t1_columns",
        "assets": "_arco_t1_assets",
        "materializations": "_arco_all_materializations",
        "lineage": "_arco_all_lineage",
        "run_transitions": "_arco_all_run_transitions",
    }
    for name, relation in raw.items():
        ours = sorted(ws.sql(f"select * from {relation}").fetchall())
        assert external[name]["duckdb"] == external[name]["polars"] == len(ours), name
        assert external[name]["rows"] == [list(map(str, r)) for r in ours], name
