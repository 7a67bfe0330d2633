# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Partitions through the planner, the executors and the Workspace API."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pyarrow as pa
import pytest

from arco_nb import ConfigError, Workspace
from arco_nb.flow.assets import Registry, asset, sql_asset
from arco_nb.flow.partitions import (
    DailyPartitions,
    MonthlyPartitions,
    Partitions,
    StaticPartitions,
)
from arco_nb.flow.plan import input_keys
from tests.conftest import S3Endpoint

JAN = "2024-01-01..2024-01-03"


@pytest.fixture
def daily(registry: Registry) -> Registry:

    @asset(registry=registry, partitions="daily:2024-01-01")
    def orders(partition_key: str) -> pa.Table:
        day = int(partition_key[-2:])
        return pa.table({"day": [partition_key] * day, "amount": list(range(day))})

    sql_asset(
        "orders_clean",
        "select day, amount from orders where day = getvariable('partition_key')",
        partitions="daily:2024-01-01",
        registry=registry,
    )
    sql_asset(
        "total", "select count(*) as n, sum(amount) as amount from orders_clean", registry=registry
    )
    return registry


def test_a_backfill_runs_each_partition_with_its_key(ws: Workspace, daily: Registry) -> None:
    result = ws.run(partitions=JAN)
    assert result.status == "succeeded"
    keys = [t.partition for t in result.plan.tasks if t.asset == "orders"]
    assert keys == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert ws.read("orders", "2024-01-02").to_pylist() == [
        {"day": "2024-01-02", "amount": 0},
        {"day": "2024-01-02", "amount": 1},
    ]
    assert ws.read("orders_clean").num_rows == 1 + 2 + 3, "every partition, in key order"
    assert ws.read("total").to_pylist() == [{"n": 6, "amount": 0 + 1 + 3}]
    paths = ws.sql("select asset, partition, path from arco.materializations").fetchall()
    assert all(p.startswith(f"data/{a}/{k or '_'}/") for a, k, p in paths)
    assert ws.store.list("data/orders/2024-01-03/")


def test_inputs_follow_the_partition(ws: Workspace, daily: Registry) -> None:
    ws.run(partitions=JAN)
    same = ws.sql(
        "select partition, input_partition from arco.lineage where asset = 'orders_clean'"
    ).fetchall()
    assert sorted(same) == [(k, k) for k in ("2024-01-01", "2024-01-02", "2024-01-03")]
    everything = ws.sql(
        "select input_partition from arco.lineage where asset = 'total' order by 1"
    ).fetchall()
    assert [k for (k,) in everything] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert ws.sql(
        "select count(*) from arco.materializations m anti join arco.lineage l "
        "using (materialization_id) where m.asset <> 'orders'"
    ).fetchall() == [(0,)]


def test_new_partitions_make_the_unpartitioned_downstream_stale(
    ws: Workspace, daily: Registry
) -> None:
    ws.run(partitions=JAN)
    again = ws.plan(partitions=JAN)
    assert {t.reason for t in again.tasks} == {"up to date"}
    more = ws.plan(partitions="2024-01-04")
    assert [(t.label, t.reason) for t in more.tasks] == [
        ("orders[2024-01-04]", "never materialized"),
        ("orders_clean[2024-01-04]", "never materialized"),
        ("total", "upstream changed"),
    ]
    ws.run(partitions="2024-01-04")
    assert ws.read("total").to_pylist() == [{"n": 10, "amount": 0 + 1 + 3 + 6}]


def test_plans_with_partitions_are_deterministic(ws: Workspace, daily: Registry) -> None:
    first = ws.plan(partitions=JAN)
    second = ws.plan(partitions=" " + JAN)
    assert first.json_bytes() == second.json_bytes()
    assert first.plan_id != ws.plan(partitions="2024-01-01").plan_id
    fingerprints = {t.fingerprint for t in first.tasks}
    assert len(fingerprints) == len(first.tasks), "the partition key enters the fingerprint"


def test_selecting_downstream_alone_says_what_is_missing(ws: Workspace, daily: Registry) -> None:
    ws.run("orders", partitions="2024-01-01")
    result = ws.run("orders_clean", partitions="2024-01-01..2024-01-02")
    tasks = result.state.tasks
    assert tasks[("orders_clean", "2024-01-01")].status == "succeeded"
    skipped = tasks[("orders_clean", "2024-01-02")]
    assert skipped.status == "skipped"
    assert "orders[2024-01-02]" in skipped.error
    assert "+orders_clean" in skipped.error


def test_partition_arguments_are_checked(ws: Workspace, daily: Registry) -> None:
    with pytest.raises(ConfigError, match="no selected asset is partitioned"):
        ws.plan("total", partitions="2024-01-01")
    with pytest.raises(ConfigError, match=r"orders: .*before the first partition"):
        ws.plan("orders", partitions="2023-12-31")
    with pytest.raises(ConfigError, match="runs backwards"):
        ws.plan("orders", partitions="2024-01-03..2024-01-01")
    ws.run("orders", partitions="2024-01-01")
    with pytest.raises(ConfigError, match="no materialized partition '2024-01-09'"):
        ws.read("orders", "2024-01-09")


def test_partition_status(ws: Workspace, registry: Registry) -> None:
    calls = {"v": 1}

    @asset(registry=registry, partitions=StaticPartitions(["eu", "us", "apac", "latam"]))
    def sales(partition_key: str) -> pl.DataFrame:
        if partition_key == "apac":
            raise RuntimeError("the apac feed is down")
        return pl.DataFrame({"region": [partition_key], "v": [calls["v"]]})

    @asset(registry=registry, partitions="static:eu,us,apac,latam")
    def sales_scored(sales: pl.DataFrame) -> pl.DataFrame:
        return sales.with_columns(score=pl.col("v") * 2)

    ws.run(partitions="eu,us,apac")
    assert ws.partition_status("sales") == {
        "eu": "materialized",
        "us": "materialized",
        "apac": "failed",
        "latam": "missing",
    }
    downstream = ws.partition_status("sales_scored")
    assert downstream == {
        "eu": "materialized",
        "us": "materialized",
        "apac": "missing",
        "latam": "missing",
    }

    @asset(registry=registry, name="sales", partitions="static:eu,us,apac,latam")
    def sales_v2(partition_key: str) -> pl.DataFrame:
        return pl.DataFrame({"region": [partition_key], "v": [2]})

    ws.run("sales", partitions="eu")
    assert ws.partition_status("sales") == {
        "eu": "materialized",
        "us": "stale",
        "apac": "failed",
        "latam": "missing",
    }
    assert ws.partition_status("sales_scored")["eu"] == "stale"


def test_monthly_and_daily_map_onto_each_other(ws: Workspace, registry: Registry) -> None:

    @asset(registry=registry, partitions=DailyPartitions("2024-01-30"))
    def visits(partition_key: str) -> pl.DataFrame:
        return pl.DataFrame({"day": [partition_key], "n": [1]})

    @asset(registry=registry, partitions=MonthlyPartitions("2024-01"))
    def visits_monthly(visits: pl.DataFrame, partition_key: str) -> pl.DataFrame:
        return visits.select(month=pl.lit(partition_key), n=pl.col("n").sum())

    @asset(registry=registry, partitions="daily:2024-01-30")
    def visits_share(visits_monthly: pl.DataFrame, partition_key: str) -> pl.DataFrame:
        return visits_monthly.select(day=pl.lit(partition_key), of=pl.col("n"))

    result = ws.run(partitions="2024-01-30..2024-02-02")
    assert result.status == "succeeded", result.failed
    assert [t.label for t in result.plan.tasks if t.asset == "visits_monthly"] == [
        "visits_monthly[2024-01]",
        "visits_monthly[2024-02]",
    ]
    assert ws.read("visits_monthly").to_pylist() == [
        {"month": "2024-01", "n": 2},
        {"month": "2024-02", "n": 2},
    ]
    assert ws.read("visits_share", "2024-02-01").to_pylist() == [{"day": "2024-02-01", "of": 2}]


def test_input_keys_mapping() -> None:
    daily, monthly = DailyPartitions("2024-01-01"), MonthlyPartitions("2024-01")
    there = {"2024-01-30", "2024-01-31", "2024-02-01"}
    assert input_keys(None, daily, "2024-01-02", there) == [""]
    assert input_keys(daily, DailyPartitions("2023-01-01"), "2024-01-02", there) == ["2024-01-02"]
    assert input_keys(monthly, daily, "2024-01-02", there) == ["2024-01"]
    assert input_keys(daily, monthly, "2024-01", there) == ["2024-01-30", "2024-01-31"]
    assert input_keys(daily, None, "", there) == sorted(there)
    eu = StaticPartitions(["eu", "us"])
    assert input_keys(eu, StaticPartitions(["eu", "us"]), "eu", {"eu", "us"}) == ["eu"]
    assert input_keys(eu, StaticPartitions(["eu"]), "eu", {"eu", "us"}) == ["eu", "us"]
    assert input_keys(eu, daily, "2024-01-02", {"us"}) == ["us"]


def test_bad_partition_definitions_name_the_asset() -> None:
    from arco_nb import AssetDefinitionError

    with pytest.raises(AssetDefinitionError, match="'bad': Unknown partition kind"):
        sql_asset("bad", "select 1", partitions="weekly:2024-01-01", registry=Registry())
    spec = sql_asset("ok", "select 1", partitions=" daily:2024-01-01", registry=Registry())
    assert spec.partitions == "daily:2024-01-01"


@pytest.mark.s3
def test_a_five_asset_partitioned_pipeline_on_s3(
    s3_root: str, s3_endpoint: S3Endpoint, registry: Registry
) -> None:
    ws = Workspace(s3_root, storage_options=s3_endpoint.storage_options, registry=registry)

    @asset(registry=registry, partitions="daily:2024-01-30")
    def orders(partition_key: str) -> pl.DataFrame:
        day = int(partition_key[-2:])
        return pl.DataFrame({"day": [partition_key] * 3, "amount": [day, -1, 2 * day]})

    sql_asset(
        "orders_clean",
        "select * from orders where amount > 0",
        partitions="daily:2024-01-30",
        registry=registry,
    )
    sql_asset(
        "daily_revenue",
        "select any_value(day) as day, sum(amount) as revenue from orders_clean",
        partitions="daily:2024-01-30",
        registry=registry,
    )

    @asset(registry=registry, partitions="monthly:2024-01")
    def monthly_revenue(daily_revenue: pl.DataFrame, partition_key: str) -> pl.DataFrame:
        return daily_revenue.select(month=pl.lit(partition_key), revenue=pl.col("revenue").sum())

    sql_asset(
        "revenue_report",
        "select month, revenue, sum(revenue) over (order by month) as running "
        "from monthly_revenue order by month",
        registry=registry,
    )

    result = ws.run(partitions="2024-01-30..2024-02-02", executor="threads")
    assert result.status == "succeeded", result.failed
    assert len(result.plan.tasks) == 4 + 4 + 4 + 2 + 1
    assert ws.read("revenue_report").to_pylist() == [
        {"month": "2024-01", "revenue": 3 * (30 + 31), "running": 3 * (30 + 31)},
        {"month": "2024-02", "revenue": 3 * (1 + 2), "running": 3 * (30 + 31 + 1 + 2)},
    ]
    assert ws.read("orders_clean", "2024-02-01").num_rows == 2
    assert ws.store.list("data/daily_revenue/2024-01-31/")
    assert ws.sql(
        "select count(*) from arco.materializations m anti join arco.lineage l "
        "using (materialization_id) where m.asset <> 'orders'"
    ).fetchall() == [(0,)]
    status = ws.partition_status("daily_revenue")
    assert [status[k] for k in ("2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02")] == [
        "materialized"
    ] * 4
    assert ws.run_state(result.run_id) == result.state
    again = ws.plan(partitions="2024-01-30..2024-02-02")
    assert again.to_run == ()


def test_explain_a_partitioned_asset(ws: Workspace, daily: Registry) -> None:
    ws.run(partitions="2024-01-01..2024-01-02")
    few = ws.explain("orders", partitions="2024-01-02..2024-01-03")
    mid = ws.latest_materializations()[("orders", "2024-01-02")].materialization_id
    assert few.splitlines() == [
        f"orders[2024-01-02] is skipped: materialization {mid} is up to date.",
        "orders[2024-01-03] runs: it has never been materialized.",
    ]
    many = ws.explain("orders", partitions="2024-01-01..2024-01-10")
    assert many.splitlines() == [
        "orders: 10 partitions",
        "  2 up to date: 2024-01-01, 2024-01-02",
        "  8 never materialized: 2024-01-03, 2024-01-04, 2024-01-05, ... 2024-01-10",
    ]


def test_downstream_sees_what_the_file_holds_whichever_way_it_reads(
    ws: Workspace, registry: Registry
) -> None:
    import datetime as dt

    @asset(registry=registry)
    def stamps() -> pa.Table:
        return pa.table({"ts": pa.array([dt.datetime(2024, 1, 1)], pa.timestamp("s"))})

    sql_asset("typed", "select typeof(ts) as t from stamps", registry=registry)
    ws.run()  # in process: stamps is handed on without a read
    handed_on = ws.read("typed").to_pylist()
    ws.run("typed", force=True)  # stamps now comes from its file
    assert ws.read("typed").to_pylist() == handed_on == [{"t": "TIMESTAMP_MS"}]
    columns = ws.catalog.load_table("assets.stamps").columns
    assert [c.type for c in columns] == ["timestamp[ms]"], "the catalog describes the file"


def test_keys_of_an_older_partition_definition_are_left_out(
    ws: Workspace, registry: Registry
) -> None:
    sql_asset("events", "select 'old' as day", registry=registry)
    sql_asset("n_days", "select count(*) as n from events", registry=registry)
    ws.run()
    sql_asset(
        "events",
        "select getvariable('partition_key') as day",
        partitions="static:mon,tue",
        registry=registry,
    )
    ws.run()
    assert ws.read("n_days").to_pylist() == [{"n": 2}]
    assert ws.read("events").column("day").to_pylist() == ["mon", "tue"]


def test_no_partition_to_read_skips_with_a_reason(ws: Workspace, registry: Registry) -> None:
    sql_asset("ticks", "select 1 as x", partitions="static:a,b", registry=registry)
    sql_asset("tick_total", "select count(*) as n from ticks", registry=registry)
    result = ws.run("tick_total")
    task = result.state.tasks[("tick_total", "")]
    assert task.status == "skipped"
    assert "ticks (no partition)" in task.error
    assert result.plan.task("tick_total").missing == ("ticks",)


def test_bad_partition_values_are_arco_errors(
    ws: Workspace, daily: Registry, registry: Registry
) -> None:
    from arco_nb import AssetDefinitionError, SchemaError

    with pytest.raises(AssetDefinitionError, match="not int"):
        sql_asset("x", "select 1", partitions=7, registry=Registry())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="partitions must be text, not list"):
        ws.plan(partitions=["2024-01-01"])  # type: ignore[arg-type]

    @asset(registry=registry, partitions="static:a,b")
    def drifting(partition_key: str) -> pa.Table:
        return pa.table({"v": [1] if partition_key == "a" else ["one"]})

    ws.run()
    with pytest.raises(SchemaError, match="schemas that do not combine") as caught:
        ws.read("drifting")
    assert caught.value.asset == "drifting"


def test_the_table_cache_counts_what_it_keeps_alive() -> None:
    from arco_nb.flow.materialize import TableCache

    cache = TableCache(max_bytes=16 << 20)
    big = pa.table({"x": pa.array(range(2_000_000), pa.int64())})  # 16 MB of buffers
    cache.put("a", big.slice(0, 3))
    cache.put("b", big.slice(3, 3))
    assert cache.get("a") is None, "a slice keeps its parent's buffers alive"
    small = pa.table({"x": [1, 2]})
    cache.put("c", small)
    assert cache.get("c") is small


def test_a_plan_over_too_many_partitions_is_refused_before_listing_them(
    ws: Workspace, registry: Registry
) -> None:
    sql_asset("ancient", "select 1 as x", partitions="daily:0001-01-01", registry=registry)
    with pytest.raises(ConfigError, match=r"ancient: 7\d\d,\d\d\d partitions are more than one"):
        ws.plan()
    with pytest.raises(ConfigError, match="ARCO_MAX_PARTITIONS"):
        ws.run(partitions="0001-01-01..2024-01-01")
    assert [t.partition for t in ws.plan(partitions="2024-01-01..2024-01-03").tasks] == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
    ]
    assert ws.sql("select count(*) from arco.runs").fetchall() == [(0,)]  # nothing ran


def test_the_partition_bound_is_a_setting(
    memory_root: str, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    sql_asset("days", "select 1 as x", partitions="daily:2024-01-01", registry=registry)
    monkeypatch.setenv("ARCO_MAX_PARTITIONS", "5")
    ws = Workspace(memory_root, registry=registry)
    assert len(ws.plan(partitions="2024-01-01..2024-01-05").tasks) == 5
    with pytest.raises(ConfigError, match=r"6 partitions are more than one plan may hold \(5\)"):
        ws.plan(partitions="2024-01-01..2024-01-05,2024-01-09")
    for bad in ("0", "-3", "many", "2.5"):
        monkeypatch.setenv("ARCO_MAX_PARTITIONS", bad)
        with pytest.raises(ConfigError, match="ARCO_MAX_PARTITIONS must be a whole number"):
            Workspace(memory_root)


@pytest.mark.parametrize(
    "definition",
    [
        DailyPartitions("2024-01-01"),
        DailyPartitions("2024-03-31"),
        MonthlyPartitions("2023-11"),
        MonthlyPartitions("2024-03"),
        StaticPartitions(["eu", "us"]),
    ],
)
def test_counting_keys_agrees_with_listing_them(definition: Partitions) -> None:
    for today in (dt.date(2024, 2, 29), dt.date(2024, 3, 31), dt.date(2025, 1, 1)):
        assert definition.count(today=today) == len(definition.keys(today=today))


def test_a_time_window_that_starts_after_today_says_so(ws: Workspace, registry: Registry) -> None:
    sql_asset("future", "select 1 as x", partitions="daily:2999-01-01", registry=registry)
    assert ws.plan().tasks == ()
    with pytest.raises(ConfigError, match=r"no partitions yet: its first \(daily:2999-01-01\)"):
        ws.read("future")
    sql_asset("later", "select 1 as x", registry=registry)
    with pytest.raises(ConfigError, match="'later' has no materialization yet"):
        ws.read("later")
