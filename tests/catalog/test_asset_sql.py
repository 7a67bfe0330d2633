# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Asset tables in ``ws.sql`` (ADR 0024): each asset's latest data, queried by its name.

Every test runs on local disk (DuckDB reads the data files) and on ``memory://`` (Arco hands
DuckDB a pyarrow dataset it reads through fsspec); both must give what ``ws.read`` gives.
"""

from __future__ import annotations

from collections.abc import Collection

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arco_nb import (
    CorruptObject,
    QueryError,
    Registry,
    StaticPartitions,
    Workspace,
)
from arco_nb.catalog.asset_sql import AssetTable
from arco_nb.catalog.sql import MetadataSQL
from arco_nb.flow.assets import asset, sql_asset

REGIONS = StaticPartitions(["eu", "us", "apac"])


@pytest.fixture(params=["local", "memory"])
def ws(request: pytest.FixtureRequest, local_root: str, memory_root: str) -> Workspace:
    root = local_root if request.param == "local" else memory_root
    return Workspace(root, registry=Registry())


def _sorted(table: pa.Table, by: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = table.to_pylist()
    return sorted(rows, key=lambda r: str(r[by]))


def _orders(ws: Workspace) -> None:
    sql_asset(
        "orders",
        "select i as id, 'c' || i as customer, i * 10.0 as amount from range(1, 4) t(i)",
        registry=ws.registry,
    )
    sql_asset(
        "regional",
        "select getvariable('partition_key') as region, count(*)::BIGINT as n from orders",
        partitions=REGIONS,
        registry=ws.registry,
    )
    assert ws.run().status == "succeeded"


def test_an_asset_is_a_table_holding_what_read_returns(ws: Workspace) -> None:
    _orders(ws)
    relation = ws.sql("select * from orders")
    assert relation.columns == ["id", "customer", "amount"]  # no partition column
    assert _sorted(relation.to_arrow_table(), "id") == _sorted(ws.read("orders"), "id")
    # Names ignore case, and `main.` is the schema they live in.
    assert ws.sql("select count(*) from ORDERS").fetchall() == [(3,)]
    assert ws.sql("select count(*) from main.orders").fetchall() == [(3,)]
    assert ws.sql("select customer from orders where id = ?", [2]).fetchall() == [("c2",)]


def test_a_partitioned_asset_is_the_union_of_its_partitions_with_a_partition_column(
    ws: Workspace,
) -> None:
    _orders(ws)
    relation = ws.sql("select * from regional order by partition")
    assert relation.columns == ["region", "n", "partition"]
    assert relation.fetchall() == [("apac", 3, "apac"), ("eu", 3, "eu"), ("us", 3, "us")]
    read = ws.read("regional").append_column("partition", pa.array(["apac", "eu", "us"]))
    assert _sorted(relation.to_arrow_table(), "partition") == _sorted(read, "partition")
    assert ws.sql("select n from regional where partition = 'eu'").fetchall() == [(3,)]
    assert ws.sql("select count(*) from regional where partition in ('eu', 'us')").fetchall() == [
        (2,)
    ]


def test_the_table_follows_the_latest_materialization(ws: Workspace) -> None:
    _orders(ws)
    assert ws.sql("select count(*) from orders").fetchall() == [(3,)]
    sql_asset("orders", "select 7 as id, 'c7' as customer, 1.0 as amount", registry=ws.registry)
    ws.run("orders")
    assert ws.sql("select id from orders").fetchall() == [(7,)]
    assert ws.sql("select count(*) from regional").fetchall() == [(3,)]
    ws.run("regional", partitions="eu")
    assert ws.sql("select partition, n from regional order by 1").fetchall() == [
        ("apac", 3),
        ("eu", 1),
        ("us", 3),
    ]


def test_partitions_of_an_earlier_definition_are_left_out_as_read_does(ws: Workspace) -> None:
    _orders(ws)
    sql_asset(
        "regional",
        "select getvariable('partition_key') as region, count(*)::BIGINT as n from orders",
        partitions=StaticPartitions(["eu", "latam"]),
        registry=ws.registry,
    )
    assert ws.sql("select partition from regional").fetchall() == [("eu",)]
    assert ws.read("regional").num_rows == 1
    # A command line (no compiled definitions) sees the catalog's current definition.
    ws.define(ws.registry.get("regional"))
    cli = Workspace(ws.settings.root, registry=Registry())
    assert cli.sql("select partition from regional").fetchall() == [("eu",)]


def test_partitions_whose_schemas_differ_are_combined_by_name(ws: Workspace) -> None:
    sql_asset("grow", "select 1 as a", partitions=REGIONS, registry=ws.registry)
    ws.run("grow", partitions="eu")
    sql_asset("grow", "select 2 as a, 'x' as b", partitions=REGIONS, registry=ws.registry)
    ws.run("grow", partitions="us")
    rows = ws.sql("select partition, a, b from grow order by partition").fetchall()
    assert rows == [("eu", 1, None), ("us", 2, "x")]
    sql_asset("grow", "select 'text' as a", partitions=REGIONS, registry=ws.registry)
    ws.run("grow", partitions="apac")
    with pytest.raises(QueryError, match="schemas that do not combine") as info:
        ws.sql("select * from grow")
    assert "\n" not in str(info.value)


def test_an_own_partition_column_is_kept_and_the_key_goes_to_arco_partition(
    ws: Workspace,
) -> None:
    sql_asset(
        "events",
        "select 7 as partition, getvariable('partition_key') as region",
        partitions=REGIONS,
        registry=ws.registry,
    )
    sql_asset("flat", "select 'mine' as partition", registry=ws.registry)
    ws.run()
    relation = ws.sql("select * from events where arco_partition = 'eu'")
    assert relation.columns == ["partition", "region", "arco_partition"]
    assert relation.fetchall() == [(7, "eu", "eu")]
    # Unpartitioned: nothing is added, its own column is as it was.
    assert ws.sql("select * from flat").fetchall() == [("mine",)]
    sql_asset(
        "clash",
        "select 1 as partition, 2 as arco_partition",
        partitions=REGIONS,
        registry=ws.registry,
    )
    ws.run("clash", partitions="eu")
    with pytest.raises(QueryError, match="no name left for its partition key"):
        ws.sql("select * from clash")


def test_an_unknown_table_suggests_close_asset_names_in_one_line(ws: Workspace) -> None:
    _orders(ws)
    with pytest.raises(QueryError) as info:
        ws.sql("select * from ordrs")
    message = str(info.value)
    assert message == "No table or asset named 'ordrs' in this workspace. Did you mean 'orders'?"
    assert "Catalog Error" not in message
    with pytest.raises(QueryError, match=r"'regional'\?"):
        ws.sql("select * from orders join regionl using (id)")
    with pytest.raises(QueryError, match=r"Did you mean 'arco\.runs', "):
        ws.sql("select * from runs")  # no asset of that name: the metadata view is close
    with pytest.raises(QueryError, match=r"select name from arco\.assets lists them"):
        ws.sql("select * from zzzz")
    # An unknown metadata view keeps its own message, with the list of views.
    with pytest.raises(QueryError, match=r"nope does not exist\. Metadata views: arco\.assets"):
        ws.sql("select * from arco.nope")


def test_an_asset_without_data_says_so(ws: Workspace) -> None:
    sql_asset("later", "select 1 as x", registry=ws.registry)
    with pytest.raises(QueryError, match=r"'later' has no materialization yet\. Run it"):
        ws.sql("select * from later")
    # A CTE of that name needs no data.
    assert ws.sql("with later as (select 5 as x) select x from later").fetchall() == [(5,)]


def test_a_cte_may_read_the_asset_it_is_named_after(ws: Workspace) -> None:
    _orders(ws)
    query = "with orders as (select * from orders where id > 1) select count(*) from orders"
    assert ws.sql(query).fetchall() == [(2,)]


def test_names_that_are_keywords_or_arco_objects(ws: Workspace) -> None:
    for name in ("order", "arco", "runs", "assets"):
        sql_asset(name, f"select '{name}' as asset_name", registry=ws.registry)
    ws.run()
    assert ws.sql('select * from "order"').fetchall() == [("order",)]
    with pytest.raises(QueryError, match="syntax error"):
        ws.sql("select * from order")  # a reserved word is quoted, as in any SQL
    # The arco.* views are in schema arco; assets are named without a schema.
    assert ws.sql("select * from arco").fetchall() == [("arco",)]
    assert ws.sql("select * from runs").fetchall() == [("runs",)]
    assert ws.sql("select count(*) from arco.runs").fetchall() == [(1,)]
    names = ws.sql("select name from arco.assets order by name").fetchall()
    assert names == [("arco",), ("assets",), ("order",), ("runs",)]
    assert ws.sql("select * from assets").fetchall() == [("assets",)]


def test_reserved_names_never_become_asset_tables(ws: Workspace) -> None:
    sql_asset("_arco_t1_tables", "select 1 as x", registry=ws.registry)
    sql_asset("_arco_mine", "select 1 as x", registry=ws.registry)
    ws.run()
    assert "namespace" in ws.sql("select * from _arco_t1_tables").columns  # Arco's own
    with pytest.raises(QueryError, match="reserved for Arco's own relations"):
        ws.sql("select * from _arco_mine")


def test_names_that_differ_only_in_case_are_an_error_when_queried(ws: Workspace) -> None:
    sql_asset("Sales", "select 1 as x", registry=ws.registry)
    sql_asset("sales", "select 2 as x", registry=ws.registry)
    ws.run()
    with pytest.raises(QueryError, match="differ only in case"):
        ws.sql("select * from sales")


def test_listing_tables_shows_every_asset_with_data(ws: Workspace) -> None:
    _orders(ws)
    sql_asset("later", "select 1 as x", registry=ws.registry)  # no data: not listed
    shown = {name for (name,) in ws.sql("show tables").fetchall()}
    assert {"orders", "regional"} <= shown
    assert "later" not in shown
    listed = ws.sql(
        "select table_name from information_schema.tables where table_name = 'orders'"
    ).fetchall()
    assert listed == [("orders",)]
    assert [r[0] for r in ws.sql("describe regional").fetchall()] == ["region", "n", "partition"]
    assert ws.sql("pragma table_info('orders')").fetchall()[0][1] == "id"
    assert ws.sql("summarize orders").fetchall()


def test_only_the_assets_a_query_names_are_bound(ws: Workspace) -> None:
    for i in range(30):
        sql_asset(f"a{i:02d}", f"select {i} as x", registry=ws.registry)
    ws.run()
    bound = "select view_name from duckdb_views() where schema_name = 'main' and not internal"

    def views() -> set[str]:
        # On the engine's own connection: through ws.sql, a listing binds every asset.
        found = ws._sql.con.execute(bound).fetchall()
        return {v for (v,) in found if not v.startswith("_arco_")}

    assert ws.sql("select x from a07").fetchall() == [(7,)]
    assert views() == {"a07"}
    assert ws.sql("select a03.x + a11.x from a03, a11").fetchall() == [(14,)]
    assert views() == {"a03", "a07", "a11"}
    assert ws.sql("explain select * from a20").fetchall()
    assert "a20" in views()
    listing = "select * from duckdb_views() where schema_name = 'main' and view_name like 'a%'"
    assert len(ws.sql(listing).fetchall()) == 30
    assert len(views()) == 30


def test_a_damaged_data_file_is_named(ws: Workspace) -> None:
    _orders(ws)
    (key,) = ws.store.list("data/orders")
    ws.store.write(key, b"not parquet at all")
    fresh = Workspace(ws.settings.root, registry=ws.registry)
    with pytest.raises(CorruptObject, match="orders"):
        fresh.sql("select * from orders")


def test_python_assets_and_polars_results(ws: Workspace) -> None:
    @asset(registry=ws.registry, partitions=REGIONS)
    def scores(partition_key: str) -> pl.DataFrame:
        return pl.DataFrame({"region": [partition_key] * 2, "score": [1, 2]})

    ws.run()
    frame = ws.sql("select partition, sum(score) as s from scores group by 1 order by 1").pl()
    assert frame.to_dicts() == [
        {"partition": "apac", "s": 3},
        {"partition": "eu", "s": 3},
        {"partition": "us", "s": 3},
    ]


class _Source:
    """An AssetSource of fixed tables: what the engine does with any set of files."""

    def __init__(self, *tables: AssetTable) -> None:
        self._tables = {t.name.lower(): t for t in tables}

    def tables(self, names: Collection[str] | None) -> dict[str, AssetTable]:
        wanted = self._tables if names is None else names
        return {n: self._tables[n] for n in wanted if n in self._tables}

    def names(self) -> list[str]:
        return sorted(t.name for t in self._tables.values())


@pytest.mark.parametrize("backend", ["local", "memory"])
def test_keys_that_are_not_folder_names_come_from_the_file_list(
    backend: str, local_root: str, memory_root: str
) -> None:
    """An unpartitioned materialization beside partitioned ones (a definition that changed, with
    no definition left to filter by): its key is "" though its folder is "_"."""
    ws = Workspace(local_root if backend == "local" else memory_root, registry=Registry())
    parts = (("", "data/mixed/_/01aaaaaaaaaaaaaaaaaaaaaaaa.parquet"),)
    parts += (("eu", "data/mixed/eu/01bbbbbbbbbbbbbbbbbbbbbbbb.parquet"),)
    for n, (_, key) in enumerate(parts):
        sink = pa.BufferOutputStream()
        pq.write_table(pa.table({"x": [n]}), sink)
        ws.store.write(key, sink.getvalue().to_pybytes())
    table = AssetTable("mixed", parts, partitioned=True)
    engine = MetadataSQL(ws.catalog, ws.events, _Source(table))
    rows = engine.sql("select partition, x from mixed order by x").fetchall()
    assert rows == [("", 0), ("eu", 1)]
    assert engine.sql("select x from mixed where partition = 'eu'").fetchall() == [(1,)]
