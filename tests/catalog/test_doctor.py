# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``doctor``: every kind of damage is found; repair rebuilds what it can and deletes nothing."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from typing import Any

import pytest

from arco_nb import Workspace
from arco_nb.catalog.catalog import Catalog
from arco_nb.catalog.checkpoints import Checkpoints
from arco_nb.catalog.doctor import QUARANTINE
from arco_nb.catalog.eventlog import FANOUT, MANIFESTS, PartInfo
from arco_nb.catalog.log import LOG_PREFIX
from arco_nb.catalog.manifest import HELD, INBOX
from arco_nb.core.syncer import drain
from arco_nb.flow.assets import Registry, sql_asset
from tests.conftest import S3Endpoint


def _registry() -> Registry:
    registry = Registry()
    sql_asset("a", "select 1 as x", registry=registry)
    sql_asset("b", "select x + 1 as y from a", registry=registry)
    return registry


@pytest.fixture(params=["memory", "local", "s3"])
def root(request: pytest.FixtureRequest, memory_root: str, local_root: str) -> tuple[str, Any]:
    if request.param == "s3":
        endpoint: S3Endpoint = request.getfixturevalue("s3_endpoint")
        return request.getfixturevalue("s3_root"), dict(endpoint.storage_options)
    return (memory_root if request.param == "memory" else local_root), None


# Storage matters where a repair commits or rewrites: those run on S3 too.
LOCAL_ONLY = pytest.mark.parametrize("root", ["memory", "local"], indirect=True)


def _open(root: tuple[str, Any], **kw: Any) -> Workspace:
    return Workspace(root[0], storage_options=root[1], registry=_registry(), **kw)


def _lived(root: tuple[str, Any]) -> Workspace:
    """A workspace with a few catalog versions, two compactions and fresh facts on top."""
    ws = _open(root)
    ws.catalog.create_namespace("sales")
    assert ws.run().status == "succeeded"
    ws.catalog.checkpoint()  # as the committer of every 50th version does
    ws.compact()
    assert ws.run(force=True).status == "succeeded"
    ws.compact()
    assert ws.run(force=True).status == "succeeded"  # stays in the inbox
    return ws


def _everything(ws: Workspace) -> dict[str, bytes]:
    assert drain(), "best-effort writes of this process (log hints) settle first"
    return {k: ws.store.read(k) for k in ws.store.list()}


def _facts(ws: Workspace) -> tuple[Any, ...]:
    fresh = _open((ws.scope.root, ws.store.storage_options or None))
    runs = [(r.run_id, r.status) for r in fresh.runs()]
    mats = fresh.sql("select materialization_id from arco.materializations order by 1").fetchall()
    return runs, mats


def _nothing_lost(before: dict[str, bytes], ws: Workspace, quarantine: str | None) -> None:
    """Every object that was there is still there, byte for byte, or in the quarantine (but
    the hints of where the log and the manifests end, which move on)."""
    after = _everything(ws)
    for key, data in before.items():
        if key.rsplit("/", 1)[-1].startswith("_last_"):
            continue
        kept = after.get(key) == data
        aside = quarantine is not None and after.get(f"{quarantine}/{key}") == data
        # A compacted inbox object goes back to the inbox when its round's manifest is dropped.
        back = key.startswith(HELD) and after.get(INBOX + key.removeprefix(HELD)) == data
        assert kept or aside or back, f"{key} was lost"


def test_a_healthy_workspace_is_clean(root: tuple[str, Any]) -> None:
    ws = _lived(root)
    report = ws.doctor()
    assert report.clean, report.findings
    assert report.healthy
    assert set(report.checked) == {
        "commit records",
        "checkpoints",
        "snapshot files",
        "manifests",
        "parts",
        "latest indexes",
        "inbox objects",
        "data files",
    }
    assert report.checked["data files"] == 6
    assert report.quarantine is None
    assert not ws.store.list(QUARANTINE), "a check writes nothing"


def test_a_damaged_snapshot_file_is_rebuilt_from_the_log(root: tuple[str, Any]) -> None:
    ws = _lived(root)
    ws.catalog.create_namespace("hr")
    want = ws.catalog.state
    first = Checkpoints(ws.store).write(ws.catalog.as_of(1).state)
    last = ws.catalog.checkpoint()
    ws.store.write(last.snapshot["namespaces"], b"PAR1 torn")
    ws.store.delete(first.snapshot["namespaces"])  # an old version's, still read by as_of(1)
    before = _everything(ws)

    found = ws.doctor()
    assert [(f.kind, f.key, f.repaired) for f in found.findings] == [
        ("snapshot", first.snapshot["namespaces"], False),
        ("snapshot", last.snapshot["namespaces"], False),
    ]
    assert (
        "missing, though the log or a checkpoint names it (version 1)" in found.findings[0].problem
    )
    assert "not a readable Parquet file" in found.findings[1].problem
    assert not found.healthy

    fixed = ws.doctor(repair=True)
    assert fixed.healthy
    assert all("rebuilt from the commit log" in f.remedy for f in fixed.findings)
    _nothing_lost(before, ws, fixed.quarantine)
    fresh = Catalog(ws.store)
    assert fresh.state.namespaces == want.namespaces
    assert set(fresh.as_of(1).state.namespaces) == {"sales"}
    assert ws.doctor().clean


def test_a_damaged_checkpoint_object_is_moved_aside(root: tuple[str, Any]) -> None:
    ws = _lived(root)
    want = ws.catalog.state
    (version,) = ws.catalog.checkpoints.versions()
    key = ws.catalog.checkpoints.key(version)
    ws.store.write(key, b'{"schema_version": 1')
    before = _everything(ws)
    (finding,) = ws.doctor().findings
    assert (finding.kind, finding.key, finding.repaired) == ("checkpoint", key, False)
    fixed = ws.doctor(repair=True)
    assert [(f.kind, f.repaired) for f in fixed.findings] == [("checkpoint", True)]
    assert "readers replay the log" in fixed.findings[0].remedy
    _nothing_lost(before, ws, fixed.quarantine)
    assert not ws.store.exists(key)
    assert Catalog(ws.store).state == want
    assert ws.doctor().clean


def test_a_damaged_part_is_dropped_and_its_facts_compacted_again(root: tuple[str, Any]) -> None:
    ws = _lived(root)
    facts = _facts(ws)
    (part,) = [
        k for k in ws.events.manifest().parts["materializations"] if "-00000000000000000002-" in k
    ]
    ws.store.write(part, b"PAR1 half a file")
    before = _everything(ws)
    assert ws.doctor().findings[0].kind == "part"

    report = ws.doctor(repair=True)
    (finding,) = report.findings
    assert finding.repaired
    assert finding.key == part
    assert "moved to quarantine" in finding.remedy
    assert "will be compacted again" in finding.remedy
    assert "lost" not in finding.remedy
    _nothing_lost(before, ws, report.quarantine)
    assert part not in {k for keys in ws.events.manifest().parts.values() for k in keys}
    assert _facts(ws) == facts, "every fact is readable again, before any compaction"
    ws.compact()
    assert _facts(ws) == facts
    assert ws.doctor().clean


def test_a_part_whose_inbox_was_collected_is_reported_as_lost(memory_root: str) -> None:
    ws = Workspace(memory_root, registry=_registry(), grace=dt.timedelta(0))
    assert ws.run().status == "succeeded"
    ws.compact()
    ws.compact()  # grace 0: the compacted inbox objects are collected
    (part,) = ws.events.manifest().parts["materializations"]
    ws.store.write(part, b"not parquet")
    (finding,) = ws.doctor(repair=True).findings
    assert finding.repaired
    assert "were already collected, and their facts are lost" in finding.remedy
    assert ws.sql("select count(*) from arco.materializations").fetchall() == [(0,)]
    assert [r.status for r in ws.runs()] == ["succeeded"], "other tables' parts are intact"
    assert ws.doctor().clean


@LOCAL_ONLY
def test_a_damaged_newest_manifest_is_moved_aside(root: tuple[str, Any]) -> None:
    ws = _lived(root)
    facts = _facts(ws)
    newest = f"{MANIFESTS}/{2:020d}.json"
    ws.store.write(newest, b"{ torn")
    before = _everything(ws)
    (finding,) = ws.doctor().findings
    assert (finding.kind, finding.key, finding.repaired) == ("manifest", newest, False)

    report = ws.doctor(repair=True)
    assert report.healthy
    assert "readers use manifest 1" in report.findings[0].remedy
    _nothing_lost(before, ws, report.quarantine)
    assert _facts(ws) == facts
    _open(root).compact()
    assert _facts(ws) == facts
    assert ws.doctor().clean


@LOCAL_ONLY
def test_a_damaged_inbox_object_is_moved_aside(root: tuple[str, Any]) -> None:
    ws = _lived(root)
    foreign = "events/inbox/2024-01-01/foreign.json"
    ws.store.write(foreign, b"not json")
    before = _everything(ws)
    report = ws.doctor(repair=True)
    (finding,) = report.findings
    assert (finding.kind, finding.key, finding.repaired) == ("inbox", foreign, True)
    _nothing_lost(before, ws, report.quarantine)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Skipping unreadable event object" any more
        _open(root).runs()


def test_a_log_gap_or_damaged_record_is_reported_not_invented(memory_root: str) -> None:
    ws = Workspace(memory_root, registry=_registry())
    for name in ("a", "b", "c", "d"):
        ws.catalog.create_namespace(name)
    ws.store.delete(f"{LOG_PREFIX}/{2:020d}.json")
    ws.store.write(f"{LOG_PREFIX}/{3:020d}.json", b"{}")
    before = _everything(ws)
    report = ws.doctor(repair=True)
    assert [(f.kind, f.key[-8:], f.repaired) for f in report.findings] == [
        ("log", "002.json", False),
        ("log", "003.json", False),
    ]
    assert "missing, but version 4 exists after it" in report.findings[0].problem
    assert "backup or the bucket's object versions" in report.findings[0].remedy
    assert not report.healthy
    after = _everything(ws)
    assert {k: v for k, v in after.items() if not k.startswith(QUARANTINE)} == before


@LOCAL_ONLY
def test_a_damaged_data_file_names_the_command_that_rebuilds_it(root: tuple[str, Any]) -> None:
    ws = _lived(root)
    (key,) = ws.store.list("data/b")[-1:]
    ws.store.write(key, b"PAR1 no footer")
    gone = ws.store.list("data/a")[0]
    ws.store.delete(gone)
    report = ws.doctor(repair=True)
    by_key = {f.key: f for f in report.findings}
    assert by_key[key].problem.startswith("not a readable Parquet file")
    assert by_key[gone].problem.startswith("missing, though materialization")
    assert by_key[key].remedy == "run the asset again: arco run --select b --force"
    assert not any(f.repaired for f in report.findings)
    assert ws.store.read(key) == b"PAR1 no footer", "data is never moved or rewritten"
    ws.run(force=True)
    report = ws.doctor()
    assert {f.key for f in report.findings} == {key, gone}, "old materializations still name them"


def test_the_report_is_kept_beside_the_quarantine(memory_root: str) -> None:
    ws = Workspace(memory_root, registry=_registry())
    assert ws.run().status == "succeeded"
    ws.store.write("events/inbox/2024-01-01/x.json", b"\xff")
    report = ws.doctor(repair=True)
    assert report.quarantine is not None
    saved = json.loads(ws.store.read(f"{report.quarantine}/report.json"))
    assert saved["findings"][0]["key"] == "events/inbox/2024-01-01/x.json"
    assert saved["healthy"] is True


def test_repair_while_runs_and_compactions_go_on(local_root: str) -> None:
    """docs/doctor.md: repair is safe while other writers work on the workspace."""
    import threading

    ws = _lived((local_root, None))
    before = {r.run_id for r in ws.runs()}
    edges = ws.sql("select count(*) from arco.lineage").fetchall()[0][0]
    part = ws.events.manifest().parts["lineage"][0]  # a table runs write but do not read
    ws.store.write(part, b"PAR1 torn")
    acked: list[str] = []
    compactions: list[int] = []
    stop = threading.Event()

    def runs() -> None:
        writer = _open((local_root, None))
        for _ in range(8):
            acked.append(writer.run(force=True).run_id)

    def compactions_loop() -> None:
        compactor = Workspace(local_root)
        while not stop.is_set():
            compactions.append(compactor.compact().seq)

    threads = [threading.Thread(target=runs), threading.Thread(target=compactions_loop)]
    for thread in threads:
        thread.start()
    report = ws.doctor(repair=True)
    threads[0].join()
    stop.set()
    threads[1].join()
    assert [(f.kind, f.key, f.repaired) for f in report.findings] == [("part", part, True)]
    assert len(compactions) > 1
    listed = {r.run_id: r.status for r in Workspace(local_root).runs()}
    assert before | set(acked) == set(listed)
    assert set(listed.values()) == {"succeeded"}
    after = Workspace(local_root).sql("select count(*) from arco.lineage").fetchall()[0][0]
    assert after == edges + len(acked), "each forced run of b adds one edge; none was lost"
    assert Workspace(local_root).doctor().clean


def test_a_damaged_merged_part_reopens_every_round_it_holds(memory_root: str) -> None:
    ws = Workspace(memory_root, registry=_registry())
    for _ in range(FANOUT):
        assert ws.run(force=True).status == "succeeded"
        ws.compact()
    facts = _facts(ws)
    manifest = ws.events.manifest()
    (merged,) = manifest.parts["materializations"]
    assert manifest.part_info(merged) == PartInfo(1, 1, FANOUT)
    ws.store.write(merged, b"PAR1 torn")
    (finding,) = ws.doctor(repair=True).findings
    assert finding.repaired
    inbox = len(manifest.compacted)  # every round's objects, none collected yet
    assert f"its {inbox} inbox objects will be compacted again" in finding.remedy
    assert _facts(ws) == facts
    ws.compact()
    assert _facts(ws) == facts
    assert ws.doctor().clean


def test_a_compaction_collecting_the_inbox_during_repair_loses_nothing(
    memory_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inbox objects behind a damaged part may be past their grace period, and a
    compaction running meanwhile deletes such objects before it commits. Repair must have
    saved their events by then."""
    from arco_nb.catalog.eventlog import EventLog

    ws = Workspace(memory_root, registry=_registry())
    assert ws.run().status == "succeeded"
    ws.compact()
    facts = _facts(ws)
    (part,) = ws.events.manifest().parts["materializations"]
    ws.store.write(part, b"PAR1 torn")
    real = EventLog.drop_parts

    def compactor_meanwhile(log: EventLog, parts: Any) -> Any:
        for key in log.manifest().compacted:  # what a compaction past the grace period deletes
            log.store.delete(key)
        return real(log, parts)

    monkeypatch.setattr(EventLog, "drop_parts", compactor_meanwhile)
    (finding,) = ws.doctor(repair=True).findings
    assert finding.repaired
    assert "lost" not in finding.remedy
    assert _facts(ws) == facts, "the events were appended again before the objects went"
    ws.compact()
    assert _facts(ws) == facts


def test_an_inbox_object_of_a_newer_arco_is_left_in_place(memory_root: str) -> None:
    ws = Workspace(memory_root, registry=_registry())
    assert ws.run().status == "succeeded"
    key = "events/inbox/2024-01-01/from-the-future.json"
    newer = json.dumps({"schema_version": 2, "events": [{"kind": "new-kind"}]}).encode()
    ws.store.write(key, newer)
    report = ws.doctor(repair=True)
    (finding,) = report.findings
    assert (finding.kind, finding.key, finding.repaired) == ("inbox", key, False)
    assert "written by a newer Arco" in finding.problem
    assert finding.remedy == "upgrade arco-nb to read it; it was left in place"
    assert ws.store.read(key) == newer, "not moved: it is not damage"
