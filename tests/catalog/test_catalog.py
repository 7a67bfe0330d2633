# SPDX-License-Identifier: Apache-2.0 OR MIT
from __future__ import annotations

import io
import threading
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arco_nb import (
    ArcoError,
    AssetNotFound,
    CatalogError,
    CommitConflict,
    InvalidName,
    NamespaceNotFound,
    ObjectStore,
    TableNotFound,
)
from arco_nb.catalog.catalog import Catalog
from arco_nb.catalog.model import AssetDef, Column
from arco_nb.catalog.operations import (
    AlterTable,
    CreateNamespace,
    CreateTable,
    DefineAsset,
    DropAsset,
    DropNamespace,
    DropTable,
)
from tests.catalog.conftest import ORDERS


def _sales(catalog: Catalog) -> None:
    catalog.create_namespace("sales", description="Sales data")
    catalog.create_table("sales.orders", ORDERS, description="Orders", tags=["pii", "core"])


def test_empty_catalog(catalog: Catalog) -> None:
    assert catalog.version == 0
    assert catalog.list_namespaces() == []
    assert catalog.list_tables() == []
    assert catalog.history() == []


def test_create_and_load_table(catalog: Catalog) -> None:
    _sales(catalog)
    table = catalog.load_table("sales.orders")
    assert table.full_name == "sales.orders"
    assert [c.name for c in table.columns] == ["id", "amount", "placed_at"]
    assert table.columns[0] == Column("id", "int64", nullable=False)
    assert table.columns[1].description == "in EUR"
    assert table.columns[2].type == "timestamp[us, tz=UTC]"
    assert table.tags == ("core", "pii")
    assert table.created_at == table.updated_at
    assert catalog.version == 2
    assert catalog.list_tables("sales") == ["sales.orders"]
    assert catalog.load_namespace("sales").description == "Sales data"


def test_alter_and_drop(catalog: Catalog) -> None:
    _sales(catalog)
    before = catalog.load_table("sales.orders")
    after = catalog.alter_table(
        "sales.orders", description="All orders", tags=["x"], owner="ana", location="data/o"
    )
    assert (after.description, after.tags, after.owner, after.location) == (
        "All orders",
        ("x",),
        "ana",
        "data/o",
    )
    assert after.created_at == before.created_at
    assert after.updated_at > before.updated_at
    widened = catalog.alter_table(
        "sales.orders", schema=ORDERS.append(pa.field("note", pa.string()))
    )
    assert widened.columns[-1].name == "note"
    catalog.drop_table("sales.orders")
    assert catalog.list_tables() == []
    catalog.drop_namespace("sales")
    assert catalog.list_namespaces() == []


def test_assets(catalog: Catalog) -> None:
    asset = AssetDef("orders_clean", "sql", code="select 1", code_version="abc", deps=("orders",))
    catalog.define_asset(asset)
    assert catalog.load_asset("orders_clean") == asset
    catalog.define_asset(AssetDef("orders_clean", "sql", code="select 2"))
    assert catalog.load_asset("orders_clean").code == "select 2"
    assert catalog.list_assets() == ["orders_clean"]
    with pytest.raises(AssetNotFound, match="orders_clean"):
        catalog.load_asset("orders_clen")
    catalog.drop_asset("orders_clean")
    with pytest.raises(AssetNotFound):
        catalog.drop_asset("orders_clean")


def test_user_errors_write_nothing(catalog: Catalog) -> None:
    _sales(catalog)
    version = catalog.version
    with pytest.raises(NamespaceNotFound):
        catalog.create_table("nope.t", ORDERS)
    with pytest.raises(CatalogError, match="already exists"):
        catalog.create_table("sales.orders", ORDERS)
    with pytest.raises(CatalogError, match="already exists"):
        catalog.create_namespace("sales")
    with pytest.raises(TableNotFound, match=r"Did you mean 'sales\.orders'"):
        catalog.load_table("sales.ordrs")
    with pytest.raises(TableNotFound):
        catalog.alter_table("sales.ordrs", description="x")
    with pytest.raises(TableNotFound):
        catalog.drop_table("sales.ordrs")
    with pytest.raises(CatalogError, match="still holds 1 table"):
        catalog.drop_namespace("sales")
    with pytest.raises(NamespaceNotFound):
        catalog.drop_namespace("nope")
    with pytest.raises(NamespaceNotFound):
        catalog.list_tables("nope")
    with pytest.raises(InvalidName, match=r"namespace\.table"):
        catalog.create_table("orders", ORDERS)
    with pytest.raises(InvalidName):
        catalog.create_table("sales.bad-name", ORDERS)
    with pytest.raises(CatalogError, match="appears twice"):
        catalog.create_table("sales.dup", [Column("a", "int64"), Column("a", "string")])
    with pytest.raises(CatalogError, match="Cannot read a schema"):
        catalog.create_table("sales.t2", 42)  # type: ignore[arg-type]
    with pytest.raises(CatalogError, match="Nothing to commit"):
        catalog.commit([])
    assert catalog.version == version
    # A multi-operation commit is all or nothing.
    with pytest.raises(TableNotFound):
        catalog.commit([CreateNamespace("hr"), DropTable("hr.people")])
    assert catalog.list_namespaces() == ["sales"]
    assert catalog.version == version


def test_history_as_of_and_diff(catalog: Catalog) -> None:
    _sales(catalog)
    catalog.alter_table("sales.orders", description="All orders")
    history = catalog.history()
    assert [h.version for h in history] == [1, 2, 3]
    assert [h.describe() for h in history] == [
        "create_namespace sales",
        "create_table sales.orders",
        "alter_table sales.orders",
    ]
    assert {h.author for h in history} == {"tester"}
    assert catalog.as_of(1).list_tables() == []
    assert catalog.as_of(2).load_table("sales.orders").description == "Orders"
    assert catalog.as_of(0).list_namespaces() == []
    with pytest.raises(CatalogError, match="Versions run from 0 to 3"):
        catalog.as_of(4)
    diff = catalog.diff(1, 3)
    assert [str(c) for c in diff.changes] == ["+ table sales.orders"]
    assert str(catalog.diff(2, 3)) == (
        "catalog v2 -> v3:\n  ~ table sales.orders (description, updated_at)"
    )
    assert str(catalog.diff(3, 3)) == "catalog v3 -> v3: no changes"
    back = catalog.diff(3, 0)
    assert back.apply(catalog.as_of(3).state).same_content(catalog.as_of(0).state)


def test_a_second_catalog_sees_commits(catalog: Catalog, store: ObjectStore) -> None:
    other = Catalog(store)
    _sales(catalog)
    assert other.list_tables() == ["sales.orders"]
    other.alter_table("sales.orders", description="changed by other")
    assert catalog.load_table("sales.orders").description == "changed by other"


def test_replay_and_checkpoint_give_the_same_state(catalog: Catalog, store: ObjectStore) -> None:
    follower = Catalog(store)
    _sales(catalog)
    assert follower.version == 2
    catalog.alter_table("sales.orders", tags=["a"])
    catalog.define_asset(AssetDef("x", "python", deps=("y",)))
    catalog.drop_table("sales.orders")
    replayed = follower.state  # replays three records on top of version 2
    catalog.checkpoint()
    loaded = Catalog(store).state  # reads the checkpoint of version 5
    assert replayed.version == loaded.version == 5
    assert replayed == loaded


def test_snapshot_files_are_plain_parquet(catalog: Catalog, store: ObjectStore) -> None:
    _sales(catalog)
    record = catalog.checkpoint()
    assert sorted(record.snapshot) == ["assets", "columns", "namespaces", "tables"]
    tables = pq.read_table(io.BytesIO(store.read(record.snapshot["tables"]))).to_pylist()
    assert tables[0]["full_name"] == "sales.orders"
    assert tables[0]["catalog_version"] == 2
    columns = pq.read_table(io.BytesIO(store.read(record.snapshot["columns"])))
    assert columns.column("name").to_pylist() == ["id", "amount", "placed_at"]
    assert columns.column("position").to_pylist() == [0, 1, 2]


def _gate(append: Any, barrier: threading.Barrier) -> Any:
    held = [True]

    def gated(record: Any) -> None:
        if held:  # only the first attempt waits for the others
            held.clear()
            barrier.wait(timeout=30)
        append(record)

    return gated


def _race(catalogs: list[Catalog], make_ops: Any) -> list[Any]:
    """Run one commit per catalog, all based on the same version, released together."""
    barrier = threading.Barrier(len(catalogs))
    results: list[Any] = [None] * len(catalogs)
    for cat in catalogs:
        cat._log.append = _gate(cat._log.append, barrier)  # type: ignore[method-assign]

    def run(i: int) -> None:
        try:
            results[i] = catalogs[i].commit(make_ops(i))
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(catalogs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for cat in catalogs:
        del cat._log.append
    return results


def test_same_table_different_schemas_one_wins_other_conflicts(store: ObjectStore) -> None:
    setup = Catalog(store)
    setup.create_namespace("sales")
    writers = [Catalog(store, min_wait=0.001) for _ in range(2)]
    schemas = [[Column("a", "int64")], [Column("b", "string")]]
    results = _race(
        writers,
        lambda i: [CreateTable(_table("sales.orders", schemas[i]))],
    )
    conflicts = [r for r in results if isinstance(r, CommitConflict)]
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(conflicts) == 1, results
    assert len(winners) == 1, results
    assert conflicts[0].object_name == "sales.orders"
    assert conflicts[0].version == 2
    won = winners[0].operations[0].table.columns
    assert setup.load_table("sales.orders").columns == won
    assert setup.version == 2


def test_disjoint_concurrent_commits_both_land(store: ObjectStore) -> None:
    setup = Catalog(store)
    setup.create_namespace("sales")
    writers = [Catalog(store, min_wait=0.001) for _ in range(3)]
    results = _race(writers, lambda i: [CreateTable(_table(f"sales.t{i}", []))])
    assert all(not isinstance(r, Exception) for r in results), results
    assert sorted(r.version for r in results) == [2, 3, 4]
    assert setup.list_tables() == ["sales.t0", "sales.t1", "sales.t2"]


def test_a_spent_retry_budget_is_a_commit_conflict_that_says_so(store: ObjectStore) -> None:
    setup = Catalog(store)
    setup.create_namespace("sales")
    for stubborn in (Catalog(store, retry_budget=0.0), Catalog(store, max_retries=0)):
        results = _race(
            [stubborn, Catalog(store)],
            lambda i: [CreateTable(_table(f"sales.t{setup.version}_{i}", []))],
        )
        failures = [r for r in results if isinstance(r, Exception)]
        assert len(failures) <= 1
        if failures:
            assert isinstance(failures[0], CommitConflict)
            assert failures[0].lost_races == 1
            assert "gave up after losing 1 races" in str(failures[0])
            assert "retry budget is spent" in str(failures[0])


def test_the_same_change_by_two_writers_is_one_version_not_a_conflict(
    store: ObjectStore,
) -> None:
    setup = Catalog(store)
    setup.create_namespace("sales")
    same = AssetDef("orders", "sql", code="select 1", code_version="abc")
    table = _table("sales.orders", [Column("a", "int64")])
    for ops in (
        [DefineAsset(same)],
        [CreateNamespace("crm", "customers")],
        [CreateTable(table)],
        [AlterTable("sales.orders", description="Orders", tags=("b", "a"))],
        [DropAsset("orders")],
        [DropTable("sales.orders")],
        [DropNamespace("crm")],
    ):
        before = setup.version
        results = _race([Catalog(store) for _ in range(2)], lambda _, ops=ops: ops)
        assert not [r for r in results if isinstance(r, Exception)], results
        assert setup.version == before + 1, ops  # the loser wrote nothing
        assert {r.version for r in results} == {before + 1}


def test_a_loser_commits_only_what_the_winner_did_not(store: ObjectStore) -> None:
    setup = Catalog(store)
    a = AssetDef("a", "sql", code="select 1")
    b = AssetDef("b", "sql", code="select 2")
    results = _race(
        [Catalog(store) for _ in range(2)],
        lambda i: [DefineAsset(a)] if i == 0 else [DefineAsset(a), DefineAsset(b)],
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert setup.list_assets() == ["a", "b"]
    if results[1].version == 2:  # the one-asset writer won: the other commits only b
        assert [op.asset.name for op in results[1].operations] == ["b"]
    else:  # the two-asset writer won: the other had nothing left to do
        assert results[0].version == results[1].version == setup.version == 1


def test_a_different_change_to_the_same_object_still_conflicts(store: ObjectStore) -> None:
    setup = Catalog(store)
    results = _race(
        [Catalog(store) for _ in range(2)],
        lambda i: [DefineAsset(AssetDef("a", "sql", code=f"select {i}"))],
    )
    assert len([r for r in results if isinstance(r, CommitConflict)]) == 1, results
    assert setup.version == 1


def _table(identifier: str, columns: list[Column]) -> Any:
    from arco_nb.catalog.model import Table

    namespace, name = identifier.split(".")
    return Table(namespace=namespace, name=name, columns=tuple(columns))


def test_repr(catalog: Catalog) -> None:
    assert "version=0" in repr(catalog)
    assert repr(catalog.as_of(0)) == "CatalogView(version=0)"


def test_bad_input_gives_arco_errors_and_commits_nothing(catalog: Catalog) -> None:
    _sales(catalog)
    version = catalog.version
    bad_calls = [
        lambda: catalog.load_table(123),  # type: ignore[arg-type]
        lambda: catalog.drop_table(123),  # type: ignore[arg-type]
        lambda: catalog.alter_table(None, description="x"),  # type: ignore[arg-type]
        lambda: catalog.record("1"),  # type: ignore[arg-type]
        lambda: catalog.record(99),
        lambda: catalog.as_of(True),
        lambda: catalog.commit(["x"]),  # type: ignore[list-item]
        lambda: catalog.define_asset(AssetDef("y", "python", deps="ab")),  # type: ignore[arg-type]
        lambda: catalog.define_asset(AssetDef("y", 5)),  # type: ignore[arg-type]
        lambda: catalog.create_table("sales.t", [Column("a", 5)]),  # type: ignore[arg-type]
        lambda: catalog.create_table("sales.t", [Column("a", "int64", nullable="no")]),  # type: ignore[arg-type]
        lambda: catalog.create_table("sales.t", ["a"]),  # type: ignore[list-item]
        lambda: catalog.create_namespace("hr", description=5),  # type: ignore[arg-type]
        lambda: catalog.alter_table("sales.orders", owner=7),  # type: ignore[arg-type]
        lambda: catalog.load_asset("bad name"),
    ]
    for call in bad_calls:
        with pytest.raises(ArcoError):
            call()
    assert catalog.version == version


def test_foreign_snapshot_file_is_a_corrupt_object(catalog: Catalog, store: ObjectStore) -> None:
    _sales(catalog)
    record = catalog.checkpoint()
    buffer = io.BytesIO()
    pq.write_table(pa.table({"something": [1]}), buffer)
    store.write(record.snapshot["tables"], buffer.getvalue())
    with pytest.warns(UserWarning, match="tables snapshot file without namespace, name") as info:
        assert Catalog(store).list_tables() == ["sales.orders"]
    assert record.snapshot["tables"] in str(info[0].message)


def test_an_asset_others_read_is_not_dropped_alone(catalog: Catalog) -> None:
    catalog.commit(
        [
            DefineAsset(AssetDef("raw", "sql", code="select 1 as x")),
            DefineAsset(AssetDef("clean", "sql", code="select * from RAW", deps=("RAW",))),
            DefineAsset(AssetDef("side", "sql", code="select * from clean", deps=("clean",))),
            DefineAsset(AssetDef("both", "python", deps=("clean", "raw", "side"))),
            DefineAsset(AssetDef("other", "sql", code="select 2 as y")),
        ]
    )
    version = catalog.version
    with pytest.raises(CatalogError, match=r"'raw' is an input of both, clean") as info:
        catalog.drop_asset("raw")
    assert "cascade=True" in (info.value.hint or "")
    assert catalog.version == version  # nothing dropped
    record = catalog.drop_asset("raw", cascade=True)
    dropped = [op.name for op in record.operations if isinstance(op, DropAsset)]
    assert dropped == ["both", "side", "clean", "raw"]  # each before what it reads
    assert catalog.list_assets() == ["other"]
    catalog.drop_asset("other")  # nothing reads it
    assert catalog.list_assets() == []
