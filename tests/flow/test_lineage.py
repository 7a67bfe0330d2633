# SPDX-License-Identifier: Apache-2.0 OR MIT
from __future__ import annotations

import json

import polars as pl
import pytest

from arco_nb import AssetNotFound, Workspace
from arco_nb.flow.assets import Registry, asset, sql_asset
from arco_nb.flow.lineage import COLOURS, to_dot


@pytest.fixture
def registry(registry: Registry) -> Registry:
    sql_asset("raw", "select 1 as x union all select 2", registry=registry)
    sql_asset("clean", "select * from raw where x > 1", registry=registry, tags=["core"])
    sql_asset("other", "select 3 as y", registry=registry)

    @asset(registry=registry)
    def report(clean: pl.DataFrame, other: pl.DataFrame) -> pl.DataFrame:
        return clean

    return registry


def test_lineage_after_a_run(ws: Workspace) -> None:
    result = ws.run()
    graph = ws.lineage("clean", up=1, down=1)
    assert [n.name for n in graph.nodes] == ["clean", "raw", "report"]
    clean = graph.node("clean")
    assert (clean.kind, clean.status, clean.rows, clean.tags) == ("sql", "succeeded", 1, ("core",))
    assert clean.last_run_id == result.run_id
    assert clean.last_materialized is not None
    edges = {(e.upstream, e.downstream) for e in graph.edges}
    assert edges == {("raw", "clean"), ("clean", "report")}
    edge = next(e for e in graph.edges if e.downstream == "clean")
    assert edge.input_materialization_id == graph.node("raw").materialization_id
    assert edge.materialization_id == clean.materialization_id
    text = graph.to_text()
    assert text.splitlines() == [
        "    <- raw [materialized, 2 rows]",
        "* clean [materialized, 1 row]",
        "    -> report [materialized, 1 row]",
    ]
    assert json.loads(json.dumps(graph.to_json()))["focus"] == "clean"
    # People read the asset's word; programs and colours keep the raw task status.
    assert json.loads(json.dumps(graph.to_json()))["nodes"][0]["status"] == "succeeded"
    dot = to_dot(graph)
    assert dot.count("<br/>materialized<br/>") == 3
    assert '"clean" [label=<<b>clean</b><br/><font point-size="9">sql · 1 row<br/>' in dot
    assert f'fillcolor="{COLOURS["succeeded"]}"' in dot
    again = ws.run()
    assert {t.status for t in again.state.tasks.values()} == {"up_to_date"}
    text = ws.lineage("clean", up=1, down=1).to_text()
    assert "* clean [materialized, 1 row]" in text, "up to date is materialized too"
    wide = ws.lineage("report", up=2, down=0)
    assert [n.name for n in wide.nodes] == ["clean", "other", "raw", "report"]


def test_lineage_before_any_run(ws: Workspace) -> None:
    graph = ws.lineage("report", up=1, down=1)
    assert {n.status for n in graph.nodes} == {"never run"}
    assert all(e.materialization_id is None for e in graph.edges)
    assert str(graph).startswith("    <- ")
    assert "* report [never materialized]" in str(graph)
    assert "<br/>never materialized</font>>" in to_dot(graph)
    with pytest.raises(AssetNotFound, match="Did you mean 'clean'"):
        ws.lineage("clen")
