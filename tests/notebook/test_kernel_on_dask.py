# SPDX-License-Identifier: Apache-2.0 OR MIT
"""A notebook in a real kernel runs its cells on a Dask cluster of separate processes (a
``dask scheduler`` and a ``dask worker``) against an S3 root (moto on 127.0.0.1) that the
notebook chose with ``%arco use ... --storage-option``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from arco_nb import Workspace
from tests.conftest import S3Endpoint

DASK = str(Path(sys.executable).with_name("dask"))


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Any]:
    """A scheduler and one worker, each its own process, and a client of them."""
    distributed = pytest.importorskip("distributed")
    address_file = tmp_path / "scheduler.json"
    local = ["--host", "127.0.0.1", "--no-dashboard"]
    procs = [
        _start(
            [DASK, "scheduler", *local, "--port", "0", "--scheduler-file", str(address_file)],
            tmp_path / "scheduler.log",
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not address_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        procs.append(
            _start(
                [DASK, "worker", *local, "--scheduler-file", str(address_file), "--nthreads", "1"],
                tmp_path / "worker.log",
            )
        )
        client = distributed.Client(scheduler_file=str(address_file), timeout=60)
        client.wait_for_workers(1, timeout=60)
        yield client
        client.close()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


@pytest.mark.slow
def test_a_notebook_runs_its_python_cells_on_a_dask_cluster_over_s3(
    cluster: Any, s3_endpoint: S3Endpoint, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import nbformat
    from nbclient import NotebookClient

    root = s3_endpoint.url(f"dask-{uuid.uuid4().hex}")
    options = {"endpoint_url": s3_endpoint.endpoint_url, "key": "testing", "secret": "testing"}
    use = " ".join(f"--storage-option {k}={v}" for k, v in options.items())
    cells = [
        "%load_ext arco",
        f"%arco use {root} {use}",
        "%config Arco.executor = 'dask'",
        "import os\nimport polars as pl\nFACTOR = 10\n\n"
        "def scaled(df):\n    return df.with_columns(pl.col('x') * FACTOR)",
        "%%asset base\nselect * from range(3) t(x)",
        "%%asset big --deps base\nscaled(base).with_columns(pl.lit(os.getpid()).alias('pid'))",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    monkeypatch.setenv("ARCO_DASK_SCHEDULER", cluster.scheduler.address)
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()

    ws = Workspace(root, storage_options=options)
    big = ws.read("big").to_pydict()
    assert big["x"] == [0, 10, 20]
    worker_pids = set(cluster.run(os.getpid).values())
    assert set(big["pid"]) <= worker_pids, "computed in the worker process, not the kernel"
    assert [r.status for r in ws.runs()] == ["succeeded", "succeeded"]
