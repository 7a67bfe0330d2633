# SPDX-License-Identifier: Apache-2.0 OR MIT
"""What the SQL sandbox costs: metadata SQL over 1,000 runs, sandboxed and not.

The unsandboxed variant is the code path before the sandbox (the same views on a plain DuckDB
connection, no statement check), kept here only to measure the difference; figures are in
docs/performance.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pytest

from arco_nb import Workspace
from arco_nb.catalog.sql import MetadataSQL
from arco_nb.flow.assets import Registry, sql_asset

RUNS = 1_000
QUERIES = {
    "runs_by_status": "select status, count(*) from arco.runs group by status order by status",
    "last_10_runs": "select run_id, status, started_at from arco.runs "
    "order by started_at desc limit 10",
    "tasks_join_runs": "select r.status, count(*) from arco.task_runs t "
    "join arco.runs r using (run_id) group by all",
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """1,000 runs of a two-asset pipeline: 900 compacted, the last 100 still in the inbox."""
    root = tmp_path_factory.mktemp("sandbox-bench")
    registry = Registry()
    ws = Workspace(str(root), grace=dt.timedelta(0), registry=registry)
    sql_asset("numbers", "select * from range(10) t(x)", registry=registry)
    sql_asset("evens", "select x from numbers where x % 2 = 0", registry=registry)
    for i in range(RUNS):
        ws.run(force=True)
        if i == RUNS - 101:
            ws.compact()
    assert ws.sql("select count(*) from arco.runs").fetchall() == [(RUNS,)]
    return ws


def _unsandboxed(ws: Workspace) -> Any:
    """Today's code before the sandbox: the same views, a plain connection, no check."""
    metadata = MetadataSQL(ws.catalog, ws.events)
    metadata.con.close()
    metadata.con = duckdb.connect()
    metadata.con.execute("CREATE SCHEMA arco")

    def run(query: str) -> Any:
        with metadata._lock:
            metadata.refresh()
            return metadata.con.from_arrow(metadata.con.sql(query).to_arrow_table())

    return run


@pytest.mark.parametrize("query", sorted(QUERIES))
@pytest.mark.parametrize("mode", ["sandboxed", "unsandboxed"])
def test_metadata_sql_over_1000_runs(
    benchmark: Any, workspace: Workspace, mode: str, query: str
) -> None:
    sql = QUERIES[query]
    run = workspace.sql if mode == "sandboxed" else _unsandboxed(workspace)
    expected = workspace.sql(sql).fetchall()
    assert run(sql).fetchall() == expected
    benchmark(lambda: run(sql).fetchall())


@pytest.mark.parametrize("query", sorted(QUERIES))
def test_statement_check_alone(benchmark: Any, query: str) -> None:
    """The parser-based check every sandboxed query pays before it runs."""
    from arco_nb.core.sandbox import check_read_only, sandboxed_connection

    con = sandboxed_connection()
    assert benchmark(check_read_only, con, QUERIES[query], where="bench") == 1
