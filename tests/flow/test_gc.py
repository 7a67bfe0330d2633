# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Garbage collection of data files: what no materialization names goes, nothing else."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from arco_nb import Workspace
from arco_nb.core.ids import _RANDOM_BITS, _encode, new_id
from arco_nb.core.keys import TEMP_MARK
from arco_nb.flow.assets import Registry, asset, sql_asset
from arco_nb.flow.materialize import data_key
from tests.conftest import S3Endpoint

GRACE = dt.timedelta(seconds=2)


@pytest.fixture(params=["local", "s3"])
def lake(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Workspace arguments for a root on local disk or on S3 (moto)."""
    if request.param == "s3":
        endpoint: S3Endpoint = request.getfixturevalue("s3_endpoint")
        root = request.getfixturevalue("s3_root")
        return {"root": root, "storage_options": dict(endpoint.storage_options)}
    return {"root": str(tmp_path / "lake")}


def test_gc_during_a_long_task_never_deletes_what_the_run_acknowledges(
    lake: dict[str, Any], registry: Registry
) -> None:
    """A task computing for longer than the grace period, gc running all the while."""

    @asset(registry=registry)
    def slow() -> pa.Table:
        time.sleep(GRACE.total_seconds() * 1.5)
        return pa.table({"x": [1, 2, 3]})

    sql_asset("after", "select sum(x) as total from slow", registry=registry)
    ws = Workspace(**lake, registry=registry)
    collector = Workspace(**lake)  # another process, as far as caches go
    stop = threading.Event()
    collected: list[int] = []

    def gc_loop() -> None:
        while not stop.is_set():
            collected.append(collector.gc(grace=GRACE).total)

    thread = threading.Thread(target=gc_loop)
    thread.start()
    try:
        result = ws.run()
    finally:
        stop.set()
        thread.join()
    assert result.status == "succeeded"
    assert len(collected) >= 3  # gc really ran while the task computed
    time.sleep(GRACE.total_seconds())
    assert collector.gc(grace=GRACE).total == 0  # everything left is named
    assert ws.read("slow").num_rows == 3
    assert ws.read("after").to_pylist() == [{"total": 6}]


def test_gc_deletes_old_unnamed_data_files_only(ws: Workspace, registry: Registry) -> None:
    sql_asset("kept", "select 1 as x", registry=registry)
    assert ws.run().status == "succeeded"
    two_hours_ago = int((time.time() - 7200) * 1000)  # new_id never goes back in time
    old_orphan = data_key("kept", "", _encode(two_hours_ago << _RANDOM_BITS))
    young_orphan = data_key("kept", "", new_id())
    for key in (old_orphan, young_orphan):
        ws.store.write(key, b"not referenced")
    dry = ws.gc(dry_run=True)
    assert (dry.deleted["data"], dry.dry_run) == (1, True)
    assert dry.kept_young >= 1  # the young orphan (and young snapshot files)
    assert ws.store.exists(old_orphan)
    done = ws.gc()
    assert done.deleted["data"] == 1
    assert not ws.store.exists(old_orphan)
    assert ws.store.exists(young_orphan)
    assert ws.read("kept").to_pylist() == [{"x": 1}]


def test_gc_removes_temp_files_that_killed_writers_left(tmp_path: Path, registry: Registry) -> None:
    sql_asset("kept", "select 1 as x", registry=registry)
    ws = Workspace(str(tmp_path / "lake"), registry=registry)
    assert ws.run().status == "succeeded"
    directory = Path(ws.store.path("data/kept/_"))
    # What a writer killed between writing its temporary file and publishing it leaves.
    old, young = directory / f"{TEMP_MARK}dead", directory / f"{TEMP_MARK}busy"
    for temp in (old, young):
        temp.write_bytes(b"half a parquet file")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    assert ws.gc(dry_run=True).deleted["temp"] == 1
    assert old.exists()
    assert ws.gc().deleted["temp"] == 1
    assert not old.exists()
    assert young.exists()  # perhaps a writer still at work
    assert ws.read("kept").to_pylist() == [{"x": 1}]


def test_gc_on_a_store_without_temp_files(ws: Workspace) -> None:
    assert ws.gc().deleted == {"snapshots": 0, "data": 0, "temp": 0}
