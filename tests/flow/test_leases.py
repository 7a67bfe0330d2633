# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Run leases: a killed run shows as abandoned once its lease runs out; a live one never does.

The lease is 1 s here (``ARCO_RUN_LEASE_S``) instead of 60 s so that the tests wait seconds,
not minutes; the mechanism is the same.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from arco_nb import Workspace
from arco_nb.cli.app import cli
from arco_nb.flow.assets import Registry, asset

KILLED = """
import pathlib, sys, time
import pyarrow as pa
from arco_nb import Workspace
from arco_nb.flow.assets import Registry, asset

registry = Registry()

@asset(registry=registry)
def slow() -> pa.Table:
    pathlib.Path(sys.argv[2]).write_text("started")
    time.sleep(120)
    return pa.table({"x": [1]})

Workspace(sys.argv[1], registry=registry).run()
"""


def _wait_for(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.slow
def test_a_killed_run_is_abandoned_once_its_lease_runs_out(tmp_path: Path) -> None:
    root, marker = str(tmp_path / "lake"), tmp_path / "started"
    env = {**os.environ, "ARCO_RUN_LEASE_S": "1"}
    proc = subprocess.Popen([sys.executable, "-c", KILLED, root, str(marker)], env=env)
    try:
        _wait_for(marker.exists, timeout=60)
        ws = Workspace(root)
        assert [r.status for r in ws.runs()] == ["running"]
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    _wait_for(lambda: [r.status for r in ws.runs()] == ["abandoned"])
    (run,) = ws.runs(status="abandoned")
    assert run.finished_at is None  # nobody recorded an end: it is the lease that ran out
    assert [(t.asset, t.status) for t in ws.tasks(run.run_id)] == [("slow", "abandoned")]
    assert ws.runs(status="running") == []
    listed = CliRunner().invoke(cli, ["--root", root, "runs", "--status", "abandoned", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [r["run_id"] for r in json.loads(listed.output)] == [run.run_id]
    # A later run is unaffected, and the abandoned one stays so.
    registry = Registry()
    asset(registry=registry)(_quick)
    assert Workspace(root, registry=registry).run().status == "succeeded"
    assert sorted(r.status for r in ws.runs()) == ["abandoned", "succeeded"]


def _quick() -> pa.Table:
    return pa.table({"x": [1]})


def test_a_live_run_renews_its_lease_however_long_a_task_takes(
    memory_root: str, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCO_RUN_LEASE_S", "1")

    @asset(registry=registry)
    def long_task() -> pa.Table:
        time.sleep(3.5)
        return pa.table({"x": [1]})

    ws = Workspace(memory_root, registry=registry)
    seen: list[str] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.extend(r.status for r in Workspace(memory_root).runs())
            time.sleep(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        assert ws.run().status == "succeeded"
    finally:
        done.set()
        watcher.join()
    assert "running" in seen
    assert "abandoned" not in seen
    [(beats,)] = ws.sql("select count(*) from arco.events where kind = 'heartbeat'").fetchall()
    assert beats >= 3  # about one per third of the lease
    assert [t.status for t in ws.tasks(ws.runs()[0].run_id)] == ["succeeded"]


def test_abandoned_is_never_recorded() -> None:
    from arco_nb import CorruptObject
    from arco_nb.catalog.events import Event

    for kind in ("run", "task"):
        with pytest.raises(CorruptObject, match="'abandoned' is not a"):
            Event.create(kind, run_id="r1", status="abandoned")
