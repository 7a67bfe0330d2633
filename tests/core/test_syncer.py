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
from arco_nb.core.syncer import BackgroundSync


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
