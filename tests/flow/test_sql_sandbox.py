# SPDX-License-Identifier: Apache-2.0 OR MIT
"""SQL assets in the SQL sandbox: their upstream assets and nothing else, on every executor."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arco_nb import StaticPartitions, Workspace
from arco_nb.flow.assets import Registry, sql_asset

EXECUTORS = ["inline", "threads", "dask"]


def _outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside.parquet"
    pq.write_table(pa.table({"secret": ["globex-secret-7f3a"]}), path)
    return path


def _registry(outside: Path) -> Registry:
    registry = Registry()
    sql_asset("numbers", "select * from range(5) t(x)", registry=registry)
    sql_asset("evens", "select x from numbers where x % 2 = 0", registry=registry)
    sql_asset("peek", f"select * from read_parquet('{outside}')", registry=registry)
    sql_asset("passwd", "select * from read_text('/etc/passwd')", registry=registry)
    # Definitions refuse statements other than SELECT; a definition read back from a catalog
    # someone tampered with need not have gone through that check, so the sandbox checks again.
    template = sql_asset("writes", "select 1 as x", registry=registry)
    written = f"copy (select 1 as x) to '{outside.parent}/written.csv'"
    registry.add(dataclasses.replace(template, code=written))
    config = "set enable_external_access = true; select 1 as x"
    registry.add(dataclasses.replace(template, name="config", code=config))
    return registry


def _run(ws: Workspace, executor: str, client: Any) -> dict[str, Any]:
    kwargs = {"client": client} if executor == "dask" else {}
    result = ws.run(executor=executor, **kwargs)
    return {a: t for (a, _), t in result.state.tasks.items()}


@pytest.mark.parametrize("executor", EXECUTORS)
def test_sandboxed_sql_assets_read_only_their_upstream(
    tmp_path: Path, executor: str, request: pytest.FixtureRequest
) -> None:
    client = request.getfixturevalue("dask_client") if executor == "dask" else None
    outside = _outside(tmp_path)
    ws = Workspace(str(tmp_path / "root"), sandbox=True, registry=_registry(outside))
    tasks = _run(ws, executor, client)
    assert tasks["numbers"].status == tasks["evens"].status == "succeeded"
    assert ws.read("evens").column("x").to_pylist() == [0, 2, 4]
    for name in ("peek", "passwd"):
        assert tasks[name].status == "failed"
        assert "QueryRefused" in tasks[name].error
        assert "refused access outside the sandbox" in tasks[name].error
        assert "globex-secret-7f3a" not in tasks[name].error
    assert tasks["writes"].status == "failed"
    assert "refused the COPY statement" in tasks["writes"].error
    assert tasks["config"].status == "failed"
    assert "refused the SET statement" in tasks["config"].error
    assert not (tmp_path / "written.csv").exists()


def test_without_the_sandbox_a_personal_notebook_reads_files(tmp_path: Path) -> None:
    outside = _outside(tmp_path)
    ws = Workspace(str(tmp_path / "root"), registry=_registry(outside))
    assert ws.sandbox is False
    tasks = _run(ws, "inline", None)
    assert tasks["peek"].status == "succeeded"
    assert tasks["writes"].status == "succeeded"  # the personal default: DuckDB as it is
    assert (tmp_path / "written.csv").exists()
    assert ws.read("peek").to_pylist() == [{"secret": "globex-secret-7f3a"}]


def test_the_sandbox_setting_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCO_SQL_SANDBOX", "on")
    assert Workspace(str(tmp_path)).sandbox is True
    assert Workspace(str(tmp_path), sandbox=False).sandbox is False


def test_partition_keys_still_reach_a_sandboxed_asset(tmp_path: Path, registry: Registry) -> None:
    sql_asset(
        "daily",
        "select getvariable('partition_key') as day",
        partitions=StaticPartitions(["a", "b"]),
        registry=registry,
    )
    ws = Workspace(str(tmp_path), sandbox=True, registry=registry)
    result = ws.run()
    assert result.status == "succeeded"
    assert sorted(ws.read("daily").column("day").to_pylist()) == ["a", "b"]
