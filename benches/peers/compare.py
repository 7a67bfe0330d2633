# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Arco beside Dagster and JupySQL, on the same machine, in one throwaway environment.

Run through ``run.sh``, which makes that environment; it is never the project's own. Each
figure is the median of several fresh processes (``ROUNDS``), measured inside the process:

* **engine**: 100 trivial Python assets as a chain and as a fan-out, run with each tool's
  default in-process way (``Workspace.run`` with the inline executor; Dagster's
  ``materialize``). Both persist every output (Arco: Parquet and its event log; Dagster: its
  default filesystem I/O manager and an ephemeral instance). *cold* is the first run in the
  process, *warm* a second run of the same definitions (to a fresh root for Arco, so it
  materializes everything again). Figures are per asset.
* **cells**: one notebook cell in IPython: a JupySQL ``%%sql`` over DuckDB (which persists
  nothing) beside an Arco ``%%asset`` cell that materializes (new code each time) and one
  skipped as up to date, on the same small query.

Usage: ``python compare.py`` prints a Markdown table; ``python compare.py WORKLOAD TOOL
SHAPE`` runs one measurement and prints its JSON.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

ROUNDS = 5
N = 100


def _arco_engine(shape: str) -> dict[str, float]:
    import pyarrow as pa

    from arco_nb import Workspace, asset
    from arco_nb.flow.assets import Registry

    registry = Registry()

    @asset(registry=registry, name="a0")
    def first() -> pa.Table:
        return pa.table({"x": [1]})

    for i in range(1, N):
        dep = f"a{i - 1}" if shape == "chain" else "a0"

        def body(**inputs: Any) -> Any:
            return next(iter(inputs.values()))

        asset(body, name=f"a{i}", deps=[dep], registry=registry)
    took = []
    for _ in range(2):
        root = tempfile.mkdtemp()
        started = time.perf_counter()
        result = Workspace(root, registry=registry).run(force=True)
        took.append(time.perf_counter() - started)
        assert result.status == "succeeded", result
    return {"cold": took[0] * 1000 / N, "warm": took[1] * 1000 / N}


def _dagster_engine(shape: str) -> dict[str, float]:
    import dagster as dg

    @dg.asset(name="a0")
    def first() -> int:
        return 1

    def make(i: int, dep: str) -> Any:
        @dg.asset(name=f"a{i}", ins={"up": dg.AssetIn(dep)})
        def body(up: int) -> int:
            return up

        return body

    assets = [first] + [make(i, f"a{i - 1}" if shape == "chain" else "a0") for i in range(1, N)]
    took = []
    for _ in range(2):
        started = time.perf_counter()
        result = dg.materialize(assets)
        took.append(time.perf_counter() - started)
        assert result.success
    return {"cold": took[0] * 1000 / N, "warm": took[1] * 1000 / N}


QUERY = "select x, x * 2 as y from range(10) t(x) where x >= {i}"


def _cells(tool: str) -> dict[str, float]:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    if tool == "jupysql":
        shell.run_cell("import duckdb\nconn = duckdb.connect()")
        shell.run_line_magic("load_ext", "sql")
        shell.run_line_magic("config", "SqlMagic.displaylimit = 5")
        shell.run_line_magic("sql", "conn --alias duck")
        cells = {"sql cell": lambda i: f"%%sql\n{QUERY.format(i=i % 5)}"}
    else:
        shell.run_line_magic("load_ext", "arco")
        shell.run_line_magic("config", f"Arco.root = {tempfile.mkdtemp()!r}")
        cells = {
            "materializing cell": lambda i: f"%%asset small\n{QUERY.format(i=i)}",
            "skipped cell": lambda _: f"%%asset same\n{QUERY.format(i=0)}",
        }
    found = {}
    for name, cell in cells.items():
        for i in range(5):  # warm up: imports and first-use costs
            assert shell.run_cell(cell(i)).success
        took = []
        for i in range(5, 105):
            started = time.perf_counter()
            assert shell.run_cell(cell(i)).success
            took.append(time.perf_counter() - started)
        found[name] = statistics.median(took) * 1000
    return found


def _one(workload: str, tool: str, shape: str) -> dict[str, float]:
    if workload == "engine":
        return _arco_engine(shape) if tool == "arco" else _dagster_engine(shape)
    return _cells(tool)


def _median_of_processes(workload: str, tool: str, shape: str) -> dict[str, float]:
    runs = []
    for _ in range(ROUNDS):
        out = subprocess.run(
            [sys.executable, __file__, workload, tool, shape],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        # The last JSON line: a peer may print more on its way out ("Closing duck").
        lines = [line for line in out.splitlines() if line.startswith("{")]
        runs.append(json.loads(lines[-1]))
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> None:
    import platform

    import dagster

    import arco_nb

    rows = []
    for shape in ("chain", "fan_out"):
        arco = _median_of_processes("engine", "arco", shape)
        dag = _median_of_processes("engine", "dagster", shape)
        for when in ("warm", "cold"):
            rows.append(
                (
                    f"engine overhead per asset, {shape}, {when}",
                    f"{arco[when]:.2f} ms",
                    f"{dag[when]:.2f} ms (Dagster)",
                    f"{dag[when] / arco[when]:.1f} x",
                )
            )
    arco_cells = _median_of_processes("cells", "arco", "-")
    sql = _median_of_processes("cells", "jupysql", "-")["sql cell"]
    for name in ("materializing cell", "skipped cell"):
        rows.append(
            (
                f"`%%asset` {name}",
                f"{arco_cells[name]:.2f} ms",
                f"{sql:.2f} ms (JupySQL `%%sql`)",
                f"{sql / arco_cells[name]:.2f} x",
            )
        )
    print(
        f"arco-nb {arco_nb.__version__}, dagster {dagster.__version__}, "
        f"Python {platform.python_version()}, {ROUNDS} processes each (median)\n"
    )
    print("| what | Arco | peer | peer / Arco |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    if len(sys.argv) == 4:
        print(json.dumps(_one(*sys.argv[1:])))
    else:
        main()
