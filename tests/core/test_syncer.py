# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Data files made durable in the background (ADR 0020)."""

from __future__ import annotations

import os
import threading
import time

import pytest

from arco_nb.core import backends
from arco_nb.core.errors import StorageError
from arco_nb.core.storage import ObjectStore
from arco_nb.core.syncer import BackgroundSync, drain, later


def test_wait_returns_only_once_every_file_written_so_far_is_synced(
    local_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real = backends.LocalBackend.sync

    def slow(self: backends.LocalBackend, path: str) -> None:
        time.sleep(0.05)
        real(self, path)
        synced.append(os.path.basename(path))

    monkeypatch.setattr(backends.LocalBackend, "sync", slow)
    syncs = BackgroundSync(ObjectStore(local_root))
    for i in range(4):
        syncs.write(f"data/a/f{i}", b"x")
    assert ObjectStore(local_root).read("data/a/f3") == b"x", "written at once, synced later"
    syncs.wait()
    assert synced == ["f0", "f1", "f2", "f3"]


def test_a_failed_sync_fails_every_later_wait(
    local_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(self: backends.LocalBackend, path: str) -> None:
        raise OSError(5, "Input/output error", path)

    monkeypatch.setattr(backends.LocalBackend, "sync", failing)
    syncs = BackgroundSync(ObjectStore(local_root))
    syncs.write("data/a/f0", b"x")
    with pytest.raises(StorageError, match="f0"):
        syncs.wait()
    monkeypatch.undo()
    syncs.write("data/a/f1", b"x")  # this one syncs, but the lost one is not forgotten
    with pytest.raises(StorageError, match="f0"):
        syncs.wait()


def test_writers_on_many_threads_all_wait_for_their_own_files(local_root: str) -> None:
    syncs = BackgroundSync(ObjectStore(local_root))

    def write(n: int) -> None:
        for i in range(20):
            syncs.write(f"data/t{n}/f{i}", b"x")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    syncs.wait()
    assert len(ObjectStore(local_root).list("data")) == 80


def test_stores_without_a_sync_step_write_durably_at_once(
    memory_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("arco_nb.core.syncer._worker", lambda: pytest.fail("no sync thread"))
    syncs = BackgroundSync(ObjectStore(memory_root))
    syncs.write("data/a/f0", b"x")
    syncs.wait()
    assert ObjectStore(memory_root).read("data/a/f0") == b"x"


def test_later_runs_in_order_ignores_errors_and_drain_waits() -> None:
    done: list[int] = []
    gate = threading.Event()
    later(gate.wait)
    later(lambda: done.append(1))
    later(lambda: 1 / 0)  # best effort: swallowed, the thread goes on
    later(lambda: done.append(2))
    assert not drain(timeout=0.05), "still waiting behind the gate"
    gate.set()
    assert drain()
    assert done == [1, 2]


EXIT_RIGHT_AFTER_A_COMMIT = """
import sys
from arco_nb.catalog.catalog import Catalog
from arco_nb.core.storage import ObjectStore
Catalog(ObjectStore(sys.argv[1])).create_namespace("sales")
"""


def test_a_process_that_exits_right_after_a_commit_leaves_its_hint(local_root: str) -> None:
    """The log's hint is written in the background; the process finishes it as it exits,
    so a run of short-lived commands does not leave readers probing further each time."""
    import subprocess
    import sys

    from arco_nb.catalog.log import HINT_KEY
    from arco_nb.catalog.sequence import read_hint

    for version in (1, 2):
        subprocess.run(
            [
                sys.executable,
                "-c",
                EXIT_RIGHT_AFTER_A_COMMIT.replace("sales", f"ns{version}"),
                local_root,
            ],
            check=True,
        )
        assert read_hint(ObjectStore(local_root), HINT_KEY) == version
