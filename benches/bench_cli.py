# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Command-line start-up (targets and figures in docs/performance.md): wall time of a fresh
``arco`` process, as a user would see it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from arco_nb import Workspace
from arco_nb.catalog.operations import DefineAsset
from arco_nb.flow.assets import Registry, sql_asset


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    """Bytecode, as an installed wheel has it (this checkout may run with
    PYTHONDONTWRITEBYTECODE, which would make every start compile Arco's sources)."""
    import compileall

    import arco_nb

    compileall.compile_dir(Path(arco_nb.__file__).parent, quiet=1)


def _arco(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "arco_nb.cli", *args], check=True, capture_output=True)


def test_arco_help(benchmark: Any) -> None:
    benchmark.pedantic(_arco, args=("--help",), rounds=10, iterations=1, warmup_rounds=1)


def test_arco_assets_on_1000_assets(benchmark: Any, tmp_path: Path) -> None:
    root = str(tmp_path / "lake")
    registry = Registry()
    ws = Workspace(root, registry=registry)
    sql_asset("base", "select 1 as x", registry=registry)
    for i in range(999):
        sql_asset(f"a{i:04d}", f"select x + {i} as x from base", registry=registry)
    ws.catalog.commit([DefineAsset(s.to_record()) for s in registry])
    ws.run()
    ws.compact()
    benchmark.pedantic(
        _arco, args=("--root", root, "assets"), rounds=5, iterations=1, warmup_rounds=1
    )
