# SPDX-License-Identifier: Apache-2.0 OR MIT
from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco_nb import AssetNotFound, CycleError, SelectionError
from arco_nb.flow.assets import AssetSpec
from arco_nb.flow.graph import AssetGraph


def _spec(name: str, *deps: str, tags: tuple[str, ...] = ()) -> AssetSpec:
    return AssetSpec(name, "sql", f"select * from {name}", deps=deps, tags=tags)


# raw -> clean -> daily -> report ; raw -> audit ; other (alone)
DIAMOND = [
    _spec("raw", tags=("ingest",)),
    _spec("clean", "raw"),
    _spec("audit", "raw", tags=("qa",)),
    _spec("daily", "clean", tags=("qa",)),
    _spec("report", "daily", "audit"),
    _spec("other"),
]


def test_topological_order_is_stable_with_ties_by_name() -> None:
    graph = AssetGraph(DIAMOND)
    assert graph.order == ("other", "raw", "audit", "clean", "daily", "report")


def test_unknown_dependency_names_close_matches() -> None:
    with pytest.raises(AssetNotFound, match=r"'rwa' \(a dependency of 'clean'\).*'raw'") as info:
        AssetGraph([_spec("raw"), _spec("clean", "rwa")])
    assert (info.value.asset, info.value.needed_by) == ("rwa", "clean")


def test_sql_references_resolve_case_insensitively() -> None:
    graph = AssetGraph([_spec("Orders"), _spec("clean", "orders")])
    assert graph.specs["clean"].deps == ("Orders",)


def test_cycles_are_reported_with_their_path() -> None:
    with pytest.raises(CycleError) as info:
        AssetGraph([_spec("a", "c"), _spec("b", "a"), _spec("c", "b"), _spec("d", "a")])
    assert info.value.cycle == ("a", "b", "c", "a")
    assert str(info.value).startswith("Dependency cycle: a -> b -> c -> a")
    with pytest.raises(CycleError, match="x -> x"):
        AssetGraph([_spec("x", "x")])


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (None, ("other", "raw", "audit", "clean", "daily", "report")),
        ("*", ("other", "raw", "audit", "clean", "daily", "report")),
        ("daily", ("daily",)),
        ("+daily", ("raw", "clean", "daily")),
        ("1+daily", ("clean", "daily")),
        ("clean+", ("clean", "daily", "report")),
        ("clean+1", ("clean", "daily")),
        ("+daily+", ("raw", "clean", "daily", "report")),
        ("tag:qa", ("audit", "daily")),
        ("other, tag:ingest", ("other", "raw")),
        ("report,raw", ("raw", "report")),
    ],
)
def test_selection(selection: str | None, expected: tuple[str, ...]) -> None:
    assert AssetGraph(DIAMOND).select(selection) == expected


@pytest.mark.parametrize("bad", ["++daily", "da ily", "tag:", "+tag:qa", "daily,,raw", "a-b"])
def test_malformed_selections(bad: str) -> None:
    with pytest.raises(SelectionError):
        AssetGraph(DIAMOND).select(bad)


def test_unknown_name_in_selection() -> None:
    with pytest.raises(AssetNotFound, match="Did you mean 'daily'"):
        AssetGraph(DIAMOND).select("+dialy")


def test_upstream_and_downstream_depth() -> None:
    graph = AssetGraph(DIAMOND)
    assert graph.upstream("report") == {"raw", "clean", "daily", "audit"}
    assert graph.upstream("report", 1) == {"daily", "audit"}
    assert graph.downstream("raw", 2) == {"clean", "audit", "daily", "report"}
    assert graph.downstream("report") == set()


names = st.lists(st.sampled_from([f"n{i}" for i in range(12)]), unique=True, min_size=1)


@given(names, st.randoms(use_true_random=False), st.data())
def test_order_ignores_definition_order(
    chosen: list[str], rnd: random.Random, data: st.DataObject
) -> None:
    # A random DAG: each node may depend on nodes earlier in a fixed order.
    specs = []
    for i, name in enumerate(chosen):
        deps = data.draw(st.lists(st.sampled_from(chosen[:i]), unique=True)) if i else []
        specs.append(_spec(name, *deps))
    order = AssetGraph(specs).order
    shuffled = list(specs)
    rnd.shuffle(shuffled)
    assert AssetGraph(shuffled).order == order
    position = {n: i for i, n in enumerate(order)}
    for spec in specs:
        assert all(position[d] < position[spec.name] for d in spec.deps)
