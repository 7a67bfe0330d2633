# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Asset tables in ``ws.sql`` (ADR 0024): a query over one asset, in workspaces of 10 and of
1,000 materialized assets, warm (the asset's view bound by an earlier query) and on a fresh
``Workspace`` (first query: DuckDB connection, metadata views, the asset's view). The cost
must not grow with the number of assets; figures are in docs/performance.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from arco_nb import DailyPartitions, Workspace
from arco_nb.catalog.operations import DefineAsset
from arco_nb.flow.assets import Registry, sql_asset

QUERY = "select count(*) from a0007"
DAYS = "2024-01-01..2024-12-30"  # 365 partitions of asset ``daily``


def _workspace(root: Path, assets: int) -> str:
    registry = Registry()
    ws = Workspace(str(root), registry=registry)
    sql_asset("base", "select * from range(100) t(x)", registry=registry)
    for i in range(assets - 2):
        sql_asset(f"a{i:04d}", f"select x + {i} as x from base", registry=registry)
    sql_asset(
        "daily",
        "select x, getvariable('partition_key') as day from base",
        partitions=DailyPartitions("2024-01-01"),
        registry=registry,
    )
    ws.catalog.commit([DefineAsset(s.to_record()) for s in registry])
    assert ws.run(partitions=DAYS).status == "succeeded"
    ws.compact()
    return str(root)


@pytest.fixture(scope="module", params=[10, 1000], ids=["10_assets", "1000_assets"])
def root(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    return _workspace(tmp_path_factory.mktemp("asset-sql"), request.param)


def test_count_one_asset_warm(benchmark: Any, root: str) -> None:
    ws = Workspace(root)
    assert ws.sql(QUERY).fetchall() == [(100,)]
    benchmark(lambda: ws.sql(QUERY).fetchall())


def test_count_one_asset_fresh_workspace(benchmark: Any, root: str) -> None:
    benchmark.pedantic(
        lambda: Workspace(root).sql(QUERY).fetchall(), rounds=10, iterations=1, warmup_rounds=1
    )


def test_metadata_query_fresh_workspace(benchmark: Any, root: str) -> None:
    """What the fresh workspace's first query costs without any asset table."""
    query = "select count(*) from arco.assets"
    benchmark.pedantic(
        lambda: Workspace(root).sql(query).fetchall(), rounds=10, iterations=1, warmup_rounds=1
    )


def test_metadata_query_warm(benchmark: Any, root: str) -> None:
    """The same workspace's metadata views: what a query without asset tables costs."""
    ws = Workspace(root)
    query = "select count(*) from arco.assets"
    ws.sql(query).fetchall()
    benchmark(lambda: ws.sql(query).fetchall())


@pytest.mark.parametrize(
    "query",
    [
        "select count(*) from daily",
        "select count(*) from daily where partition = '2024-06-01'",
    ],
    ids=["all_365_partitions", "one_partition"],
)
def test_partitioned_asset_warm(benchmark: Any, root: str, query: str) -> None:
    ws = Workspace(root)
    ws.sql(query).fetchall()
    benchmark(lambda: ws.sql(query).fetchall())
