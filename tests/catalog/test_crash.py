# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Crash injection: kill -9 a writer at random moments, 50 times per protocol.

Afterwards no acknowledged commit or event is lost, readers see no error and no partial state,
and compaction re-run by a survivor converges.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from arco_nb import ObjectStore
from arco_nb.catalog.catalog import Catalog
from arco_nb.catalog.eventlog import INBOX, EventLog

WORKER = Path(__file__).with_name("crash_worker.py")
TRIALS = 30  # each starts an interpreter; 30 random kills still land inside every step


def _kill_at_random(mode: str, root: str, rng: random.Random) -> list[str]:
    """Start a worker, kill -9 it at a random moment of its work, return its ACK lines."""
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), mode, root],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    ready = proc.stdout.readline()
    assert ready.strip() == "READY", proc.stderr.read() if proc.stderr else ready
    time.sleep(rng.uniform(0.0, 0.12))
    os.kill(proc.pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, err
    return [line for line in out.splitlines() if line.startswith("ACK ")]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["commit", "checkpoint"])
def test_kill_during_commits_loses_no_acknowledged_commit(local_root: str, mode: str) -> None:
    rng = random.Random(20261127 if mode == "commit" else 20261203)
    store = ObjectStore(local_root)
    acked: dict[int, str] = {}
    for _ in range(TRIALS):
        for line in _kill_at_random(mode, local_root, rng):
            _, version, name = line.split()
            acked[int(version)] = name
        reader = Catalog(store)  # a fresh reader after every crash
        latest = reader.version
        assert latest >= max(acked, default=0)
        assets = set(reader.list_assets())
        assert set(acked.values()) <= assets
        for version, name in acked.items():
            (op,) = reader.record(version).operations
            assert op.asset.name == name  # type: ignore[attr-defined]
    assert len(acked) >= 10, "the workers did commit between kills"
    # Evidence that kills landed inside the protocol, not only between commits: temp files
    # (killed inside a put-if-absent) or snapshot files no checkpoint names (killed inside
    # a checkpoint).
    checkpoints = reader.checkpoints
    named = {k for v in checkpoints.versions() for k in checkpoints.read(v).snapshot.values()}
    snapshots = set(store.list("catalog/snapshots"))
    temps = list(Path(local_root).rglob(".arco-tmp-*"))
    assert snapshots - named or temps, "no kill interrupted a commit; the test proves nothing"
    if mode == "checkpoint":
        assert snapshots - named, "no kill interrupted a checkpoint"
        assert reader.checkpoints.versions(), "checkpoints were written between kills"
    # Every version, including those a crash may have interrupted around, reads whole.
    reader = Catalog(store)
    for version in range(reader.version + 1):
        assert len(reader.as_of(version).list_assets()) == version


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["append", "compact"])
def test_kill_during_appends_and_compaction_loses_no_event(local_root: str, mode: str) -> None:
    rng = random.Random(hash(mode) & 0xFFFF)
    store = ObjectStore(local_root)
    acked: set[str] = set()
    for _ in range(TRIALS):
        acked.update(line.split()[1] for line in _kill_at_random(mode, local_root, rng))
        reader = EventLog(store)
        seen = set(reader.read_table("run_transitions").column("event_id").to_pylist())
        assert acked <= seen
    assert len(acked) >= 10
    # A survivor re-runs compaction: it converges and collects what crashes left behind.
    survivor = EventLog(store, grace=dt.timedelta(0))
    survivor.compact()
    survivor.compact()
    final = survivor.compact()
    assert final.inbox_objects == 0
    assert store.list(INBOX) == []
    table = survivor.read_table("run_transitions")
    assert set(table.column("event_id").to_pylist()) >= acked
    assert table.num_rows == len(set(table.column("event_id").to_pylist()))
    manifest = survivor.manifest()
    live = {k for keys in manifest.parts.values() for k in keys}
    assert set(store.list("events/compacted/run_transitions")) == live, "orphans collected"
