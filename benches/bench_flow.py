# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Flow benchmarks (targets and figures in docs/performance.md)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from arco_nb import Workspace
from arco_nb.flow.assets import AssetSpec, Registry, asset
from arco_nb.flow.graph import AssetGraph
from arco_nb.flow.plan import build_plan


def _dag(n: int, seed: int = 7) -> list[AssetSpec]:
    rng = random.Random(seed)
    specs = []
    for i in range(n):
        deps = tuple(sorted({f"a{rng.randrange(i)}" for _ in range(min(i, 2))})) if i else ()
        specs.append(AssetSpec(f"a{i}", "sql", f"select {i} as x", deps=deps))
    return specs


@pytest.mark.parametrize("n", [100, 10_000, 100_000])
def test_plan_generation(benchmark: Any, n: int) -> None:
    specs = _dag(n)
    plan = benchmark.pedantic(
        lambda: build_plan(AssetGraph(specs)), rounds=30 if n == 100 else 3, iterations=1
    )
    assert len(plan.tasks) == n


def test_lineage_traversal_5_hops_on_10000_nodes(benchmark: Any) -> None:
    graph = AssetGraph(_dag(10_000))
    focus = "a5000"
    found = benchmark(lambda: graph.upstream(focus, 5) | graph.downstream(focus, 5))
    assert found


def _trivial(kind: str, n: int) -> Registry:
    registry = Registry()

    @asset(registry=registry, name="a0")
    def first() -> pa.Table:
        return pa.table({"x": [1]})

    for i in range(1, n):
        dep = f"a{i - 1}" if kind == "chain" else "a0"

        def body(**inputs: Any) -> Any:
            return next(iter(inputs.values()))

        asset(body, name=f"a{i}", deps=[dep], registry=registry)
    return registry


@pytest.mark.parametrize("shape", ["chain", "fan_out"])
def test_engine_overhead_per_trivial_asset_inline(
    benchmark: Any, tmp_path: Path, shape: str
) -> None:
    registry = _trivial(shape, 100)
    roots = iter(range(100))

    def run() -> Any:
        return Workspace(str(tmp_path / f"r{next(roots)}"), registry=registry).run(force=True)

    result = benchmark.pedantic(run, rounds=5, iterations=1)
    assert result.status == "succeeded"
    benchmark.extra_info["ms_per_asset"] = round(benchmark.stats.stats.median * 1000 / 100, 3)


@pytest.mark.parametrize("executor", ["inline", "threads", "dask"])
def test_fan_out_100_by_executor(benchmark: Any, tmp_path: Path, executor: str) -> None:
    registry = _trivial("fan_out", 100)
    roots = iter(range(100))
    kwargs: dict[str, Any] = {}
    cluster = client = None
    if executor == "dask":
        distributed = pytest.importorskip("distributed")
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = distributed.Client(cluster)
        kwargs["client"] = client
    if executor == "threads":
        kwargs["max_workers"] = 4
    try:
        result = benchmark.pedantic(
            lambda: Workspace(str(tmp_path / f"r{next(roots)}"), registry=registry).run(
                executor=executor, force=True, **kwargs
            ),
            rounds=3,
            iterations=1,
        )
        assert result.status == "succeeded"
    finally:
        if client is not None:
            client.close()
            cluster.close()  # type: ignore[union-attr]
