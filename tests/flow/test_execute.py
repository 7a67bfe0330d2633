# SPDX-License-Identifier: Apache-2.0 OR MIT
from __future__ import annotations

import datetime as dt
import os
import re
import time
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from arco_nb import InvalidTransition, Workspace
from arco_nb.catalog.events import Event
from arco_nb.flow.assets import Registry, asset, sql_asset
from arco_nb.flow.state import RunState
from tests.conftest import S3Endpoint


@pytest.fixture
def chain(registry: Registry) -> Registry:
    sql_asset("raw", "select * from range(5) t(x)", registry=registry)
    sql_asset("clean", "select x from raw where x > 0", registry=registry)

    @asset(registry=registry)
    def report(clean: pl.DataFrame) -> pl.DataFrame:
        return clean.select(pl.col("x").sum().alias("total"))

    return registry


def test_a_run_materializes_records_and_registers(ws: Workspace, chain: Registry) -> None:
    result = ws.run()
    assert result.status == "succeeded"
    assert ws.read("report").to_pylist() == [{"total": 10}]
    assert ws.read("clean").num_rows == 4
    states = {a: t.status for (a, _), t in result.state.tasks.items()}
    assert states == {"raw": "succeeded", "clean": "succeeded", "report": "succeeded"}
    # 100% lineage: every materialization of an asset with inputs has an edge per input.
    missing = ws.sql(
        """select m.asset from arco.materializations m
           left join arco.lineage l using (materialization_id)
           where m.asset <> 'raw' and l.materialization_id is null"""
    ).fetchall()
    assert missing == []
    edges = ws.sql("select asset, input_asset from arco.lineage order by asset").fetchall()
    assert edges == [("clean", "raw"), ("report", "clean")]
    assert ws.sql("select status, plan_id from arco.runs").fetchall() == [
        ("succeeded", result.plan.plan_id)
    ]
    table = ws.catalog.load_table("assets.report")
    assert [(c.name, c.type) for c in table.columns] == [("total", "int64")]
    assert ws.catalog.load_asset("clean").deps == ("raw",)
    assert ws.run_state(result.run_id) == result.state, "replaying the events gives the live state"


def test_a_run_of_a_plan_reads_what_the_plan_was_made_against(
    ws: Workspace, chain: Registry, memory_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan is run as planned, without looking at the event log again: no listing of the
    inbox, and the inputs it was made against even if newer ones appeared meanwhile."""
    first = ws.run()
    plan = ws.plan("clean", force=True)
    assert plan.materialized[("raw", "")] == first.state.tasks[("raw", "")].materialization_id
    Workspace(memory_root, registry=chain).run("raw", force=True)  # a colleague, meanwhile
    listed: list[str] = []
    real = ws.store.list

    def counting(prefix: str = "") -> list[str]:
        listed.append(prefix)
        return real(prefix)

    monkeypatch.setattr(ws.store, "list", counting)
    result = ws.run(plan=plan)
    assert result.status == "succeeded"
    assert not [p for p in listed if p.startswith("events")], listed
    monkeypatch.undo()
    (edge,) = ws.sql(
        "select input_materialization_id from arco.lineage where run_id = ?", [result.run_id]
    ).fetchall()
    assert edge == (plan.materialized[("raw", "")],)


def test_an_unchanged_rerun_is_up_to_date_and_commits_nothing(
    ws: Workspace, chain: Registry
) -> None:
    ws.run()
    version = ws.catalog.version
    again = ws.run()
    assert {t.status for t in again.state.tasks.values()} == {"up_to_date"}
    assert ws.catalog.version == version
    assert ws.sql("select count(*) from arco.materializations").fetchall() == [(3,)]
    forced = ws.run("clean", force=True)
    assert [a for (a, _), t in forced.state.tasks.items() if t.status == "succeeded"] == ["clean"]


def test_a_failing_asset_skips_downstream_and_keeps_what_exists(
    ws: Workspace, registry: Registry
) -> None:
    sql_asset("raw", "select 1 as x", registry=registry)
    sql_asset("side", "select 2 as y", registry=registry)

    @asset(registry=registry)
    def broken(raw: pl.DataFrame) -> object:
        return 42  # not a table

    @asset(registry=registry)
    def after(broken: pl.DataFrame) -> pl.DataFrame:
        return broken

    result = ws.run()
    assert result.status == "failed"
    assert result.failed == ["broken"]
    tasks = {a: t for (a, _), t in result.state.tasks.items()}
    assert tasks["after"].status == "skipped"
    assert tasks["side"].status == "succeeded", "independent branches still run"
    assert tasks["broken"].error == (
        "arco_nb.AssetDefinitionError: Asset 'broken': returned int, which is not a table. "
        "Return a polars or pandas DataFrame, a pyarrow Table or a DuckDB relation"
    ), "Arco's own complaint about the asset is just its message"
    row = ws.sql("select status, error from arco.task_runs where asset = 'broken'").fetchall()
    assert row[0][0] == "failed"
    assert "not a table" in row[0][1]
    assert ws.read("raw").to_pylist() == [{"x": 1}]
    assert ws.run_state(result.run_id) == result.state


def test_a_failure_shows_the_users_traceback_without_arco_frames(
    ws: Workspace, registry: Registry
) -> None:

    def helper(x: int) -> int:
        return x // 0

    @asset(registry=registry)
    def divides() -> pa.Table:
        return pa.table({"x": [helper(1)]})

    error = ws.run().state.tasks[("divides", "")].error
    assert error.startswith("Traceback (most recent call last):")
    assert "in divides" in error
    assert "in helper" in error
    assert error.endswith("ZeroDivisionError: integer division or modulo by zero")
    assert "arco_nb" not in error
    assert "concurrent" not in error


def test_sys_exit_in_an_asset_is_a_failure_not_a_hang(ws: Workspace, registry: Registry) -> None:
    import sys

    @asset(registry=registry)
    def quits() -> pa.Table:
        sys.exit(3)

    result = ws.run(executor="threads")
    assert result.status == "failed"
    assert result.state.tasks[("quits", "")].error.endswith("SystemExit: 3")


def test_retries_count_attempts(ws: Workspace, registry: Registry) -> None:
    calls = {"n": 0}

    @asset(registry=registry, retries=2)
    def flaky() -> pa.Table:
        calls["n"] += 1
        if calls["n"] < 2:
            raise ConnectionError("try again")
        return pa.table({"ok": [True]})

    result = ws.run()
    task = result.state.tasks[("flaky", "")]
    assert (result.status, task.status, task.attempt) == ("succeeded", "succeeded", 2)
    assert ws.sql("select attempt, error from arco.task_runs").fetchall() == [(2, None)]


def test_retries_back_off_without_holding_up_other_tasks(ws: Workspace, registry: Registry) -> None:
    calls = {"n": 0}

    @asset(registry=registry, retries=2, retry_delay=0.2)
    def flaky() -> pa.Table:
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionError("try again")
        return pa.table({"ok": [True]})

    @asset(registry=registry)
    def steady() -> pa.Table:
        return pa.table({"ok": [True]})

    @asset(registry=registry)
    def after_steady(steady: pa.Table) -> pa.Table:
        return steady

    result = ws.run(executor="threads", max_workers=2)
    assert result.state.tasks[("flaky", "")].attempt == 3
    rows = ws.events.events(run_id=result.run_id)
    task_events = sorted((e for e in rows if e.kind == "task"), key=lambda e: int(e.payload["seq"]))
    flaky_events = [(e.payload["status"], e.at) for e in task_events if e.asset == "flaky"]
    statuses = [s for s, _ in flaky_events]
    assert statuses == ["pending", "running", "failed", "running", "failed", "running", "succeeded"]
    waits = [
        (flaky_events[i + 1][1] - flaky_events[i][1]).total_seconds()
        for i, (s, _) in enumerate(flaky_events)
        if s == "failed"
    ]
    assert waits[0] >= 0.2, waits
    assert waits[1] >= 0.4, f"exponential backoff, got {waits}"
    seq = {
        (e.asset, str(e.payload["status"]), int(e.payload.get("attempt") or 0)): int(
            e.payload["seq"]
        )
        for e in task_events
    }
    # The scheduler kept working while flaky waited: steady's downstream ran in the meantime.
    assert seq[("after_steady", "succeeded", 1)] < seq[("flaky", "running", 2)]


def test_retry_waits_double() -> None:
    spec = sql_asset("x", "select 1", retries=3, retry_delay=0.5, registry=Registry())
    assert [spec.retry_wait(a) for a in (1, 2, 3)] == [0.5, 1.0, 2.0]


def test_events_are_group_committed(ws: Workspace, chain: Registry) -> None:
    from arco_nb.flow.execute import execute_plan
    from arco_nb.flow.graph import AssetGraph

    graph = AssetGraph(chain)
    plan = ws.plan()
    result = execute_plan(
        plan,
        graph,
        store=ws.store,
        catalog=ws.catalog,
        events=ws.events,
        linger=60.0,
    )
    assert result.status == "succeeded"
    # Only a run's end flushes before the linger is up: a short run is one object.
    assert len(ws.store.list("events/inbox")) == 1
    assert ws.run_state(result.run_id) == result.state


def test_a_long_task_is_visible_as_running_while_it_runs(ws: Workspace, registry: Registry) -> None:
    import time

    @asset(registry=registry)
    def slow() -> pa.Table:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait until the linger timer has flushed
            seen = ws.sql(
                "select count(*) from arco.task_transitions "
                "where asset = 'slow' and status = 'running'"
            ).fetchall()
            if seen == [(1,)]:
                return pa.table({"seen_running": [True]})
            time.sleep(0.05)
        return pa.table({"seen_running": [False]})

    assert ws.run().status == "succeeded"
    assert ws.read("slow").to_pylist() == [{"seen_running": True}]


@pytest.mark.parametrize(
    "make",
    [
        lambda: pd.DataFrame({"a": [1, 2]}),
        lambda: pl.DataFrame({"a": [1, 2]}),
        lambda: pa.table({"a": [1, 2]}),
        lambda: duckdb.sql("select unnest([1, 2]) as a"),
    ],
    ids=["pandas", "polars", "arrow", "duckdb"],
)
def test_python_assets_may_return_any_table(
    ws: Workspace, make: object, registry: Registry
) -> None:

    @asset(registry=registry)
    def out() -> object:
        return make()  # type: ignore[operator]

    assert ws.run().status == "succeeded"
    assert ws.read("out").column("a").to_pylist() == [1, 2]


def test_ctrl_c_cancels_the_run_and_is_recorded(ws: Workspace, registry: Registry) -> None:

    @asset(registry=registry)
    def interrupted() -> pa.Table:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ws.run()
    assert ws.sql("select status from arco.runs").fetchall() == [("cancelled",)]


def test_illegal_transitions_raise() -> None:
    state = RunState("r")
    at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(InvalidTransition, match=r"\(new\) -> running"):
        state.apply(Event.create("run", run_id="r", at=at, status="running"))
    state.apply(Event.create("run", run_id="r", at=at, status="queued"))
    with pytest.raises(InvalidTransition, match="task 'a' in run r: \\(new\\) -> succeeded"):
        state.apply(Event.create("task", run_id="r", at=at, asset="a", status="succeeded"))


def test_inputs_annotated_pa_table_arrive_as_arrow(ws: Workspace, registry: Registry) -> None:
    sql_asset("src", "select 1 as a", registry=registry)
    seen: dict[str, str] = {}

    @asset(registry=registry)
    def as_arrow(src: pa.Table) -> pa.Table:
        seen["arrow"] = type(src).__name__
        return src

    @asset(registry=registry)
    def as_polars(src) -> pl.DataFrame:  # type: ignore[no-untyped-def]
        seen["polars"] = type(src).__name__
        return src  # type: ignore[no-any-return]

    assert ws.run().status == "succeeded"
    assert seen == {"arrow": "Table", "polars": "DataFrame"}


@pytest.mark.s3
def test_a_pipeline_on_an_s3_root(s3_root: str, s3_endpoint: S3Endpoint, chain: Registry) -> None:
    ws = Workspace(s3_root, storage_options=s3_endpoint.storage_options, registry=chain)
    result = ws.run()
    assert result.status == "succeeded"
    assert ws.read("report").to_pylist() == [{"total": 10}]
    assert ws.sql("select count(*) from arco.lineage").fetchall() == [(2,)]
    assert ws.run().plan.to_run == ()
    assert ws.store.list("data/report/_")[0].endswith(".parquet")


def test_no_event_or_commit_names_a_data_file_before_it_is_synced(
    local_root: str, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Data files are synced in the background (ADR 0020); the facts that name them wait."""
    from arco_nb.core import backends

    for i in range(6):
        sql_asset(f"s{i}", f"select {i} as x" + (f" from s{i - 1}" if i else ""),
                  registry=registry)  # fmt: skip
    synced: set[str] = set()
    real_sync, real_put = backends.LocalBackend.sync, backends.LocalBackend.put_if_absent

    def slow_sync(self: backends.LocalBackend, path: str) -> None:
        time.sleep(0.03)  # a slow disk: the engine runs ahead of it
        real_sync(self, path)
        synced.add(os.path.basename(path))

    def checked_put(self: backends.LocalBackend, path: str, data: bytes, **kw: Any) -> None:
        if "/events/inbox/" in path or "/catalog/" in path:
            named = set(re.findall(rb"[0-9A-Za-z]{26}\.parquet", data))
            assert {n.decode() for n in named} <= synced, f"{path} names unsynced data"
        real_put(self, path, data, **kw)

    monkeypatch.setattr(backends.LocalBackend, "sync", slow_sync)
    monkeypatch.setattr(backends.LocalBackend, "put_if_absent", checked_put)
    result = Workspace(local_root, registry=registry).run()
    assert result.status == "succeeded"
    assert len(synced) == 6


def test_a_data_file_that_cannot_be_synced_is_never_recorded(
    local_root: str, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arco_nb.core import backends
    from arco_nb.core.errors import StorageError

    sql_asset("lost", "select 1 as x", registry=registry)

    def failing(self: backends.LocalBackend, path: str) -> None:
        raise OSError(5, "Input/output error", path)

    monkeypatch.setattr(backends.LocalBackend, "sync", failing)
    ws = Workspace(local_root, registry=registry)
    with pytest.raises(StorageError):
        ws.run()
    monkeypatch.undo()
    fresh = Workspace(local_root, registry=registry)
    assert fresh.sql("select count(*) from arco.materializations").fetchall() == [(0,)]
    assert fresh.catalog.list_tables() == []
