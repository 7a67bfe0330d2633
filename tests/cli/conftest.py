# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Fixtures for the command line: click's runner in this process, and real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from arco_nb.cli.app import cli
from arco_nb.flow.assets import default_registry

PIPELINE = """
import arco
import polars as pl


@arco.asset(tags=["demo"])
def numbers() -> pl.DataFrame:
    return pl.DataFrame({"n": [1, 2, 3]})


arco.sql_asset("total", "select sum(n)::BIGINT as total from numbers")


@arco.asset(partitions="static:eu,us")
def regional(partition_key: str) -> pl.DataFrame:
    return pl.DataFrame({"region": [partition_key], "n": [len(partition_key)]})
"""

FAILING = """
import arco
import pyarrow as pa


@arco.asset
def ok() -> pa.Table:
    return pa.table({"x": [1]})


@arco.asset
def broken(ok: pa.Table) -> pa.Table:
    raise ValueError("the feed is down")
"""


@pytest.fixture
def root(tmp_path: Path) -> str:
    return str(tmp_path / "lake")


@pytest.fixture
def pipeline(tmp_path: Path) -> Path:
    path = tmp_path / "pipeline.py"
    path.write_text(PIPELINE)
    return path


@pytest.fixture
def failing(tmp_path: Path) -> Path:
    path = tmp_path / "failing.py"
    path.write_text(FAILING)
    return path


@pytest.fixture
def arco(root: str) -> Callable[..., Result]:
    """``arco --root ROOT ...`` through click's runner, in this process."""
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        default_registry.clear()  # each invocation is a fresh process, as far as assets go
        return runner.invoke(cli, ["--root", root, *args], catch_exceptions=False)

    return invoke


def run_arco(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """``arco ...`` as a real subprocess (``python -m arco_nb.cli``), without ``drop`` vars."""
    base = {k: v for k, v in os.environ.items() if k not in drop}
    return subprocess.run(
        [sys.executable, "-m", "arco_nb.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**base, **(env or {})},
        timeout=300,
        check=False,
    )
