# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Python cells on Dask: a cell's function travels as its source and the notebook names it
uses, never as a closure over the whole notebook namespace (which holds the shell)."""

from __future__ import annotations

import pickle
import threading
from pathlib import Path
from typing import Any

import pytest

from arco_nb import Workspace
from arco_nb.flow.cell_functions import CellFunction, SourceFunction
from tests.notebook.conftest import TestingShell


def test_a_cell_function_pickles_with_only_the_names_it_uses() -> None:
    import cloudpickle

    namespace = {"FACTOR": 3, "lock": threading.Lock(), "In": ["x"], "_": object()}
    fn = CellFunction("tripled", "base * FACTOR", params=("base",), namespace=namespace)
    with pytest.raises(TypeError):
        pickle.dumps(namespace)  # what a closure over the namespace would have to ship
    again = cloudpickle.loads(cloudpickle.dumps(fn))
    assert again(base=2) == 6
    assert again.namespace == {"FACTOR": 3}
    assert str(again.__signature__) == "(*, base)"


def test_a_restored_function_pickles_and_builds_on_first_call() -> None:
    import cloudpickle

    code = "import math\n\n@asset\ndef rooted(n: int) -> float:\n    return math.sqrt(n) + BIAS\n"
    fn = SourceFunction(
        "rooted", code, function="rooted", namespace={"BIAS": 1, "lock": threading.Lock()}
    )
    again = cloudpickle.loads(cloudpickle.dumps(fn))
    assert again(n=9) == 4.0
    assert str(again.__signature__) == "(*, n: 'int')"


@pytest.fixture
def dask_shell(tmp_path: Path, dask_client: Any, monkeypatch: pytest.MonkeyPatch) -> TestingShell:
    monkeypatch.setenv("ARCO_DASK_SCHEDULER", dask_client.scheduler.address)
    shell = TestingShell.instance()
    shell.run_cell("%load_ext arco")
    shell.run_cell(f"%config Arco.root = {str(tmp_path / 'lake')!r}")
    shell.run_cell("%config Arco.executor = 'dask'")
    yield shell
    shell.run_cell("%config Arco.executor = 'inline'")
    shell.run_cell("%unload_ext arco")
    shell.extension_manager.loaded.discard("arco")
    for name in list(shell.user_ns):
        if not name.startswith("_") and name not in shell.user_ns_hidden:
            del shell.user_ns[name]


def test_a_python_cell_runs_on_dask_workers(dask_shell: TestingShell, tmp_path: Path) -> None:
    """The cell calls a helper defined in another cell and reads a notebook constant; the
    worker processes have neither, nor the shell."""
    dask_shell.run_cell("import polars as pl\nFACTOR = 3")
    dask_shell.run_cell("def tripled(df):\n    return df.with_columns(pl.col('x') * FACTOR)")
    dask_shell.run_cell("%%asset base\nselect 1 as x union all select 2")
    dask_shell.run_cell("%%asset scaled --deps base\ntripled(base).sort('x')")
    ws = Workspace(str(tmp_path / "lake"))
    assert ws.read("scaled").to_pydict() == {"x": [3, 6]}
    succeeded = ws.sql("select count(*) from arco.runs where status = 'succeeded'").fetchall()
    assert succeeded == [(2,)]


def test_a_cell_using_a_value_that_cannot_travel_fails_naming_it(
    dask_shell: TestingShell, tmp_path: Path
) -> None:
    from IPython.core.error import UsageError

    dask_shell.run_cell("import threading\nLOCK = threading.Lock()")
    dask_shell.run_cell("%%asset base\nselect 1 as x")
    with pytest.raises(UsageError, match="locked failed"):
        dask_shell.run_cell("%%asset locked --deps base\nwith LOCK:\n    out = base\nout")
    ws = Workspace(str(tmp_path / "lake"))
    [(error,)] = ws.sql(
        "select error from arco.task_runs where asset = 'locked' and status = 'failed'"
    ).fetchall()
    assert error.startswith("locked cannot run on Dask workers: it uses notebook values that")
    assert "LOCK (lock: cannot pickle" in error
    assert "executor='inline'" in error
