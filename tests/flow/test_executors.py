# SPDX-License-Identifier: Apache-2.0 OR MIT
"""inline, threads and Dask run the same plan into the same results and records."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from arco_nb import ConfigError, Workspace
from arco_nb.flow.assets import Registry, asset, sql_asset


def _fan_out(width: int = 6) -> Registry:
    registry = Registry()
    sql_asset("root", "select * from range(100) t(x)", registry=registry)
    for i in range(width):
        sql_asset(f"leaf{i}", f"select x * {i} as y from root", registry=registry)

    @asset(registry=registry, deps=[f"leaf{i}" for i in range(width)])
    def total(**leaves: Any) -> pa.Table:
        return pa.table({"n": [sum(len(df) for df in leaves.values())]})

    sql_asset("broken", "select * from root where oops", registry=registry)
    sql_asset("after_broken", "select * from broken", registry=registry)
    return registry


def _outcome(root: Any, executor: str, **kwargs: Any) -> dict[str, Any]:
    ws = Workspace(str(root), registry=_fan_out())
    result = ws.run(executor=executor, **kwargs)
    return {
        "status": result.status,
        "tasks": {a: t.status for (a, _), t in result.state.tasks.items()},
        "data": {f"leaf{i}": ws.read(f"leaf{i}").to_pylist() for i in range(6)},
        "total": ws.read("total").to_pylist(),
        "catalog": ws.catalog.state.content(),
        "lineage": ws.sql("select asset, input_asset from arco.lineage order by all").fetchall(),
        "replay": ws.run_state(result.run_id) == result.state,
    }


def _normalise(outcome: dict[str, Any]) -> dict[str, Any]:
    # Times differ between runs; everything else must not.
    for table in outcome["catalog"]["tables"].values():
        table["created_at"] = table["updated_at"] = "-"
    return outcome


def test_threads_match_inline(tmp_path: Any) -> None:
    inline = _normalise(_outcome(tmp_path / "a", "inline"))
    threads = _normalise(_outcome(tmp_path / "b", "threads", max_workers=4))
    assert inline == threads
    assert inline["status"] == "failed"
    assert inline["tasks"]["after_broken"] == "skipped"
    assert inline["total"] == [{"n": 600}]
    assert inline["replay"] is True


@pytest.mark.slow
def test_dask_localcluster_matches_inline(tmp_path: Any, dask_client: Any) -> None:
    inline = _normalise(_outcome(tmp_path / "a", "inline"))
    on_dask = _normalise(_outcome(tmp_path / "b", "dask", client=dask_client))
    assert inline == on_dask


@pytest.mark.slow
def test_dask_by_scheduler_address(tmp_path: Any, dask_client: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("ARCO_DASK_SCHEDULER", dask_client.scheduler.address)
    result = Workspace(str(tmp_path), registry=_fan_out(2)).run(executor="dask")
    assert result.status == "failed"  # 'broken' fails; the rest succeeded on the cluster
    assert result.state.tasks[("total", "")].status == "succeeded"


def test_executor_errors(memory_root: str) -> None:
    ws = Workspace(memory_root, registry=_fan_out())
    with pytest.raises(ConfigError, match="Unknown executor 'gpu'"):
        ws.run(executor="gpu")
    with pytest.raises(ConfigError, match="needs a scheduler"):
        ws.run(executor="dask")


def test_executor_names_are_one_list_everywhere() -> None:
    from arco_nb.cli.run_cmd import run as run_command
    from arco_nb.flow.executors import EXECUTORS
    from arco_nb.notebook.commands import run_cmd
    from arco_nb.notebook.extension import Arco

    click_choice = next(p for p in run_command.params if p.name == "executor").type
    assert tuple(click_choice.choices) == EXECUTORS  # type: ignore[attr-defined]
    assert tuple(Arco.executor.values) == EXECUTORS
    parser = run_cmd.command.parser  # type: ignore[attr-defined]
    option = next(a for a in parser._actions if "--executor" in a.option_strings)
    assert tuple(option.choices) == EXECUTORS


@pytest.mark.parametrize("name", ["spark", "", "INLINE "])
def test_an_unknown_executor_is_a_config_error(tmp_path: Any, name: str) -> None:
    from arco_nb.core.settings import executor_name
    from arco_nb.flow.executors import make_executor

    with pytest.raises(ConfigError, match="Unknown executor"):
        executor_name(name)
    with pytest.raises(ConfigError, match="Unknown executor"):
        Workspace(str(tmp_path), registry=_fan_out(1)).run(executor=name)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="needs a client"):
        make_executor("dask")
    assert executor_name("Threads") == "threads"
