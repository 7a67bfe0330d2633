# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The latest index compaction keeps: always what the fact tables say, read without them."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arco_nb import ObjectStore, TenantScope
from arco_nb.catalog.eventlog import MANIFESTS, EventLog
from arco_nb.catalog.events import Event
from arco_nb.catalog.latest import LATEST_PREFIX, LatestFacts
from arco_nb.catalog.manifest import Manifest
from tests.catalog.conftest import record_reads
from tests.conftest import in_fresh_interpreter

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def _mat(asset: str, partition: str, seconds: int, mid: str, rows: int = 1) -> Event:
    return Event.create(
        "materialization",
        run_id=f"run-{mid}",
        asset=asset,
        partition=partition,
        at=T0 + dt.timedelta(seconds=seconds),
        materialization_id=mid,
        rows=rows,
        bytes=1,
        schema_hash="h",
        fingerprint=f"f-{mid}",
        code_version="c",
        path=f"data/{asset}/{mid}.parquet",
    )


def _task(asset: str, seconds: int, run: str, status: str) -> Event:
    return Event.create(
        "task",
        run_id=run,
        asset=asset,
        at=T0 + dt.timedelta(seconds=seconds),
        status=status,
        attempt=1,
    )


def _from_tables(log: EventLog) -> LatestFacts:
    facts = LatestFacts()
    facts.fold_tables(log.read_table("materializations"), log.read_table("task_transitions"))
    return facts


def _same(a: LatestFacts, b: LatestFacts) -> bool:
    return (a.materializations, a.tasks) == (b.materializations, b.tasks)


@pytest.fixture
def log(store: ObjectStore) -> EventLog:
    return EventLog(store, grace=dt.timedelta(minutes=5))


events = st.lists(
    st.one_of(
        st.builds(
            _mat,
            st.sampled_from(["a", "b"]),
            st.sampled_from(["", "2024-01-01"]),
            st.integers(0, 4),
            st.sampled_from(["m1", "m2", "m3", "m4"]),
            st.integers(0, 9),
        ),
        st.builds(
            _task,
            st.sampled_from(["a", "b"]),
            st.integers(0, 4),
            st.sampled_from(["r1", "r2"]),
            st.sampled_from(["running", "succeeded", "failed", "up_to_date"]),
        ),
    ),
    min_size=1,
    max_size=14,
)


@settings(max_examples=40, deadline=None)
@given(events, st.lists(st.integers(0, 3), min_size=1, max_size=14))
def test_the_index_is_always_what_the_tables_say(batch: list[Event], plan: list[int]) -> None:
    """Appends (some replayed), compactions and fresh readers in any order: the index read
    without the tables equals the facts folded from the whole tables, and the plain fold."""
    log = EventLog(TenantScope(f"memory://latest-{uuid.uuid4().hex}").store())
    appended: list[Event] = []
    for step, event in zip(plan * len(batch), batch, strict=False):
        log.append(event)
        appended.append(event)
        if step == 1:
            log.compact()
        elif step == 2:  # a replayed append of an earlier event
            log.append(appended[len(appended) // 2])
        position, facts = EventLog(log.store).latest()
        expected = LatestFacts()
        expected.fold(appended)
        assert _same(facts, expected)
        assert _same(facts, _from_tables(log))
        assert position[0] == log.manifest().seq
    log.compact()
    assert _same(EventLog(log.store).latest()[1], expected)


def test_compaction_writes_the_index_and_readers_open_no_part(
    log: EventLog, store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    log.append([_mat("a", "", 1, "m1"), _task("a", 1, "r1", "succeeded")])
    log.compact(now=T0)
    log.append(_mat("a", "", 2, "m2", rows=5))
    manifest = log.manifest()
    assert manifest.latest.startswith(f"{LATEST_PREFIX}/latest-{manifest.seq:020d}-")
    read = record_reads(store, monkeypatch)
    _, facts = EventLog(store).latest()
    assert not [k for k in read if k.endswith(".parquet")], read
    assert facts.materializations[("a", "")].materialization_id == "m2"
    assert facts.materializations[("a", "")].rows == 5
    assert facts.tasks["a"][1:] == ("r1", "succeeded")


def test_a_manifest_from_before_the_index_is_read_from_its_parts_and_indexed_next_round(
    log: EventLog, store: ObjectStore
) -> None:
    log.append([_mat("a", "", 1, "m1"), _task("a", 1, "r1", "failed")])
    log.compact(now=T0)
    # What an earlier release wrote: the same manifest without the index.
    key = f"{MANIFESTS}/{log.manifest().seq:020d}.json"
    old = json.loads(store.read(key))
    store.delete(old.pop("latest"))
    store.write(key, json.dumps(old).encode())
    reader = EventLog(store)
    assert reader.manifest().latest == ""
    assert _same(reader.latest()[1], _from_tables(reader))
    result = reader.compact(now=T0)  # nothing new to compact: the round only writes the index
    assert result.seq == 2
    assert result.inbox_objects == 0
    assert reader.manifest().latest
    assert _same(EventLog(store).latest()[1], _from_tables(reader))


def test_replaced_indexes_are_retired_then_collected_and_orphans_too(
    log: EventLog, store: ObjectStore
) -> None:
    log.append(_mat("a", "", 1, "m1"))
    log.compact(now=T0)
    first = log.manifest().latest
    orphan = f"{LATEST_PREFIX}/latest-{99:020d}-{'0' * 26}.json"  # a killed compactor's
    store.write(orphan, b"{}")
    log.append(_mat("a", "", 2, "m2"))
    log.compact(now=T0)
    assert log.manifest().retired[first] == T0, "readers of manifest 1 may still load it"
    assert store.exists(first)
    log.compact(now=T0 + dt.timedelta(minutes=5))
    assert not store.exists(first)
    assert not store.exists(orphan)  # its id is from 1970: long past the grace period
    assert store.exists(log.manifest().latest)
    assert set(store.list(LATEST_PREFIX)) == {log.manifest().latest}


def test_a_lost_compaction_race_leaves_no_index_behind(
    log: EventLog, store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    log.append(_mat("a", "", 1, "m1"))
    rival = EventLog(store, grace=log.grace)
    real = rival.commit_manifest
    raced: list[bool] = []

    def racing(manifest: Manifest) -> bool:
        if not raced:  # the other compactor commits this round first
            raced.append(log.compact(now=T0).seq == manifest.seq)
        return real(manifest)

    monkeypatch.setattr(rival, "commit_manifest", racing)
    rival.compact(now=T0)
    assert raced == [True]
    assert rival.manifest().seq == 1
    assert store.list(LATEST_PREFIX) == [log.manifest().latest]


def test_a_listing_of_a_compacted_workspace_imports_no_pyarrow(tmp_path: object) -> None:
    """What `arco assets` does, in a fresh interpreter: catalog records and the latest index."""
    root = f"{tmp_path}/lake"
    setup = (
        "from arco_nb import Workspace\n"
        "from arco_nb.flow.assets import Registry, sql_asset\n"
        "r = Registry()\n"
        "sql_asset('a', 'select 1 as x', registry=r)\n"
        "sql_asset('b', 'select x from a', registry=r)\n"
        f"ws = Workspace({root!r}, registry=r)\n"
        "assert ws.run().status == 'succeeded'\n"
        "ws.compact()\n"
        "assert ws.run(force=True).status == 'succeeded'\n"  # and some inbox objects after
    )
    subprocess.run([sys.executable, "-c", setup], check=True)
    listing = (
        "import sys\n"
        "from arco_nb import Workspace\n"
        f"infos = Workspace({root!r}).assets(catalog_only=True)\n"
        "print(sorted((i.name, i.status, i.rows) for i in infos))\n"
        "print(sorted(m for m in ('pyarrow', 'pandas', 'duckdb', 'polars') if m in sys.modules))\n"
    )
    out = in_fresh_interpreter(listing)
    assert out == ["[('a', 'succeeded', 1), ('b', 'succeeded', 1)]", "[]"]


@pytest.mark.parametrize("damage", ["unreadable", "disagrees"])
def test_doctor_finds_a_bad_index_and_repair_makes_the_next_round_rebuild_it(
    log: EventLog, store: ObjectStore, damage: str
) -> None:
    from arco_nb.catalog.catalog import Catalog
    from arco_nb.catalog.doctor import examine

    log.append([_mat("a", "", 1, "m1"), _task("a", 1, "r1", "succeeded")])
    log.compact(now=T0)
    key = log.manifest().latest
    if damage == "unreadable":
        store.write(key, b"\x00 not json")
    else:  # says asset a was never run: readers would plan it again
        store.write(key, json.dumps(LatestFacts().to_json()).encode())

    def found(repair: bool = False) -> list[tuple[str, str, bool]]:
        report = examine(Catalog(store), EventLog(store), repair=repair)
        # these events name no real data files: leave those findings out
        return [(f.kind, f.key, f.repaired) for f in report.findings if f.kind != "data"]

    assert found() == [("latest index", key, False)]
    assert found(repair=True) == [("latest index", key, True)]
    assert not store.exists(key)
    assert EventLog(store).manifest().latest == ""
    assert _same(EventLog(store).latest()[1], _from_tables(log))
    EventLog(store).compact(now=T0)
    assert EventLog(store).manifest().latest
    assert found() == []
