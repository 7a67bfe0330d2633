# SPDX-License-Identifier: Apache-2.0 OR MIT
from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
import uuid
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arco_nb import (
    ConfigError,
    CorruptObject,
    InvalidEvent,
    ObjectStore,
    QueryError,
    TenantScope,
)
from arco_nb.catalog.catalog import Catalog
from arco_nb.catalog.eventlog import FANOUT, INBOX, MANIFESTS, EventLog
from arco_nb.catalog.events import Event
from arco_nb.catalog.latest import LATEST_PREFIX
from arco_nb.catalog.manifest import HELD, Manifest, held_key
from arco_nb.core.ids import _encode, new_id
from tests.catalog.conftest import ORDERS

CONTRACTS = Path(__file__).resolve().parents[2] / "arco_nb" / "contracts"
T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def _run(run_id: str, status: str, seconds: int = 0, **extra: object) -> Event:
    return Event.create(
        "run", run_id=run_id, at=T0 + dt.timedelta(seconds=seconds), status=status, **extra
    )


def _ids(log: EventLog, table: str = "run_transitions") -> list[str]:
    return sorted(log.read_table(table).column("event_id").to_pylist())


@pytest.fixture
def log(store: ObjectStore) -> EventLog:
    return EventLog(store, grace=dt.timedelta(minutes=5))


def test_event_ids_are_deterministic() -> None:
    assert _run("r1", "queued").event_id == _run("r1", "queued").event_id
    assert _run("r1", "queued").event_id != _run("r1", "queued", seconds=1).event_id
    assert _run("r1", "queued").event_id.startswith("ev_")


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"kind": "teleport"}, "unknown event kind"),
        ({"kind": "run"}, "lacks status"),
        ({"kind": "run", "status": "exploded"}, "not a run state"),
        ({"kind": "materialization", "rows": 1}, "lacks bytes, materialization_id"),
    ],
)
def test_invalid_events_are_refused(kwargs: dict[str, object], reason: str) -> None:
    kind = kwargs.pop("kind")
    with pytest.raises(CorruptObject, match=reason):
        Event.create(str(kind), run_id="r", **kwargs)
    with pytest.raises(InvalidEvent, match="timezone-aware"):
        Event.create("run", run_id="r", at=dt.datetime(2024, 1, 1), status="queued")


def test_an_appended_event_is_visible_at_once(log: EventLog, store: ObjectStore) -> None:
    other = EventLog(store)
    log.append(_run("r1", "queued"))
    assert len(_ids(other)) == 1


def test_replayed_appends_deduplicate(log: EventLog, store: ObjectStore) -> None:
    a, b = _run("r1", "queued"), _run("r1", "running", 1)
    assert log.append(a) == [a.event_id]
    log.append(a)
    assert len(store.list(INBOX)) == 1
    log.append([a, b])
    log.append([a, b])
    assert len(store.list(INBOX)) == 2
    assert _ids(log) == sorted([a.event_id, b.event_id])
    assert log.append([]) == []


def test_compaction_keeps_every_event_once(log: EventLog, store: ObjectStore) -> None:
    events = [_run(f"r{i}", "queued", i) for i in range(20)]
    for e in events[:10]:
        log.append(e)
    log.append(events[5:])  # overlaps with the single appends
    before = _ids(log)
    result = log.compact(now=T0)
    assert (result.seq, result.inbox_objects, result.events) == (1, 11, 20)
    assert _ids(log) == before == sorted(e.event_id for e in events)
    assert log.compact(now=T0).inbox_objects == 0, "re-running is a no-op"
    parts = log.manifest().parts["run_transitions"]
    assert len(parts) == 1
    assert log.read_table("run_transitions").num_rows == 20


def test_garbage_collection_waits_for_the_grace_period(log: EventLog, store: ObjectStore) -> None:
    log.append(_run("r1", "queued"))
    (key,) = store.list(INBOX)
    log.compact(now=T0)
    assert store.list(INBOX) == [], "out of the inbox once compacted"
    assert store.list(HELD) == [held_key(key)], "kept during the grace period"
    log.compact(now=T0 + dt.timedelta(minutes=4))
    assert store.list(HELD) == [held_key(key)]
    result = log.compact(now=T0 + dt.timedelta(minutes=5))
    assert result.inbox_deleted == 1
    assert store.list(INBOX) == store.list(HELD) == []
    assert log.manifest().compacted == {}
    assert len(_ids(log)) == 1


def test_orphan_parts_are_collected_after_the_grace_period(
    log: EventLog, store: ObjectStore
) -> None:
    log.append(_run("r1", "queued"))
    log.compact()
    old_id = _encode(1_600_000_000_000 << 80)  # an id made in 2020
    orphan = f"events/compacted/run_transitions/part-00000000000000000009-{old_id}.parquet"
    store.write(orphan, b"left by a crashed compactor")
    assert log.compact().parts_deleted == 1
    assert not store.exists(orphan)
    fresh = f"events/compacted/run_transitions/part-00000000000000000009-{new_id()}.parquet"
    store.write(fresh, b"in flight")
    store.write("events/compacted/run_transitions/notes.txt", b"someone else's")
    assert log.compact().parts_deleted == 0, "too young, or not ours"
    assert store.exists(fresh)


def test_a_compaction_between_a_readers_listing_and_its_manifest_hides_nothing(
    store: ObjectStore,
) -> None:
    """The inbox is listed before the manifest is read (ADR 0021): a compaction that commits
    and moves the listed objects out of the inbox right after the manifest read makes the
    reader's read of them fail, and it reads again; had it listed after reading the manifest,
    it would have missed them in both."""
    writer, reader = EventLog(store), EventLog(store)
    events = [_run(f"r{i}", "queued", i) for i in range(10)]
    for e in events:
        writer.append(e)
    read_manifest = reader.manifest
    raced: list[int] = []

    def then_a_compaction() -> Manifest:
        manifest = read_manifest()
        if not raced:  # commits, and moves the objects out of the inbox
            raced.append(EventLog(store).compact().inbox_objects)
        return manifest

    reader.manifest = then_a_compaction  # type: ignore[method-assign]
    assert _ids(reader) == sorted(e.event_id for e in events)
    assert raced == [10]
    assert store.list(INBOX) == [], "the race happened: the listed objects left the inbox"
    assert reader.snapshot()[1] == [], "all of it is compacted"


def test_reads_racing_compactions_see_every_event_appended_before_them(store: ObjectStore) -> None:
    """Appends, compactions and reads in three threads, default settings: every read holds
    every event whose append returned before the read began."""
    writer, compactor, reader = EventLog(store), EventLog(store), EventLog(store)
    appended: list[str] = []
    done = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for i in range(150):
                appended.extend(writer.append(_run(f"r{i}", "queued", i)))
        finally:
            done.set()

    def compact() -> None:
        try:
            while not done.is_set():
                compactor.compact()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write), threading.Thread(target=compact)]
    for t in threads:
        t.start()
    reads = 0
    while not done.is_set() or reads < 3:
        before = set(appended)
        seen = set(_ids(reader))
        assert before <= seen, f"{len(before - seen)} appended events missing from a read"
        reads += 1
    for t in threads:
        t.join()
    assert errors == []
    assert _ids(EventLog(store)) == sorted(appended)


def test_concurrent_compactors_agree(store: ObjectStore) -> None:
    writer = EventLog(store)
    events = [_run(f"r{i}", "queued", i) for i in range(30)]
    for e in events:
        writer.append(e)
    compactors = [EventLog(store) for _ in range(4)]
    barrier = threading.Barrier(4)
    errors: list[Exception] = []

    def go(log: EventLog) -> None:
        barrier.wait()
        try:
            log.compact()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(c,)) for c in compactors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _ids(writer) == sorted(e.event_id for e in events)
    manifest = writer.manifest()
    assert store.list(INBOX) == [], "compacted objects leave the inbox"
    assert {held_key(k) for k in manifest.compacted} == set(store.list(HELD))
    live = {k for keys in manifest.parts.values() for k in keys}
    on_disk = set(store.list("events/compacted/run_transitions"))
    assert live <= on_disk
    # Every event is in exactly one live part.
    import pyarrow.parquet as pq

    rows = sum(pq.read_table(store.open(k)).num_rows for k in live)
    assert rows == len(events)


def test_corrupt_inbox_objects_are_skipped_with_a_warning(
    log: EventLog, store: ObjectStore
) -> None:
    log.append(_run("r1", "queued"))
    store.write(f"{INBOX}/2024-05-01/truncated.json", b'{"schema_version": 1, "ev')
    store.write(
        f"{INBOX}/2024-05-01/future.json", json.dumps({"schema_version": 9, "events": []}).encode()
    )
    store.write(
        f"{INBOX}/2024-05-01/alien.json",
        json.dumps({"schema_version": 1, "events": [{"kind": "x"}]}).encode(),
    )
    with pytest.warns(UserWarning, match="Skipping unreadable event object") as caught:
        ids = _ids(log)
    assert len(ids) == 1
    with pytest.warns(UserWarning, match="Skipping unreadable event object"):
        result = log.compact()
    assert {"truncated.json", "future.json", "alien.json"} <= {
        str(w.message).split("'")[1].rsplit("/", 1)[-1] for w in caught
    }
    assert result.events == 1
    assert f"{INBOX}/2024-05-01/truncated.json" not in log.manifest().compacted, "kept for a human"


def test_corrupt_manifest_is_a_clear_error(log: EventLog, store: ObjectStore) -> None:
    log.append(_run("r1", "queued"))
    log.compact()
    store.put_if_absent(f"{MANIFESTS}/{2:020d}.json", b"{not json")
    with pytest.raises(CorruptObject, match=r"00000000000000000002\.json"):
        EventLog(store).read_table("run_transitions")


def _validator(name: str) -> jsonschema.protocols.Validator:
    from referencing import Registry, Resource

    schemas = {p.name: json.loads(p.read_text()) for p in CONTRACTS.glob("*.json")}
    registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas.values()
    )
    schema = schemas[name]
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER)


def test_everything_written_matches_the_published_contracts(store: ObjectStore) -> None:
    catalog = Catalog(store)
    catalog.create_namespace("sales")
    catalog.create_table("sales.orders", ORDERS)
    catalog.checkpoint()
    log = EventLog(store)
    log.append(_run("r1", "queued", plan_id="p", executor="inline", lease_s=60))
    log.append(
        [
            Event.create("heartbeat", run_id="r1", lease_s=60),
            Event.create("task", run_id="r1", asset="a", status="failed", attempt=1, error="boom"),
            Event.create(
                "materialization",
                run_id="r1",
                asset="a",
                materialization_id="m1",
                rows=3,
                bytes=10,
                schema_hash="h",
                path="data/a/_/m1.parquet",
            ),
            Event.create(
                "lineage",
                run_id="r1",
                asset="a",
                materialization_id="m1",
                input_asset="b",
                input_materialization_id="m0",
            ),
            Event.create("log", run_id="r1", asset="a", stream="stderr", pointer="logs/r1/a.txt"),
        ]
    )
    log.compact()
    checks = {
        "catalog/_log": "commit.v2.json",
        "catalog/_checkpoints": "checkpoint.v1.json",
        "catalog/snapshots": "definitions.v1.json",
        HELD: "inbox.v1.json",  # compacted inbox objects, held until collected
        MANIFESTS: "manifest.v1.json",
        LATEST_PREFIX: "latest.v1.json",
    }
    for prefix, schema in checks.items():
        validator = _validator(schema)
        keys = [k for k in store.list(prefix) if k.endswith(".json")]
        assert keys
        for key in keys:
            validator.validate(json.loads(store.read(key)))
    with pytest.raises(jsonschema.ValidationError):
        _validator("event.v1.json").validate({**_run("r", "queued").to_json(), "payload": {}})


events_strategy = st.lists(
    st.builds(
        lambda r, s, t: _run(f"r{r}", s, t),
        st.integers(0, 3),
        st.sampled_from(["queued", "running", "succeeded"]),
        st.integers(0, 5),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=30, deadline=None)
@given(events_strategy, st.randoms(use_true_random=False), st.booleans())
def test_dedup_is_order_independent(events: list[Event], rnd: object, compact: bool) -> None:
    import random

    assert isinstance(rnd, random.Random)
    expected = sorted({e.event_id for e in events})
    results = []
    for _ in range(2):
        log = EventLog(TenantScope(f"memory://dedup-{uuid.uuid4().hex}").store())
        shuffled = events * 2
        rnd.shuffle(shuffled)
        while shuffled:  # random batch sizes, duplicates within and across batches
            size = rnd.randint(1, 3)
            log.append(shuffled[:size])
            shuffled = shuffled[size:]
            if compact and rnd.random() < 0.3:
                log.compact()
        results.append(_ids(log))
    assert results[0] == results[1] == expected


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (json.dumps({"schema_version": 7, "seq": 2}).encode(), "not a compaction manifest"),
        (json.dumps({"schema_version": 1, "seq": 2}).encode(), "malformed manifest"),
        (b"[]", "not a compaction manifest"),
    ],
)
def test_foreign_manifests_name_the_object(
    log: EventLog, store: ObjectStore, payload: bytes, reason: str
) -> None:
    log.append(_run("r1", "queued"))
    log.compact()
    store.put_if_absent(f"{MANIFESTS}/{2:020d}.json", payload)
    with pytest.raises(CorruptObject, match=reason) as info:
        EventLog(store).manifest()
    assert info.value.key == f"{MANIFESTS}/{2:020d}.json"


def test_foreign_files_among_manifests_are_skipped_with_a_warning(
    log: EventLog, store: ObjectStore
) -> None:
    log.append(_run("r1", "queued"))
    log.compact()
    store.write(f"{MANIFESTS}/notes.txt", b"hello")
    store.delete("events/compacted/_last_manifest.json")
    with pytest.warns(UserWarning, match="notes.txt"):
        assert EventLog(store).manifest().seq == 1


def test_a_directory_where_an_inbox_object_should_be(local_root: str) -> None:
    store = TenantScope(local_root).store()
    log = EventLog(store)
    log.append(_run("r1", "queued"))
    store.write(f"{INBOX}/2024-05-01/odd.json/inner.json", b"{}")
    with pytest.warns(UserWarning, match="odd.json/inner.json"):
        assert len(_ids(log)) == 1


@pytest.mark.parametrize(
    "payload",
    [{"attempt": "2"}, {"attempt": True}, {"error": {"x": 1}}, {"attempt": 1.5}],
)
def test_mistyped_payload_fields_are_refused(payload: dict[str, object]) -> None:
    with pytest.raises(CorruptObject, match="must be"):
        Event.create("task", run_id="r", status="failed", **payload)


def test_payloads_without_a_json_form_are_refused() -> None:
    with pytest.raises(InvalidEvent, match="cannot be stored"):
        Event.create("run", run_id="r", status="queued", note=float("nan"))


def test_bad_calls_are_arco_errors(log: EventLog) -> None:
    with pytest.raises(InvalidEvent, match="Cannot append str"):
        log.append("abc")  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="No fact table 'runs'"):
        log.read_table("runs")
    with pytest.raises(ConfigError, match="timezone-aware"):
        log.compact(now=dt.datetime(2024, 1, 1))


def test_a_mistyped_object_in_the_inbox_does_not_break_reads(
    log: EventLog, store: ObjectStore
) -> None:
    good = Event.create("task", run_id="r", status="failed", attempt=1)
    log.append(good)
    bad = {
        **good.to_json(),
        "event_id": "ev_" + "0" * 32,
        "payload": {"status": "failed", "attempt": "2"},
    }
    store.write(
        f"{INBOX}/2024-05-01/bad.json", json.dumps({"schema_version": 1, "events": [bad]}).encode()
    )
    with pytest.warns(UserWarning, match="must be int64"):
        assert _ids(log, "task_transitions") == [good.event_id]


def test_reads_reuse_what_has_not_changed(log: EventLog) -> None:
    log.append(_run("r1", "queued"))
    first = log.read_table("run_transitions")
    assert log.read_table("run_transitions") is first, "nothing new: the same table"
    log.append(_run("r1", "running", 1))
    second = log.read_table("run_transitions")
    assert second is not first
    assert second.num_rows == 2, "the new object is added to what was read before"
    log.append([_run("r1", "running", 1)])  # the same fact again, as a one-event batch
    assert log.read_table("run_transitions").num_rows == 2
    log.compact(now=T0 + dt.timedelta(hours=2))
    after = log.read_table("run_transitions")
    assert sorted(after.column("event_id").to_pylist()) == sorted(
        second.column("event_id").to_pylist()
    )


def _levels(log: EventLog, table: str = "run_transitions") -> list[int]:
    manifest = log.manifest()
    return sorted(manifest.part_info(k).level for k in manifest.parts.get(table, ()))


def test_parts_merge_level_by_level(log: EventLog, store: ObjectStore) -> None:
    """After n compactions a table has at most FANOUT - 1 parts per level: O(log n) parts."""
    import math

    import pyarrow.parquet as pq

    events = []
    for i in range(1, 101):
        events.append(_run(f"r{i}", "queued", i))
        log.append(events[-1])
        log.compact(now=T0 + dt.timedelta(seconds=i))
        levels = _levels(log)
        assert all(levels.count(n) < FANOUT for n in set(levels)), (i, levels)
        assert len(levels) <= (FANOUT - 1) * (math.floor(math.log(i, FANOUT)) + 1)
    assert _levels(log) == [1, 2, 2, 3]  # 100 = 1·4³ + 2·4² + 1·4 + 0: 1210 in base 4
    assert _ids(log) == sorted(e.event_id for e in events)
    manifest = log.manifest()
    live = manifest.parts["run_transitions"]
    assert sum(pq.ParquetFile(store.open(k)).metadata.num_rows for k in live) == 100, "once each"
    rounds = sorted((manifest.part_info(k).first, manifest.part_info(k).last) for k in live)
    assert rounds[0][0] == 1
    assert rounds[-1][1] == 100
    assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(rounds)), "contiguous"


def test_merged_parts_stay_for_the_grace_period(log: EventLog, store: ObjectStore) -> None:
    for i in range(FANOUT - 1):
        log.append(_run(f"r{i}", "queued", i))
        log.compact(now=T0)
    before = log.manifest().parts["run_transitions"]
    log.append(_run("last", "queued"))
    log.compact(now=T0)
    manifest = log.manifest()
    assert _levels(log) == [1]
    indexes = {k for k in manifest.retired if k.startswith(LATEST_PREFIX)}
    assert len(indexes) == FANOUT - 1, "each round's latest index was replaced by the next"
    assert set(manifest.retired) - indexes == set(before), "readers of the old manifest find them"
    assert all(store.exists(k) for k in before)
    assert log.compact(now=T0 + dt.timedelta(minutes=4)).parts_deleted == 0
    assert all(store.exists(k) for k in before)
    deleted = log.compact(now=T0 + dt.timedelta(minutes=5)).parts_deleted
    assert deleted == len(before) + len(indexes)
    assert not any(store.exists(k) for k in before)
    assert log.manifest().retired == {}
    assert len(_ids(log)) == FANOUT


def test_a_root_compacted_before_merging_existed_is_merged(
    log: EventLog, store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arco_nb.catalog import compaction

    monkeypatch.setattr(compaction, "FANOUT", 10_000)  # as before merging: a part per round
    for i in range(9):
        log.append(_run(f"r{i}", "queued", i))
        log.compact(now=T0)
    newest = log.manifest().seq
    old = json.loads(store.read(f"{MANIFESTS}/{newest:020d}.json"))
    del old["part_info"], old["retired"]  # what an older Arco wrote
    store.write(f"{MANIFESTS}/{newest:020d}.json", json.dumps(old).encode())
    monkeypatch.undo()
    reader = EventLog(store)
    assert _levels(reader) == [0] * 9
    reader.compact(now=T0)  # no new event: merging alone is reason enough for a round
    assert _levels(reader) == [0, 1, 1]
    assert len(_ids(reader)) == 9


def test_a_damaged_part_stops_merging_but_not_compaction(log: EventLog, store: ObjectStore) -> None:
    for i in range(FANOUT - 1):
        log.append(_run(f"r{i}", "queued", i))
        log.compact(now=T0)
    damaged = log.manifest().parts["run_transitions"][0]
    store.write(damaged, b"PAR1 torn")
    log.append(_run("last", "queued"))
    result = log.compact(now=T0)  # a merge is due, and cannot read the damaged part
    assert result.inbox_objects == 1, "the inbox is still folded in"
    assert _levels(log) == [0] * FANOUT, "the table's parts stay as they were, for doctor"
    assert damaged in log.manifest().parts["run_transitions"]


def test_a_part_dropped_by_a_newer_manifest_restarts_the_round(
    log: EventLog, store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A compactor whose base manifest names a part that doctor has meanwhile dropped (and
    moved aside) starts again from the newest manifest instead of failing."""
    from arco_nb.catalog import compaction

    for i in range(FANOUT - 1):
        log.append(_run(f"r{i}", "queued", i))
        log.compact(now=T0)
    dropped = log.manifest().parts["run_transitions"][0]
    lost = compaction.read_parquet_object(store, dropped)["event_id"].to_pylist()
    kept = set(_ids(log)) - set(lost)
    log.append(_run("last", "queued"))
    real = compaction.read_parquet_object
    calls: list[str] = []

    def repair_meanwhile(store_: ObjectStore, key: str) -> object:
        if not calls:  # the first merge read: doctor drops the part just before it
            EventLog(store).drop_parts([dropped])
            store.delete(dropped)
        calls.append(key)
        return real(store_, key)

    monkeypatch.setattr(compaction, "read_parquet_object", repair_meanwhile)
    result = log.compact(now=T0)
    assert result.seq == log.manifest().seq
    assert dropped not in log.manifest().parts["run_transitions"]
    assert set(_ids(log)) == kept | {_run("last", "queued").event_id}
    assert all(store.exists(k) for keys in log.manifest().parts.values() for k in keys)
