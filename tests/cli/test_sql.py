# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``arco sql`` over asset tables, in a process of its own (no definitions compiled there)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from tests.cli.conftest import run_arco


def test_arco_sql_reads_assets_by_name(
    arco: Callable[..., Result], pipeline: Path, root: str
) -> None:
    assert arco("run", str(pipeline)).exit_code == 0
    as_json = run_arco("--root", root, "sql", "select * from numbers order by n", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == [{"n": 1}, {"n": 2}, {"n": 3}]
    query = "select partition, region, n from regional order by partition"
    as_csv = run_arco("--root", root, "sql", query, "--csv")
    assert as_csv.stdout == "partition,region,n\neu,eu,2\nus,us,2\n"
    table = run_arco("--root", root, "sql", "select total from total")
    assert table.returncode == 0, table.stderr
    assert "6" in table.stdout
    mixed = run_arco(
        "--root",
        root,
        "sql",
        "select m.rows, t.total from arco.materializations m, total t where m.asset = 'total'",
        "--json",
    )
    assert json.loads(mixed.stdout) == [{"rows": 1, "total": 6}]


def test_arco_sql_unknown_asset_is_one_line_with_close_names(
    arco: Callable[..., Result], pipeline: Path, root: str
) -> None:
    assert arco("run", str(pipeline)).exit_code == 0
    result = run_arco("--root", root, "sql", "select * from numbrs")
    assert result.returncode == 2
    assert "No table or asset named 'numbrs' in this workspace. Did you mean 'numbers'?" in (
        result.stderr + result.stdout
    )
    assert "Traceback" not in result.stderr + result.stdout
