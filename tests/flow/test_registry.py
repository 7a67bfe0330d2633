# SPDX-License-Identifier: Apache-2.0 OR MIT
"""A workspace plans the registry it was given, and rebuilds its graph only when it changes."""

from __future__ import annotations

import pytest

from arco_nb import AssetNotFound, Workspace
from arco_nb.flow.assets import Registry, default_registry, sql_asset


def test_the_version_counts_changes_only() -> None:
    registry = Registry()
    spec = sql_asset("a", "select 1", registry=registry)
    assert registry.version == 1
    registry.add(spec)  # the same object again changes nothing
    registry.remove("nothing")
    assert registry.version == 1
    sql_asset("a", "select 2", registry=registry)
    registry.remove("a")
    assert registry.version == 3
    registry.clear()  # already empty
    assert registry.version == 3


def test_the_graph_is_cached_until_the_definitions_change(
    ws: Workspace, registry: Registry
) -> None:
    sql_asset("raw", "select 1 as x", registry=registry)
    first = ws._graph()
    assert ws._graph() is first
    ws.run()
    assert ws._graph() is first  # running does not change definitions
    sql_asset("clean", "select x from raw", registry=registry)
    second = ws._graph()
    assert second is not first
    assert second.order == ("raw", "clean")
    assert ws.plan("clean").to_run[0].asset == "clean"
    registry.remove("clean")
    with pytest.raises(AssetNotFound):
        ws.plan("clean")


def test_a_broken_graph_is_not_cached(ws: Workspace, registry: Registry) -> None:
    sql_asset("clean", "select x from raw", registry=registry, deps=["raw"])
    with pytest.raises(AssetNotFound, match="'raw'"):
        ws.plan()
    sql_asset("raw", "select 1 as x", registry=registry)
    assert [t.asset for t in ws.plan().tasks] == ["raw", "clean"]


def test_workspaces_plan_their_own_registry_or_the_default(memory_root: str) -> None:
    mine = Registry()
    sql_asset("only_mine", "select 1 as x", registry=mine)
    sql_asset("everyones", "select 2 as y")  # the process-wide registry
    assert [a.name for a in Workspace(memory_root, registry=mine).assets()] == ["only_mine"]
    assert [a.name for a in Workspace(memory_root).assets()] == ["everyones"]
    assert Workspace(memory_root).registry is default_registry


def test_a_cell_definition_builds_the_graph_once(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cell's definition is checked against a graph with it in it; that graph is the
    registry's next one, not built again (a long session must not build two per cell)."""
    from arco_nb.flow import graph as graph_module
    from arco_nb.flow.cells import cell_asset

    for i in range(5):
        code = f"select {i} as x" + (f" from c{i - 1}" if i else "")
        cell_asset(f"c{i}", code, known={s.name for s in registry}, registry=registry)
    builds: list[int] = []
    real = graph_module.AssetGraph.__init__

    def counting(self: graph_module.AssetGraph, specs: object) -> None:
        builds.append(1)
        real(self, specs)  # type: ignore[arg-type]

    monkeypatch.setattr(graph_module.AssetGraph, "__init__", counting)
    cell_asset("c5", "select x from c4", known={s.name for s in registry}, registry=registry)
    graph = registry._current_graph()
    assert len(builds) == 1
    assert graph.order == tuple(f"c{i}" for i in range(6))
    assert list(graph.specs) == sorted(graph.specs), "the same graph a rebuild would give"


def test_a_definition_made_meanwhile_is_not_hidden_by_a_checked_graph(
    registry: Registry,
) -> None:
    from arco_nb.flow.cells import _check_graph, cell_asset

    base = cell_asset("a", "select 1 as x", registry=registry)
    spec = sql_asset("b", "select x from a", registry=Registry([base]))
    checked = _check_graph(registry, spec)
    sql_asset("other", "select 2 as y", registry=registry)  # another thread, meanwhile
    registry._replace(spec, checked=checked)
    assert set(registry._current_graph().specs) == {"a", "b", "other"}
