# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Cost with age (issue: bounded cost): reads after a thousand compactions, and reads of a
session that never compacted by hand (figures in docs/performance.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from arco_nb import Workspace
from arco_nb.catalog.autocompact import maybe_compact, wait_for_compactions
from arco_nb.catalog.eventlog import EventLog
from arco_nb.catalog.events import Event
from arco_nb.core.settings import DEFAULT_AUTO_COMPACT

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
ROUNDS = 1_081


def _run_events(i: int, assets: int = 1) -> list[Event]:
    """What one small run records: run and task transitions, materializations, a heartbeat
    (7 events, 25 with ``assets=7``)."""
    at = T0 + dt.timedelta(seconds=i)
    run = f"run{i}"
    events = [Event.create("run", run_id=run, at=at, status=s) for s in ("queued", "running")]
    for a in range(assets):
        asset = f"a{a}"
        events += [
            Event.create("task", run_id=run, asset=asset, at=at, status="running", attempt=1),
            Event.create(
                "materialization",
                run_id=run,
                asset=asset,
                at=at,
                materialization_id=f"m{i}_{a}",
                rows=1,
                bytes=100,
                schema_hash="h",
                path=f"data/{asset}/_/m{i}_{a}.parquet",
            ),
            Event.create("task", run_id=run, asset=asset, at=at, status="succeeded", attempt=1),
        ]
    beat = Event.create("heartbeat", run_id=run, at=at, lease_s=60)
    return [*events, beat, Event.create("run", run_id=run, at=at, status="succeeded")]


@pytest.fixture(scope="module")
def aged(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A workspace compacted after every one of 1,081 runs."""
    root = str(tmp_path_factory.mktemp("aged"))
    log = EventLog(Workspace(root).store)
    for i in range(ROUNDS):
        log.append(_run_events(i))
        log.compact(now=T0 + dt.timedelta(seconds=i))
    parts = sum(len(v) for v in log.manifest().parts.values())
    print(f"\n  {ROUNDS} compactions: {parts} live parts")
    return root


def test_latest_materializations_after_1081_compactions(benchmark: Any, aged: str) -> None:
    latest = benchmark.pedantic(
        lambda: Workspace(aged).latest_materializations(), rounds=10, iterations=1
    )
    assert latest[("a0", "")].materialization_id == f"m{ROUNDS - 1}_0"


def test_sql_after_1081_compactions(benchmark: Any, aged: str) -> None:
    query = "select count(*) from arco.materializations"
    result = benchmark.pedantic(
        lambda: Workspace(aged).sql(query).fetchall(), rounds=10, iterations=1
    )
    assert result == [(ROUNDS,)]


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> str:
    """8,000 runs of 25 events each (200,000 events), with nobody compacting by hand: each
    run is followed by what ``Workspace.run`` does, the auto-compaction check."""
    root = str(tmp_path_factory.mktemp("busy"))
    ws = Workspace(root)
    log = ws.events
    for i in range(8_000):
        log.append(_run_events(i, assets=7))
        if i % 20 == 0:
            log.manifest()
            log.read_columns("run_transitions", ["run_id"])  # a run's own read, which counts
        maybe_compact(log, threshold=DEFAULT_AUTO_COMPACT)
    wait_for_compactions()
    return root


@pytest.mark.parametrize("what", ["sql", "runs"])
def test_reads_of_a_busy_workspace(benchmark: Any, busy: str, what: str) -> None:
    ws = Workspace(busy)
    call = {
        "sql": lambda: ws.sql("select count(*) from arco.events").fetchall(),
        "runs": lambda: ws.runs(limit=20),
    }[what]
    call()
    print(f"\n  uncompacted inbox objects: {ws.events.backlog}")
    benchmark(call)


def test_fresh_reader_of_a_busy_workspace(benchmark: Any, busy: str) -> None:
    result = benchmark.pedantic(
        lambda: Workspace(busy).sql("select count(*) from arco.events").fetchall(),
        rounds=5,
        iterations=1,
    )
    assert result == [(200_000,)]
