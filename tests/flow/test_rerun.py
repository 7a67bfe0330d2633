# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``ws.rerun(run_id)``: a past run's tasks again, with today's code or the code it ran."""

from __future__ import annotations

import datetime as dt

import pytest

from arco_nb import ConfigError, RunNotFound, Workspace
from arco_nb.flow.assets import Registry, sql_asset
from arco_nb.flow.rerun import registry_of_run


def _pipeline(registry: Registry, factor: int) -> None:
    sql_asset("base", "select 1 as x", registry=registry)
    sql_asset("scaled", f"select x * {factor} as y from base", registry=registry)


def test_a_rerun_runs_the_same_tasks_with_todays_or_the_runs_code(memory_root: str) -> None:
    registry = Registry()
    _pipeline(registry, 2)
    ws = Workspace(memory_root, registry=registry)
    first = ws.run()
    _pipeline(registry, 3)
    ws.run()
    assert ws.read("scaled").to_pydict() == {"y": [3]}

    [today] = ws.rerun(first.run_id)
    assert today.status == "succeeded"
    assert {(t.asset, t.reason) for t in today.plan.tasks} == {
        ("base", "forced"),
        ("scaled", "forced"),
    }
    assert ws.read("scaled").to_pydict() == {"y": [3]}, "today's code"

    [same] = ws.rerun(first.run_id, same_code=True)
    assert same.status == "succeeded"
    assert ws.read("scaled").to_pydict() == {"y": [2]}, "the code the first run ran"
    assert {t.code_version for t in same.plan.tasks} == {t.code_version for t in first.plan.tasks}


def test_only_what_the_run_ran_runs_again(memory_root: str) -> None:
    registry = Registry()
    _pipeline(registry, 2)
    ws = Workspace(memory_root, registry=registry)
    ws.run()
    _pipeline(registry, 5)
    second = ws.run()  # base was up to date: only scaled ran
    [again] = ws.rerun(second.run_id)
    assert [t.asset for t in again.plan.tasks] == ["scaled"]
    nothing = ws.run()
    with pytest.raises(ConfigError, match="ran no task"):
        ws.rerun(nothing.run_id)
    with pytest.raises(RunNotFound):
        ws.rerun("01m8dzzzzzzzzzzzzzzzzzzzzz")


def test_partitions_run_again_with_their_keys(days: Workspace) -> None:
    ws = days
    first = ws.run(partitions="a,c")
    [again] = ws.rerun(first.run_id)
    assert [t.partition for t in again.plan.tasks] == ["a", "c"]


def test_code_the_history_no_longer_holds_is_a_clear_error(memory_root: str) -> None:
    registry = Registry()
    _pipeline(registry, 2)
    ws = Workspace(memory_root, registry=registry)
    run = ws.run()
    finished = dt.datetime.now(dt.UTC)
    with pytest.raises(ConfigError, match=r"no longer holds: scaled \(0000\)"):
        registry_of_run(ws.catalog, run.run_id, finished, {"scaled": "0000"})
    with pytest.raises(ConfigError, match="has not finished"):
        registry_of_run(ws.catalog, run.run_id, None, {})
