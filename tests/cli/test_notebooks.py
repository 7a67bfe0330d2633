# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``arco run`` on notebooks (in a real kernel), and its parity with an nbval run."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from arco_nb import Workspace
from tests.cli.conftest import run_arco

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _notebook(path: Path, *cells: str, raises: int | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    if raises is not None:
        nb.cells[raises].metadata["tags"] = ["raises-exception"]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def test_a_notebook_runs_headless(tmp_path: Path) -> None:
    root = str(tmp_path / "lake")
    result = run_arco("--root", root, "run", str(NOTEBOOKS / "01_quickstart.ipynb"), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert [r["status"] for r in summary["runs"]] == ["succeeded"] * 3
    ws = Workspace(root, workspace="tutorial-01")  # the tutorial's own (%arco use)
    assert ws.read("revenue_by_customer").num_rows == 2
    again = run_arco("--root", root, "run", str(NOTEBOOKS / "01_quickstart.ipynb"), "--json")
    assert json.loads(again.stdout)["runs"] == [], "a second replay is all up to date"
    said = run_arco("--root", root, "run", str(NOTEBOOKS / "01_quickstart.ipynb"))
    assert said.returncode == 0, said.stderr
    assert said.stdout == "01_quickstart.ipynb: everything is up to date (3 assets), nothing ran.\n"
    # The kernel process's own chatter (ipykernel's TCP warning) is not the user's business.
    assert "without encryption" not in result.stderr + again.stderr
    assert "IPKernelApp" not in result.stderr + again.stderr


def test_a_replay_with_nothing_to_run_is_one_line(tmp_path: Path) -> None:
    nb = _notebook(
        tmp_path / "once.ipynb",
        "%load_ext arco",
        "%%asset one\nselect 1 as x",
        "%%asset --description 'defined, not run' later --no-run\nselect x + 1 as y from one",
        "%%asset one\nselect 1 as x",  # the same cell again: up to date, no run
    )
    root = str(tmp_path / "lake")
    first = run_arco("--root", root, "run", str(nb))
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "Runs of once.ipynb"
    assert lines[-1] == "1 run"
    assert "  succeeded  " in lines[-2]
    again = run_arco("--root", root, "run", str(nb))
    assert again.returncode == 0, again.stderr
    assert again.stdout == (
        "once.ipynb: everything is up to date (1 asset; 1 asset defined with --no-run), "
        "nothing ran.\n"
    )
    as_json = run_arco("--root", root, "run", str(nb), "--json")
    assert json.loads(as_json.stdout) == {"notebook": str(nb), "runs": [], "error": None}
    plain = _notebook(tmp_path / "plain.ipynb", "x = 1")
    assert run_arco("--root", root, "run", str(plain)).stdout == (
        "plain.ipynb: no %%asset cells, nothing ran.\n"
    )
    defined = _notebook(tmp_path / "defined.ipynb", "%load_ext arco", "%%asset d --no-run\n1")
    assert run_arco("--root", root, "run", str(defined)).stdout == (
        "defined.ipynb: nothing ran (1 asset defined with --no-run).\n"
    )


def test_a_kernel_that_dies_is_one_clear_error(tmp_path: Path) -> None:
    nb = _notebook(
        tmp_path / "dies.ipynb",
        "import os, signal, sys\nprint('last words', file=sys.__stderr__, flush=True)",
        "os.kill(os.getpid(), signal.SIGKILL)",
    )
    result = run_arco("--root", str(tmp_path / "lake"), "run", str(nb))
    assert result.returncode == 2, result.stderr
    assert "the notebook's kernel died" in result.stderr
    assert "last words" in result.stderr, "what the kernel printed last is quoted"
    assert "Traceback" not in result.stderr


def test_selection_and_partitions_become_a_last_cell(tmp_path: Path) -> None:
    nb = _notebook(
        tmp_path / "days.ipynb",
        "%load_ext arco",
        "%%asset days --partitions daily:2024-01-01 --no-run\n"
        "select getvariable('partition_key') as day",
    )
    root = str(tmp_path / "lake")
    result = run_arco(
        "--root", root, "run", str(nb), "--select", "days", "--partitions", "2024-01-01..2024-01-03"
    )
    assert result.returncode == 0, result.stderr
    assert Workspace(root).read("days").num_rows == 3


def test_a_failing_cell_exits_1_with_the_users_traceback(tmp_path: Path) -> None:
    nb = _notebook(
        tmp_path / "bad.ipynb",
        "%load_ext arco",
        "%%asset fine\nselect 1 as x",
        "%%asset boom --python\nraise ValueError('no data today')",
        "%%asset never\nselect 2 as x",
    )
    root = str(tmp_path / "lake")
    result = run_arco("--root", root, "run", str(nb))
    assert result.returncode == 1
    assert "cell 3 failed" in result.stderr
    assert "ValueError: no data today" in result.stderr
    assert "UsageError: Run" in result.stderr
    plain = _notebook(tmp_path / "plain.ipynb", "x = 1", "1 / 0")
    divided = run_arco("--root", root, "run", str(plain))
    assert divided.returncode == 1
    assert "ZeroDivisionError" in divided.stderr
    assert "1 / 0" in divided.stderr, "the traceback shows the failing line"
    assert divided.stdout == "plain.ipynb: no runs started.\n", "not 'up to date': it failed"
    ws = Workspace(root)
    assert ws.read("fine").num_rows == 1, "what ran before is kept"
    assert [r.status for r in ws.runs()] == ["failed", "succeeded"]
    tagged = _notebook(
        tmp_path / "tagged.ipynb",
        "%load_ext arco",
        "%%asset boom --python\nraise ValueError('expected')",
        "%%asset after\nselect 3 as x",
        raises=1,
    )
    assert run_arco("--root", root, "run", str(tagged)).returncode == 1, "its run still failed"


def test_bad_notebook_targets(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    result = run_arco("--root", str(tmp_path / "lake"), "run", str(broken))
    assert result.returncode == 2
    assert "is not a readable notebook" in result.stderr
    fine = _notebook(tmp_path / "fine.ipynb", "%load_ext arco", "%%asset one\nselect 1 as x")
    unknown = run_arco("--root", str(tmp_path / "lake"), "run", str(fine), "--select", "nope")
    assert unknown.returncode == 2
    assert "Unknown asset 'nope'" in unknown.stderr
    other = tmp_path / "data.csv"
    other.write_text("a,b")
    assert "give a .ipynb notebook or a .py module" in run_arco("run", str(other)).stderr


def _fingerprint(root: str) -> dict[str, object]:
    ws = Workspace(root, workspace="tutorial-01")  # where the quickstart works
    ws.restore()
    latest = ws.latest_materializations()
    data = {}
    for (asset, partition), last in sorted(latest.items()):
        raw = ws.store.read(f"data/{asset}/{partition or '_'}/{last.materialization_id}.parquet")
        data[asset] = hashlib.sha256(raw).hexdigest()
    state = ws.catalog.state
    return {
        "plan_ids": [r.plan_id for r in reversed(ws.runs())],
        "data": data,
        "assets": sorted((a.name, a.kind, a.code_version, a.deps) for a in state.assets.values()),
        "tables": sorted((k, t.columns) for k, t in state.tables.items()),
    }


@pytest.mark.slow
def test_parity_of_nbval_and_arco_run(tmp_path: Path) -> None:
    notebook = NOTEBOOKS / "01_quickstart.ipynb"
    interactive, headless = str(tmp_path / "interactive"), str(tmp_path / "headless")
    nbval = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cov",
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            str(notebook),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "ARCO_ROOT": interactive},
        timeout=300,
        check=False,
    )
    assert nbval.returncode == 0, nbval.stdout[-2000:]
    replay = run_arco("--root", headless, "run", str(notebook))
    assert replay.returncode == 0, replay.stderr
    a, b = _fingerprint(interactive), _fingerprint(headless)
    assert len(a["plan_ids"]) == 3  # type: ignore[arg-type]
    assert a == b


def _interrupted(root: str, target: Path, marker: Path) -> str:
    """Run ``arco run target``, press Ctrl-C once the asset has started; return its stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "arco_nb.cli", "--root", root, "run", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Cancelled" in err
    return err


@pytest.mark.slow
def test_ctrl_c_cancels_a_module_run(tmp_path: Path) -> None:
    module = tmp_path / "slow.py"
    marker = tmp_path / "started"
    module.write_text(
        "import time, pathlib\nimport arco\nimport pyarrow as pa\n\n\n@arco.asset\n"
        "def slow() -> pa.Table:\n"
        f"    pathlib.Path({str(marker)!r}).write_text('x')\n"
        "    time.sleep(60)\n"
        "    return pa.table({'x': [1]})\n"
    )
    root = str(tmp_path / "lake")
    _interrupted(root, module, marker)
    ws = Workspace(root)
    assert [r.status for r in ws.runs()] == ["cancelled"]
    tasks = ws.tasks(ws.runs()[0].run_id)
    assert [(t.asset, t.status) for t in tasks] == [("slow", "failed")], "no task left running"
    assert tasks[0].error == "cancelled: the run was interrupted"


@pytest.mark.slow
def test_ctrl_c_cancels_a_notebook_run(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    nb = _notebook(
        tmp_path / "slow.ipynb",
        "%load_ext arco",
        "%%asset slow --python\nimport time, pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text('x')\ntime.sleep(60)\n1",
    )
    root = str(tmp_path / "lake")
    err = _interrupted(root, nb, marker)
    assert "Traceback" not in err
    assert [r.status for r in Workspace(root).runs()] == ["cancelled"]


OTHER_PROCESS = """
import sys, time
import pyarrow as pa
from arco_nb import Workspace
from arco_nb.flow.assets import Registry, asset

registry = Registry()

@asset(registry=registry)
def someone_elses() -> pa.Table:
    raise ValueError("not this command's failure")

ws = Workspace(sys.argv[1], registry=registry)
while True:
    ws.run(force=True)
    print("ran", flush=True)
    time.sleep(0.2)
"""


def test_a_notebook_run_counts_only_its_own_runs(tmp_path: Path) -> None:
    """Another process fails runs on the same workspace while the notebook runs: the
    summary and the exit code are the notebook's alone."""
    nb = _notebook(
        tmp_path / "mine.ipynb",
        "%load_ext arco",
        "%%asset mine\nselect 1 as x",
        "import time\ntime.sleep(1.5)",
        "%%asset also_mine\nselect x + 1 as y from mine",
    )
    root = str(tmp_path / "lake")
    other = subprocess.Popen(
        [sys.executable, "-c", OTHER_PROCESS, root],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None
        assert other.stdout.readline() == "ran\n"  # it is failing runs before we start
        result = run_arco("--root", root, "run", str(nb), "--json")
    finally:
        other.kill()
        other.wait()
        if other.stdout is not None:
            other.stdout.close()
    assert result.returncode == 0, result.stderr
    runs = json.loads(result.stdout)["runs"]
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"]
    assert [r["materialized"] for r in runs] == [1, 1]
    foreign = Workspace(root).runs(status="failed")
    assert len(foreign) >= 3  # the other process really ran meanwhile
    assert not {r.run_id for r in foreign} & {r["run_id"] for r in runs}
