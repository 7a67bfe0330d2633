# SPDX-License-Identifier: Apache-2.0 OR MIT
"""A writer of the soak test (``tests/test_soak.py``), which kills it with SIGKILL at random.

``python tests/soak_worker.py pipeline NAME ROOT DIR`` redefines its own assets the way a
``%%asset`` cell does (new code each time) and runs them with the asset ``base`` that every
pipeline worker defines identically. ``python tests/soak_worker.py maintain NAME ROOT DIR``
compacts the event log and collects garbage with short grace periods.

Every operation that returned is appended to ``DIR/NAME.jsonl`` as one JSON line (an
acknowledged write); so is any exception, which the test treats as a failure. A worker stops
after the iteration in which ``DIR/stop`` appears. Settings are Arco's defaults but for the
grace periods, which the test shortens to make garbage collection race with the writers.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import pyarrow as pa

from arco_nb import Workspace
from arco_nb.flow.assets import Registry, asset, sql_asset
from arco_nb.flow.recorder import DEFAULT_LINGER

COMPACTION_GRACE = dt.timedelta(seconds=2)
GC_GRACE = dt.timedelta(seconds=5)


def _acks(path: Path) -> Any:
    f = path.open("a", encoding="utf-8")

    def ack(**fields: Any) -> None:
        f.write(json.dumps(fields) + "\n")
        f.flush()
        os.fsync(f.fileno())

    return ack


def define_slow(name: str, registry: Registry, marker: Path) -> None:
    """A Python asset that runs in every run and says when it is under way: the test's cue
    that a run is recorded as running (its start is written within the linger, ADR 0022)."""

    @asset(name=f"{name}_slow", deps=[f"{name}_a"], registry=registry)
    def slow(**upstream: object) -> pa.Table:
        time.sleep(2 * DEFAULT_LINGER)
        marker.write_text(str(time.time_ns()))
        time.sleep(0.4)
        return pa.table({"x": [len(upstream)]})


def pipeline(name: str, ws: Workspace, registry: Registry, ack: Any) -> None:
    sql_asset("base", "select range as x from range(3)", registry=registry)
    stamp = time.time_ns()  # grows across restarts: the newest definition has the largest
    sql_asset(f"{name}_a", f"select x, {stamp} as v from base", registry=registry)
    sql_asset(f"{name}_b", f"select sum(x) as s, max(v) as v from {name}_a", registry=registry)
    if ws.define_all([registry.get(f"{name}_a"), registry.get(f"{name}_b")]):
        ack(op="define", asset=f"{name}_a", stamp=stamp)
    result = ws.run()
    mids = {a: t.materialization_id for (a, _), t in result.state.tasks.items()}
    ack(op="run", run_id=result.run_id, status=result.status, materializations=mids)


def maintain(ws: Workspace, ack: Any) -> None:
    compacted = ws.compact()
    ack(op="compact", seq=compacted.seq)
    collected = ws.gc(grace=GC_GRACE)
    ack(op="gc", deleted=collected.deleted)
    time.sleep(0.3)


def main(mode: str, name: str, root: str, folder: str) -> None:
    out = Path(folder)
    ack = _acks(out / f"{name}.jsonl")
    registry = Registry()
    if mode == "pipeline":
        define_slow(name, registry, out / f"{name}.in-run")
    ws = Workspace(root, registry=registry, grace=COMPACTION_GRACE)
    print("READY", flush=True)
    while not (out / "stop").exists():
        try:
            if mode == "pipeline":
                pipeline(name, ws, registry, ack)
            else:
                maintain(ws, ack)
        except Exception as exc:
            ack(op="error", error=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc())
            time.sleep(0.2)


if __name__ == "__main__":
    main(*sys.argv[1:5])
