# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Group commit for data files: objects made durable off the writer's thread (ADR 0020).

A task writes its Parquet file atomically but without waiting for the disk
(``durable=False``) and hands the key to a :class:`BackgroundSync`; one thread for the process
``fsync``\\ s the files while the engine goes on to the next task. Whoever records a fact that
names a file (an event-log flush, a catalog commit) first calls :meth:`BackgroundSync.wait`,
which returns once every file handed over so far is on stable storage: the ordering rule of
ADR 0010 (no fact points at data that may be missing) holds after a power cut as before.

Only local disk has a sync step of its own; on other stores a write is durable when it
returns, and :meth:`BackgroundSync.write` is a plain durable write.

The same thread runs best-effort writes nobody waits for (:func:`later`: the hints of where
a numbered log ends, which readers verify), and finishes them when the process exits.
"""

from __future__ import annotations

import atexit
import functools
import os
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from arco_nb.core.storage import ObjectStore

__all__ = ["BackgroundSync", "drain", "later"]


class BackgroundSync:
    """Writes objects now and makes them durable in the background, for one writer (a run).

    A failed sync is sticky: every later :meth:`wait` raises it, so no fact can be recorded
    for data that may not be on disk (the lesson of PostgreSQL's "fsyncgate": a failed
    ``fsync`` is not retried as if the data were still in memory to write).
    """

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._done = threading.Condition()
        self._handed = 0
        self._synced = 0
        self._error: BaseException | None = None

    def write(self, key: str, data: bytes) -> None:
        """Create ``key`` (put-if-absent) and queue it to be made durable."""
        if not self._store.syncs_separately:
            self._store.put_if_absent(key, data)
            return
        self._store.put_if_absent(key, data, durable=False)
        with self._done:
            self._handed += 1
        _worker().put(functools.partial(self._sync, key))

    def wait(self) -> None:
        """Return once everything written so far is durable; raise if a sync failed."""
        with self._done:
            target = self._handed
            while self._synced < target and self._error is None:
                self._done.wait()
            if self._error is not None:
                raise self._error

    def _sync(self, key: str) -> None:  # on the worker thread
        error: BaseException | None = None
        try:
            self._store.sync(key)
        except BaseException as exc:  # handed to whoever waits: this thread cannot report it
            error = exc
        with self._done:
            self._synced += 1
            if error is not None and self._error is None:
                self._error = error
            self._done.notify_all()


def later(task: Callable[[], None]) -> None:
    """Run ``task`` on the background thread, after what was handed to it before; its errors
    are ignored (for best-effort writes only). Pending tasks finish when the process exits."""

    def quietly() -> None:
        try:
            task()
        except Exception:  # best effort by contract: nothing to report it to
            return

    _worker().put(quietly)


_QUEUE: queue.SimpleQueue[Callable[[], None]] | None = None
_PID = 0  # a forked child has the queue but not the thread: it starts its own
_LOCK = threading.Lock()


def _worker() -> queue.SimpleQueue[Callable[[], None]]:
    """The process's one background thread (started on first use; a thread costs about a
    millisecond to start, too much to pay per run or per cell)."""
    global _QUEUE, _PID
    if _QUEUE is None or os.getpid() != _PID:
        with _LOCK:
            if _QUEUE is None or os.getpid() != _PID:
                work: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
                threading.Thread(target=_loop, args=(work,), name="arco-sync", daemon=True).start()
                _QUEUE, _PID = work, os.getpid()
    return _QUEUE


def _loop(work: queue.SimpleQueue[Callable[[], None]]) -> None:
    while True:
        work.get()()


def drain(timeout: float = 10.0) -> bool:
    """Wait until everything handed to the background thread so far has run (at most
    ``timeout`` seconds); whether it all did."""
    if _QUEUE is None or os.getpid() != _PID:
        return True
    done = threading.Event()
    _QUEUE.put(done.set)
    return done.wait(timeout)


atexit.register(drain)
