# SPDX-License-Identifier: Apache-2.0 OR MIT
"""A run's event recorder: numbers its events, checks each transition, group-commits them.

Events are appended as one inbox object per *group*, not per event: a run state change flushes
at once; everything else waits at most ``linger`` seconds (a timer flushes it even while user
code runs), so many fast tasks share one object. ``docs/adr/0010-event-group-commit.md``.
"""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING, Any

from arco_nb.catalog.events import Event
from arco_nb.flow.state import RunState

if TYPE_CHECKING:
    from arco_nb.catalog.eventlog import EventLog

__all__ = ["DEFAULT_LINGER", "Recorder"]

DEFAULT_LINGER = 0.1


class Recorder:
    """Appends a run's events and keeps the live state in step (thread-safe)."""

    def __init__(self, events: EventLog, run_id: str, *, linger: float = DEFAULT_LINGER) -> None:
        self.events = events
        self.state = RunState(run_id)
        self.linger = linger
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._batch: list[Event] = []
        self._timer: threading.Timer | None = None

    def emit(self, kind: str, asset: str = "", partition: str = "", **payload: Any) -> None:
        """Record one event; run state changes are written before this returns."""
        with self._lock:
            payload["seq"] = next(self._seq)  # the run's own order, whatever the clocks say
            event = Event.create(
                kind, run_id=self.state.run_id, asset=asset, partition=partition, **payload
            )
            self.state.apply(event)  # raises InvalidTransition before anything is recorded
            self._batch.append(event)
            if kind == "run" or self.linger <= 0:
                self._flush()
            elif self._timer is None:
                self._timer = threading.Timer(self.linger, self._flush_quietly)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Write whatever is buffered now."""
        with self._lock:
            self._flush()

    def close(self) -> None:
        """Flush and stop the timer; call once the run is over."""
        self.flush()

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._batch:
            self.events.append(self._batch)  # on failure the batch stays for the next flush
            self._batch = []

    def _flush_quietly(self) -> None:
        # On the timer's thread nobody could handle an error; the next flush retries and raises.
        try:
            self.flush()
        except Exception:
            return
