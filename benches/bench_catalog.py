# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Catalog benchmarks on local disk (targets and figures in docs/performance.md)."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import pytest

from arco_nb import ObjectStore, TenantScope, Workspace
from arco_nb.catalog.catalog import Catalog
from arco_nb.catalog.eventlog import INBOX, EventLog
from arco_nb.catalog.events import Event, inbox_object
from arco_nb.catalog.model import Column, Table
from arco_nb.catalog.operations import AlterTable, CreateNamespace, CreateTable
from arco_nb.core.ids import canonical_json

COLUMNS = tuple(Column(f"c{i}", "int64" if i % 2 else "string") for i in range(8))
T0 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def _catalog(root: Path, tables: int) -> Catalog:
    catalog = Catalog(TenantScope(str(root)).store())
    ops: list[Any] = [CreateNamespace(f"ns{n}") for n in range(10)]
    ops += [
        CreateTable(Table(namespace=f"ns{i % 10}", name=f"t{i}", columns=COLUMNS))
        for i in range(tables)
    ]
    catalog.commit(ops)
    catalog.checkpoint()  # as the 50th commit's background checkpoint would (ADR 0018)
    return catalog


def _p95(benchmark: Any) -> None:
    data = sorted(benchmark.stats.stats.data)
    p95 = data[int(0.95 * (len(data) - 1))]
    benchmark.extra_info["p95_ms"] = round(p95 * 1000, 4)
    print(f"\n  p95 = {p95 * 1000:.4f} ms over {len(data)} rounds")


def test_table_lookup_in_10000_table_catalog(benchmark: Any, tmp_path: Path) -> None:
    catalog = _catalog(tmp_path, 10_000)
    names = itertools.cycle(f"ns{i % 10}.t{i}" for i in range(0, 10_000, 7))
    benchmark(lambda: catalog.load_table(next(names)))
    _p95(benchmark)


@pytest.mark.parametrize("past", [0, 49])
def test_table_lookup_cold_reader_10000_tables(benchmark: Any, tmp_path: Path, past: int) -> None:
    """A new reader: the newest checkpoint, then ``past`` records replayed on top of it (49:
    the most a reader replays when every 50th version is checkpointed)."""
    catalog = _catalog(tmp_path, 10_000)
    for i in range(past):
        catalog.commit([AlterTable(f"ns{i % 10}.t{i}", description=str(i))])
    result = benchmark.pedantic(
        lambda: Catalog(catalog.store).load_table("ns3.t9993"), rounds=10, iterations=1
    )
    assert result.name == "t9993"


def test_full_scan_of_1000_tables_with_columns_cold(benchmark: Any, tmp_path: Path) -> None:
    catalog = _catalog(tmp_path, 1_000)

    def scan() -> int:
        reader = Catalog(catalog.store)  # a new process's first read: loads the snapshot
        return sum(len(reader.load_table(t).columns) for t in reader.list_tables())

    assert benchmark.pedantic(scan, rounds=20, iterations=1) == 8_000


@pytest.mark.parametrize("tables", [100, 1_000, 10_000, 100_000])
def test_one_commit_by_catalog_size(benchmark: Any, tmp_path: Path, tables: int) -> None:
    catalog = _catalog(tmp_path, tables)
    counter = itertools.count()
    benchmark.pedantic(
        lambda: catalog.commit([AlterTable("ns0.t0", description=str(next(counter)))]),
        rounds=49,  # below the 50th version: no background checkpoint in the figures
        iterations=1,
    )
    catalog.wait_for_checkpoints()


def test_commits_with_background_checkpoints_10000_tables(benchmark: Any, tmp_path: Path) -> None:
    """100 commits in a row: two of them start a background checkpoint, which shares the
    interpreter with the commits after it."""
    catalog = _catalog(tmp_path, 10_000)
    counter = itertools.count()
    benchmark.pedantic(
        lambda: catalog.commit([AlterTable("ns0.t0", description=str(next(counter)))]),
        rounds=100,
        iterations=1,
    )
    catalog.wait_for_checkpoints()
    assert catalog.checkpoints.versions() == [1, 50, 100]


def _raw_inbox(store: ObjectStore, events: list[Event], per_object: int = 1) -> None:
    """Lay out inbox objects exactly as append() does, without an fsync per file (setup only)."""
    base = Path(store.path(INBOX))
    for start in range(0, len(events), per_object):
        batch = events[start : start + per_object]
        day = base / batch[0].at.strftime("%Y-%m-%d")
        day.mkdir(parents=True, exist_ok=True)
        (day / f"{batch[0].event_id}.json").write_bytes(canonical_json(inbox_object(batch)))


def _events(n: int, offset: int = 0) -> list[Event]:
    return [
        Event.create(
            "task",
            run_id=f"r{(i + offset) // 50}",
            asset=f"asset_{(i + offset) % 50}",
            at=T0 + dt.timedelta(milliseconds=i + offset),
            status="succeeded",
            attempt=1,
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("count", [1_000, 100_000])
def test_compaction(benchmark: Any, tmp_path: Path, count: int) -> None:
    events = _events(count)
    roots = iter(range(1_000))

    def setup() -> tuple[tuple[EventLog], dict[str, Any]]:
        store = ObjectStore(str(tmp_path / f"r{next(roots)}"))
        _raw_inbox(store, events)
        return (EventLog(store),), {}

    result = benchmark.pedantic(
        lambda log: log.compact(), setup=setup, rounds=5 if count == 1_000 else 2
    )
    assert result.events == count


def test_sql_count_events_1000_fresh_100000_compacted(benchmark: Any, tmp_path: Path) -> None:
    ws = Workspace(str(tmp_path), grace=dt.timedelta(0))
    _raw_inbox(ws.store, _events(100_000), per_object=1_000)
    ws.compact()
    ws.compact()  # grace 0: the compacted inbox is collected
    _raw_inbox(ws.store, _events(1_000, offset=100_000))
    query = "select count(*) from arco.events"
    assert ws.sql(query).fetchall() == [(101_000,)]
    benchmark(lambda: ws.sql(query).fetchall())


def test_sql_count_events_cold_workspace(benchmark: Any, tmp_path: Path) -> None:
    ws = Workspace(str(tmp_path), grace=dt.timedelta(0))
    _raw_inbox(ws.store, _events(100_000), per_object=1_000)
    ws.compact()
    ws.compact()
    _raw_inbox(ws.store, _events(1_000, offset=100_000))

    def cold() -> list[Any]:
        return Workspace(str(tmp_path)).sql("select count(*) from arco.events").fetchall()

    assert benchmark.pedantic(cold, rounds=5, iterations=1) == [(101_000,)]
