# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Auto-compaction: runs compact the event log in the background once the inbox backlog
passes ``ARCO_AUTO_COMPACT`` (default 200 objects)."""

from __future__ import annotations

import pytest

from arco_nb import ConfigError, Workspace
from arco_nb.catalog.autocompact import maybe_compact, wait_for_compactions
from arco_nb.catalog.eventlog import INBOX
from arco_nb.core.settings import DEFAULT_AUTO_COMPACT, Settings
from arco_nb.flow.assets import Registry, sql_asset


def _runs_until(ws: Workspace, objects: int) -> int:
    """Run until the inbox has held ``objects`` objects in all; return how many runs."""
    runs = 0
    while len(ws.store.list(INBOX)) < objects:
        assert ws.run(force=True).status == "succeeded"
        runs += 1
    return runs


def test_runs_compact_once_the_backlog_passes_the_default(local_root: str) -> None:
    registry = Registry()
    sql_asset("a", "select 1 as x", registry=registry)
    ws = Workspace(local_root, registry=registry)
    assert ws.settings.auto_compact == DEFAULT_AUTO_COMPACT == 200
    _runs_until(ws, DEFAULT_AUTO_COMPACT // 2)
    wait_for_compactions()
    assert ws.events.manifest().seq == 0, "below the threshold: nothing compacts"
    _runs_until(ws, DEFAULT_AUTO_COMPACT + 10)
    wait_for_compactions()
    manifest = ws.events.manifest()
    assert manifest.seq >= 1
    assert len(manifest.compacted) >= DEFAULT_AUTO_COMPACT
    ws.runs()  # a fresh read: the backlog is what the last compaction left
    assert ws.events.backlog < DEFAULT_AUTO_COMPACT
    assert len(ws.runs(limit=None)) == len({r.run_id for r in ws.runs(limit=None)})


def test_zero_turns_it_off(local_root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCO_AUTO_COMPACT", "0")
    registry = Registry()
    sql_asset("a", "select 1 as x", registry=registry)
    ws = Workspace(local_root, registry=registry)
    _runs_until(ws, DEFAULT_AUTO_COMPACT + 10)
    wait_for_compactions()
    assert ws.events.manifest().seq == 0


@pytest.mark.parametrize("raw", ["-1", "lots", "2.5"])
def test_a_bad_threshold_is_a_config_error(raw: str) -> None:
    with pytest.raises(
        ConfigError, match=f"ARCO_AUTO_COMPACT must be a whole number of at least 0, not '{raw}'"
    ):
        Settings.from_env(environ={"ARCO_AUTO_COMPACT": raw})


def test_one_compaction_per_workspace_at_a_time(
    memory_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from arco_nb.catalog import autocompact

    release = threading.Event()
    real = autocompact._compact
    monkeypatch.setattr(autocompact, "_compact", lambda log: (release.wait(10), real(log)))
    ws = Workspace(memory_root)
    other = Workspace(memory_root, workspace="other")
    ws.events.backlog = other.events.backlog = 5
    first = maybe_compact(ws.events, threshold=5)
    assert first is not None
    assert not first.daemon, "a process finishes its compaction before it exits"
    ws.events.backlog = 5
    assert maybe_compact(ws.events, threshold=5) is None, "one is running for this workspace"
    assert maybe_compact(other.events, threshold=5) is not None, "another workspace's may run"
    release.set()
    wait_for_compactions()
    ws.events.backlog = 4
    assert maybe_compact(ws.events, threshold=5) is None, "below the threshold"
    ws.events.backlog = 5
    again = maybe_compact(ws.events, threshold=5)
    assert again is not None, "the first one is over"
    again.join()


def test_a_failing_background_compaction_is_one_warning(
    memory_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arco_nb import TenantScope
    from arco_nb.catalog import autocompact
    from arco_nb.catalog.eventlog import EventLog

    def broken(self: EventLog, **_: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(EventLog, "compact", broken)
    with pytest.warns(UserWarning, match=r"Background compaction failed: RuntimeError: bug"):
        assert autocompact._compact(EventLog(TenantScope(memory_root).store())) is None


def test_unreadable_inbox_objects_do_not_count_towards_the_backlog(memory_root: str) -> None:
    """Compaction leaves them in the inbox for a person (or doctor): counting them would start
    a useless compaction after every run."""
    ws = Workspace(memory_root, registry=Registry())
    for i in range(DEFAULT_AUTO_COMPACT + 10):
        ws.store.write(f"{INBOX}/2024-01-01/junk-{i}.json", b"{not json")
    with pytest.warns(UserWarning, match="Skipping unreadable event object"):
        ws.events.snapshot()
    assert ws.events.backlog == 0
    assert maybe_compact(ws.events, threshold=DEFAULT_AUTO_COMPACT) is None
    with pytest.warns(UserWarning, match="Skipping unreadable event object"):
        ws.events.snapshot()  # known now: still not counted
    assert ws.events.backlog == 0
