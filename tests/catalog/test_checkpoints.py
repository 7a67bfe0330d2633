# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The incremental catalog log (ADR 0018): a commit writes only its record; checkpoints, written
off the commit path, bound what a reader replays; any version reads the same either way."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arco_nb import ObjectStore, TenantScope
from arco_nb.catalog.catalog import Catalog
from arco_nb.catalog.checkpoints import (
    CHECKPOINT_HINT,
    CHECKPOINT_PREFIX,
    INTERVAL,
    REPLAY_LIMIT,
    Checkpoints,
)
from arco_nb.catalog.log import CommitInfo
from arco_nb.catalog.model import AssetDef, CatalogState
from arco_nb.catalog.operations import CreateNamespace, DefineAsset, DropAsset
from arco_nb.core.errors import CorruptObject
from arco_nb.core.syncer import drain
from tests.catalog.conftest import ORDERS, record_reads
from tests.conftest import in_fresh_interpreter


def _define(catalog: Catalog, n: int) -> None:
    for i in range(n):
        catalog.define_asset(AssetDef(f"a{i % 7}", "sql", code=f"select {i}"))


def _define_and_wait(catalog: Catalog) -> None:
    catalog.define_asset(AssetDef("last", "sql", code="select 1"))
    catalog.wait_for_checkpoints()


def _replayed(catalog: Catalog, version: int) -> CatalogState:
    """The state at ``version`` from version 0, record by record: the definition of truth."""
    state = CatalogState()
    for v in range(1, version + 1):
        state = catalog.record(v).apply(state)
    return state


def _drop_checkpoints(store: ObjectStore) -> None:
    for key in store.list(CHECKPOINT_PREFIX):
        store.delete(key)
    if store.exists(CHECKPOINT_HINT):
        store.delete(CHECKPOINT_HINT)


def test_a_commit_writes_its_record_and_nothing_else(catalog: Catalog) -> None:
    catalog.create_namespace("sales")
    catalog.create_table("sales.orders", ORDERS)
    assert drain(), "the log's hint, written in the background, is there before"
    before = set(catalog.store.list())
    record = catalog.create_namespace("hr")
    assert drain()
    written = set(catalog.store.list()) - before
    assert written == {record.key or f"catalog/_log/{record.version:020d}.json"}
    assert record.snapshot == {}
    raw = json.loads(catalog.store.read(f"catalog/_log/{record.version:020d}.json"))
    assert raw["schema_version"] == 2
    assert "snapshot" not in raw


def test_every_intervalth_commit_is_checkpointed_in_the_background(catalog: Catalog) -> None:
    _define(catalog, INTERVAL * 2 + 3)
    catalog.wait_for_checkpoints()
    assert catalog.checkpoints.versions() == [INTERVAL, 2 * INTERVAL]
    assert json.loads(catalog.store.read(CHECKPOINT_HINT)) == {"latest": 2 * INTERVAL}
    reader = Catalog(catalog.store)
    assert reader.state.same_content(_replayed(catalog, catalog.version))
    assert reader.state.version == catalog.version


def test_every_version_reads_the_same_across_checkpoints(catalog: Catalog) -> None:
    catalog.create_namespace("sales")
    catalog.create_table("sales.orders", ORDERS)
    _define(catalog, INTERVAL + 10)
    catalog.drop_asset("a3")
    catalog.wait_for_checkpoints()
    reader = Catalog(catalog.store)
    for version in range(catalog.version + 1):
        assert reader.as_of(version).state.same_content(_replayed(catalog, version)), version


def test_a_reader_that_replayed_many_records_checkpoints_them(catalog: Catalog) -> None:
    _define(catalog, REPLAY_LIMIT + 20)
    catalog.wait_for_checkpoints()
    _drop_checkpoints(catalog.store)  # as if every background checkpoint had been killed
    reader = Catalog(catalog.store)
    assert reader.version == REPLAY_LIMIT + 20
    reader.wait_for_checkpoints()
    assert reader.checkpoints.versions() == [REPLAY_LIMIT + 20]
    again = Catalog(catalog.store)
    assert again.state == reader.state


def test_a_reader_behind_by_few_versions_replays_them(catalog: Catalog) -> None:
    follower = Catalog(catalog.store)
    _define(catalog, 3)
    assert follower.version == 3
    catalog.create_namespace("late")
    assert follower.list_namespaces() == ["late"]


@pytest.mark.parametrize("damage", ["object", "file", "definitions", "hint"])
def test_a_damaged_checkpoint_costs_a_replay_not_a_read(catalog: Catalog, damage: str) -> None:
    _define(catalog, INTERVAL * 2 + 1)
    catalog.wait_for_checkpoints()
    store = catalog.store
    newest = Checkpoints(store).read(2 * INTERVAL)
    if damage == "object":
        store.write(newest.key, b"{not json")
    elif damage == "file":  # read on the first table lookup, after the definitions
        store.write(newest.snapshot["tables"], b"PAR1 torn")
    elif damage == "definitions":
        store.write(newest.definitions, b'{"schema_version": 1, "assets": 7}')
    else:
        store.write(CHECKPOINT_HINT, json.dumps({"latest": 10**9}).encode())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = Catalog(store).state
        assert state.same_content(_replayed(catalog, catalog.version))
    if damage != "hint":
        assert any("damaged catalog checkpoint" in str(w.message) for w in caught)
        assert "arco doctor --repair" in str(caught[-1].message)


def test_two_writers_checkpointing_one_version_agree(catalog: Catalog) -> None:
    _define(catalog, 5)
    state = catalog.state
    barrier = threading.Barrier(2)
    found: list[Any] = []

    def write() -> None:
        barrier.wait()
        found.append(Checkpoints(catalog.store).write(state))

    threads = [threading.Thread(target=write) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found[0] == found[1], "the loser returns the winner's checkpoint"
    files = catalog.store.list("catalog/snapshots")
    assert sorted(files) == sorted(found[0].files().values()), "the loser's files are gone"


def test_checkpoint_makes_the_latest_version_readable_as_plain_parquet(catalog: Catalog) -> None:
    import io

    import pyarrow.parquet as pq

    with pytest.raises(Exception, match="Nothing to checkpoint"):
        catalog.checkpoint()
    catalog.create_namespace("sales")
    catalog.create_table("sales.orders", ORDERS)
    checkpoint = catalog.checkpoint()
    assert checkpoint.version == 2
    assert catalog.checkpoint() == checkpoint, "written once"
    tables = pq.read_table(io.BytesIO(catalog.store.read(checkpoint.snapshot["tables"])))
    assert tables.column("full_name").to_pylist() == ["sales.orders"]
    assert tables.column("catalog_version").to_pylist() == [2]
    assert catalog.snapshot_files(2) == dict(checkpoint.snapshot)
    assert catalog.snapshot_files(1) == {}


def test_a_record_of_a_newer_arco_is_a_clear_error() -> None:
    data = {"schema_version": 3, "version": 1}
    with pytest.raises(CorruptObject, match="a newer Arco wrote it: upgrade arco-nb"):
        CommitInfo.from_json(data, key="catalog/_log/00000000000000000001.json")


def test_commit_cost_does_not_depend_on_the_catalog_size(memory_root: str) -> None:
    """Not a timing: a commit on a 2,000-table catalog writes one small object."""
    from arco_nb.catalog.model import Table
    from arco_nb.catalog.operations import CreateTable

    catalog = Catalog(TenantScope(memory_root).store())
    catalog.commit(
        [CreateNamespace("ns")]
        + [CreateTable(Table("ns", f"t{i}", columns=())) for i in range(2_000)]
    )
    before = {k: len(catalog.store.read(k)) for k in catalog.store.list()}
    catalog.define_asset(AssetDef("x", "sql", code="select 1"))
    after = {k: len(catalog.store.read(k)) for k in catalog.store.list()}
    new = {k: n for k, n in after.items() if before.get(k) != n and not k.endswith("_version.json")}
    assert list(new) == ["catalog/_log/00000000000000000002.json"]
    assert new["catalog/_log/00000000000000000002.json"] < 1_000


_OPS = st.lists(
    st.tuples(st.sampled_from(["define", "drop", "checkpoint"]), st.integers(0, 4)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=25, deadline=None)
@given(_OPS)
def test_checkpoints_anywhere_never_change_what_a_version_holds(ops: list[Any]) -> None:
    catalog = Catalog(ObjectStore("memory://cp-property-" + str(id(ops))))
    for what, i in ops:
        if what == "define":
            catalog.commit([DefineAsset(AssetDef(f"a{i}", "sql", code=f"select {len(ops)}"))])
        elif what == "drop" and f"a{i}" in catalog.state.assets:
            catalog.commit([DropAsset(f"a{i}")])
        elif what == "checkpoint" and catalog.version:
            catalog.checkpoint()
    catalog.wait_for_checkpoints()
    reader = Catalog(catalog.store)
    for version in range(catalog.version + 1):
        assert reader.as_of(version).state.same_content(_replayed(catalog, version))


V1_ROOT = Path(__file__).with_name("data") / "root-v1"


def test_a_root_written_by_the_previous_release_reads_and_moves_on(tmp_path: Path) -> None:
    """``data/root-v1`` was written by the release before ADR 0018 (version-1 records, each
    naming a full snapshot): six versions, ending with ``by_day`` dropped."""
    import datetime as dt

    from arco_nb.catalog.eventlog import EventLog
    from arco_nb.catalog.gc import collect_unreferenced

    root = tmp_path / "root"
    shutil.copytree(V1_ROOT, root)
    store = TenantScope(str(root)).store()
    old = Catalog(store)
    assert old.version == 6
    assert old.list_assets() == ["orders_clean"]
    assert old.load_table("sales.orders").description == "one row per order"
    assert old.as_of(5).list_assets() == ["by_day", "orders_clean"]
    for version in range(7):
        assert old.as_of(version).state.same_content(_replayed(old, version)), version
    assert [r.version for r in old.history() if r.snapshot] == list(range(1, 7))

    old.define_asset(AssetDef("by_day", "sql", code="select 2", deps=("orders_clean",)))
    raw = json.loads(store.read("catalog/_log/00000000000000000007.json"))
    assert raw["schema_version"] == 2, "the next commit writes the new format"
    fresh = Catalog(store)  # replays version 7 on top of version 6's snapshot
    assert fresh.state.same_content(_replayed(old, 7))
    assert fresh.load_asset("by_day").code == "select 2"
    v1_files = {k for r in old.history() for k in r.snapshot.values()}
    swept = collect_unreferenced(fresh, EventLog(store), grace=dt.timedelta(0))
    assert swept.deleted["snapshots"] == 0
    assert v1_files <= set(store.list("catalog/snapshots")), "gc keeps what old records name"


def test_a_cold_reader_builds_only_the_tables_it_looks_up(catalog: Catalog) -> None:
    from arco_nb.catalog.model import Table
    from arco_nb.catalog.operations import AlterTable, CreateTable
    from arco_nb.catalog.snapshot import DeferredTables, LazyTables

    catalog.commit(
        [CreateNamespace("ns")]
        + [CreateTable(Table("ns", f"t{i}", columns=())) for i in range(300)]
    )
    catalog.create_table("ns.orders", ORDERS)
    catalog.checkpoint()
    catalog.commit([AlterTable("ns.t7", description="after the checkpoint")])
    reader = Catalog(catalog.store)  # the checkpoint, then one record replayed on it
    assert reader.load_table("ns.orders").columns == catalog.load_table("ns.orders").columns
    assert reader.load_table("ns.t7").description == "after the checkpoint"
    assert len(reader.list_tables()) == 301
    assert reader.list_tables("ns")[:2] == ["ns.orders", "ns.t0"]
    deferred = reader.state.tables._base  # type: ignore[attr-defined]
    assert isinstance(deferred, DeferredTables)
    base = deferred.loaded
    assert isinstance(base, LazyTables)
    assert base._all is None, "nothing built all tables"
    assert sorted(base._built) == ["ns.orders", "ns.t7"], "the one looked up, the one altered"
    assert reader.state == catalog.state, "and the whole state is the same"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["set", "del", "copy"]), st.integers(0, 6)),
        max_size=40,
    )
)
def test_an_overlay_behaves_as_a_dict_copy(ops: list[tuple[str, int]]) -> None:
    from arco_nb.catalog.model import Overlay, Table

    plain: dict[str, Table] = {f"ns.t{i}": Table("ns", f"t{i}") for i in range(3)}
    overlay: Any = Overlay(dict(plain))
    for what, i in ops:
        key = f"ns.t{i}"
        if what == "set":
            plain[key] = overlay[key] = Table("ns", f"t{i}", description=str(len(plain)))
        elif what == "del":
            if key in plain:
                del plain[key]
                del overlay[key]
            else:
                with pytest.raises(KeyError):
                    del overlay[key]
        else:
            before, overlay = overlay, Overlay(overlay)
            overlay[key] = Table("ns", "changed")
            assert key not in plain or before[key] == plain[key], "the copy is independent"
            overlay = Overlay(before)
        assert dict(overlay) == plain
        assert len(overlay) == len(plain)
        assert sorted(overlay) == sorted(plain)
        assert all((k in overlay) == (k in plain) for k in (key, "ns.none"))


def test_an_overlay_with_many_changes_is_folded_into_its_copy() -> None:
    from arco_nb.catalog.model import Overlay, Table

    first = Overlay({})
    for i in range(300):
        first[f"ns.t{i}"] = Table("ns", f"t{i}")
    del first["ns.t0"]
    copy = Overlay(first)
    changed = Table("ns", "t1", description="changed")
    copy["ns.t1"] = changed
    assert len(copy) == len(first) == 299
    assert first["ns.t1"].description == "", "the copy is independent"
    assert dict(copy) == {**dict(first), "ns.t1": changed}


def test_a_failing_background_checkpoint_is_one_warning(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Checkpoints, state: CatalogState) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Checkpoints, "write", broken)
    _define(catalog, INTERVAL - 1)
    with pytest.warns(UserWarning, match=r"version 50 failed \(RuntimeError: disk on fire\)"):
        _define_and_wait(catalog)
    assert catalog.version == INTERVAL, "the commit itself was acknowledged"
    monkeypatch.undo()
    assert Catalog(catalog.store).state.same_content(_replayed(catalog, INTERVAL))


def test_a_process_that_exits_at_once_still_leaves_its_checkpoint(local_root: str) -> None:
    """The background checkpoint thread is not a daemon: a short-lived process (an `arco run`)
    that commits the 50th version and exits writes the checkpoint before it goes."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from arco_nb import TenantScope\n"
        "from arco_nb.catalog.catalog import Catalog\n"
        "from arco_nb.catalog.model import AssetDef\n"
        "catalog = Catalog(TenantScope(sys.argv[1]).store())\n"
        f"for i in range({INTERVAL}):\n"
        "    catalog.define_asset(AssetDef(f'a{i}', 'sql', code='select 1'))\n"
    )
    subprocess.run([sys.executable, "-c", code, local_root], check=True, timeout=120)
    assert Checkpoints(TenantScope(local_root).store()).versions() == [INTERVAL]


def test_reading_definitions_from_a_checkpoint_reads_no_table_file(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog.create_namespace("sales")
    catalog.create_table("sales.orders", ORDERS)
    _define(catalog, 10)
    checkpoint = catalog.checkpoint()
    assert checkpoint.definitions.endswith("/definitions.json")
    assert set(checkpoint.files()) == {"definitions", "namespaces", "tables", "columns", "assets"}
    store = catalog.store
    read = record_reads(store, monkeypatch)
    reader = Catalog(store)
    assert reader.state.assets == catalog.state.assets
    assert reader.list_namespaces() == ["sales"]
    assert not [k for k in read if k.endswith(".parquet")], read
    assert reader.load_table("sales.orders").columns == catalog.load_table("sales.orders").columns
    assert [k.rsplit("/", 1)[1] for k in read if k.endswith(".parquet")] == [
        "tables.parquet",
        "columns.parquet",
    ]
    assert reader.state.same_content(_replayed(catalog, catalog.version))


def test_a_listing_of_a_checkpointed_catalog_imports_no_pyarrow(local_root: str) -> None:
    """A long-lived workspace (checkpointed many times, records after the newest) is listed
    from JSON alone, in a fresh interpreter."""
    setup = (
        "from arco_nb.catalog.catalog import Catalog\n"
        "from arco_nb.catalog.model import AssetDef\n"
        "from arco_nb import TenantScope\n"
        f"c = Catalog(TenantScope({local_root!r}).store())\n"
        "for i in range(130):\n"
        "    c.define_asset(AssetDef(f'a{i % 9}', 'sql', code=f'select {i}'))\n"
        "c.wait_for_checkpoints()\n"
    )
    subprocess.run([sys.executable, "-c", setup], check=True)
    listing = (
        "import sys\n"
        "from arco_nb import Workspace\n"
        f"ws = Workspace({local_root!r})\n"
        "print(ws.catalog.checkpoints.candidates(ws.catalog.version))\n"
        "print(sorted((i.name, i.status) for i in ws.assets(catalog_only=True))[:2])\n"
        "print([m for m in ('pyarrow', 'pandas') if m in sys.modules])\n"
    )
    out = in_fresh_interpreter(listing)
    assert out == ["[100]", "[('a0', 'never run'), ('a1', 'never run')]", "[]"]


def test_doctor_rebuilds_damaged_definitions_from_the_log(catalog: Catalog) -> None:
    from arco_nb.catalog.doctor import examine
    from arco_nb.catalog.eventlog import EventLog

    _define(catalog, 12)
    checkpoint = catalog.checkpoint()
    good = catalog.store.read(checkpoint.definitions)
    catalog.store.write(checkpoint.definitions, b"[1, 2")
    report = examine(Catalog(catalog.store), EventLog(catalog.store))
    assert [(f.kind, f.key) for f in report.findings] == [("snapshot", checkpoint.definitions)]
    repaired = examine(Catalog(catalog.store), EventLog(catalog.store), repair=True)
    assert [f.repaired for f in repaired.findings] == [True]
    assert catalog.store.read(checkpoint.definitions) == good
    assert Catalog(catalog.store).state.same_content(_replayed(catalog, catalog.version))


def test_an_older_checkpoint_finishing_last_does_not_move_the_hint_back(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each checkpoint is written by a thread of its own; the hint must end at the newest."""
    _define(catalog, 2 * INTERVAL)
    catalog.wait_for_checkpoints()
    store = catalog.store
    for version in (INTERVAL, 2 * INTERVAL):  # as if neither had been written yet
        store.delete(catalog.checkpoints.key(version))
    store.delete(CHECKPOINT_HINT)
    older_has_looked = threading.Event()
    real_hint = Checkpoints._hint

    def slow_for_the_older(self: Checkpoints) -> int:
        found = real_hint(self)
        if threading.current_thread().name == "older":
            older_has_looked.set()
            time.sleep(0.3)  # the newer one finishes meanwhile, unless it must wait
        return found

    monkeypatch.setattr(Checkpoints, "_hint", slow_for_the_older)
    states = {v: _replayed(catalog, v) for v in (INTERVAL, 2 * INTERVAL)}
    older = threading.Thread(
        target=Checkpoints(store).write, args=(states[INTERVAL],), name="older"
    )
    older.start()
    assert older_has_looked.wait(10)
    Checkpoints(store).write(states[2 * INTERVAL])
    older.join()
    assert json.loads(store.read(CHECKPOINT_HINT)) == {"latest": 2 * INTERVAL}
