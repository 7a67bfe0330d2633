# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``ws.read(asset, as_of=...)``: an asset as a run, a catalog version or a time left it."""

from __future__ import annotations

import datetime as dt

import pytest

from arco_nb import ConfigError, RunNotFound, Workspace
from arco_nb.core.errors import CatalogError
from arco_nb.flow.assets import Registry, sql_asset


def test_an_asset_reads_as_a_run_a_version_or_a_time_left_it(memory_root: str) -> None:
    registry = Registry()
    sql_asset("base", "select 1 as x", registry=registry)
    sql_asset("double", "select x * 2 as y from base", registry=registry)
    ws = Workspace(memory_root, registry=registry)
    before = dt.datetime.now(dt.UTC)
    first = ws.run()
    version = ws.catalog.version
    between = dt.datetime.now(dt.UTC)
    sql_asset("base", "select 10 as x", registry=registry)
    ws.run()

    assert ws.read("double").to_pydict() == {"y": [20]}
    for point in (first.run_id, version, between, between.isoformat()):
        assert ws.read("double", as_of=point).to_pydict() == {"y": [2]}, point
        assert ws.read("base", as_of=point).to_pydict() == {"x": [1]}, point
    with pytest.raises(ConfigError, match="had no materialization as of"):
        ws.read("base", as_of=before)
    with pytest.raises(ConfigError, match="had no materialization as of"):
        ws.read("base", as_of=0)


@pytest.mark.parametrize(
    ("as_of", "error", "message"),
    [
        (dt.datetime(2024, 1, 1), ConfigError, "has no time zone"),
        ("01m8dzzzzzzzzzzzzzzzzzzzzz", RunNotFound, "01m8dzzzzzzzzzzzzzzzzzzzzz"),
        ("yesterday", ConfigError, "neither a run id, a catalog version nor a time"),
        (99, CatalogError, "no commit record for version 99"),
        (1.5, ConfigError, "neither a run id"),
    ],
)
def test_a_point_that_does_not_exist_is_one_clear_error(
    memory_root: str, as_of: object, error: type[Exception], message: str
) -> None:
    registry = Registry()
    sql_asset("base", "select 1 as x", registry=registry)
    ws = Workspace(memory_root, registry=registry)
    ws.run()
    with pytest.raises(error, match=message):
        ws.read("base", as_of=as_of)  # type: ignore[arg-type]


def test_partitions_made_later_are_not_there_as_of_earlier(days: Workspace) -> None:
    ws = days
    early = ws.run(partitions="a,b")
    ws.run(partitions="c")
    assert sorted(ws.read("days")["day"].to_pylist()) == ["a", "b", "c"]
    assert sorted(ws.read("days", as_of=early.run_id)["day"].to_pylist()) == ["a", "b"]
    assert ws.read("days", "b", as_of=early.run_id)["day"].to_pylist() == ["b"]
    with pytest.raises(ConfigError, match="no materialized partition 'c'"):
        ws.read("days", "c", as_of=early.run_id)
