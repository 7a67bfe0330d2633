# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Auto-compaction: compact a workspace's event log in the background once its inbox holds
``ARCO_AUTO_COMPACT`` uncompacted objects (default 200; 0 turns it off).

Fresh reads open every uncompacted inbox object, so a busy notebook or pipeline that never
compacts makes every ``ws.sql`` and ``ws.runs`` slower. After a run, the workspace asks
:func:`maybe_compact`; if the backlog its last read saw is past the threshold, one thread per
workspace compacts (with its own :class:`EventLog`, so readers' caches are not shared across
threads). The thread is not a daemon: a process finishes its compaction before it exits, and a
process killed meanwhile loses nothing (compaction is crash-safe, ADR 0005).
"""

from __future__ import annotations

import datetime as dt
import threading
import warnings

from arco_nb.catalog.eventlog import CompactionResult, EventLog
from arco_nb.core.errors import one_line

__all__ = ["maybe_compact", "wait_for_compactions"]

_running: dict[str, threading.Thread] = {}
_lock = threading.Lock()


def maybe_compact(events: EventLog, *, threshold: int) -> threading.Thread | None:
    """Start compacting ``events``' workspace in the background if its last read saw at
    least ``threshold`` uncompacted inbox objects (0: never), unless a compaction of that
    workspace is already running in this process. Returns the thread started, if any."""
    if threshold <= 0 or events.backlog < threshold:
        return None
    key = events.store.url
    with _lock:
        running = _running.get(key)
        if running is not None and running.is_alive():
            return None
        thread = threading.Thread(
            target=_compact,
            args=(EventLog(events.store, grace=events.grace),),
            name=f"arco-compact {key}",
        )
        _running[key] = thread
        thread.start()
    events.backlog = 0  # until the next read says otherwise
    return thread


def wait_for_compactions(timeout: float | None = None) -> None:
    """Wait until the background compactions of this process are done."""
    with _lock:
        threads = list(_running.values())
    for thread in threads:
        thread.join(timeout)


def _compact(log: EventLog) -> CompactionResult | None:
    try:
        return log.compact(now=dt.datetime.now(dt.UTC))
    except Exception as exc:  # a background optimisation must not crash
        # A damaged object or storage trouble (reads will say so too), or a bug: one line,
        # not a thread's traceback in the middle of a notebook.
        warnings.warn(f"Background compaction failed: {one_line(exc)}", stacklevel=1)
        return None
