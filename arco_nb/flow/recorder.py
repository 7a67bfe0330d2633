# SPDX-License-Identifier: Apache-2.0 OR MIT
"""A run's event recorder: numbers its events, checks each transition, group-commits them.

Events are appended as one inbox object per *group*, not per event: a run's end flushes at
once; everything else, its start included, waits at most ``linger`` seconds (a timer flushes
it even while user code runs), so a short run is one object and many fast tasks share one.
See ``docs/adr/0010-event-group-commit.md``. While the run is open, the same timer thread
renews its lease with a heartbeat event whenever nothing else was written for a third of the
lease (``docs/adr/0016-run-leases.md``).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from arco_nb.catalog.events import RUN_FINISHED, Event
from arco_nb.core.settings import DEFAULT_RUN_LEASE
from arco_nb.flow.state import RunState

if TYPE_CHECKING:
    from arco_nb.catalog.eventlog import EventLog

__all__ = ["DEFAULT_LINGER", "Recorder"]

DEFAULT_LINGER = 0.1


class _Flusher:
    """One daemon thread for the process that flushes recorders when their linger is up, and
    renews the lease of every open run (heartbeats).

    Starting a thread costs about a millisecond; a timer per batch cost more than the rest of a
    small run.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: dict[Recorder, float] = {}
        self._beats: dict[Recorder, float] = {}  # when each open run's next heartbeat is due
        self._thread: threading.Thread | None = None

    def schedule(self, recorder: Recorder, delay: float) -> None:
        with self._cond:
            if recorder in self._due:
                return  # its clock is already running
            self._due[recorder] = time.monotonic() + delay
            self._wake()

    def track(self, recorder: Recorder) -> None:
        """Renew ``recorder``'s lease until :meth:`untrack`."""
        with self._cond:
            self._beats[recorder] = time.monotonic() + recorder.beat_every
            self._wake()

    def untrack(self, recorder: Recorder) -> None:
        with self._cond:
            self._beats.pop(recorder, None)

    def cancel(self, recorder: Recorder) -> None:
        with self._cond:
            self._due.pop(recorder, None)

    def _wake(self) -> None:  # with the lock held
        if self._thread is None or not self._thread.is_alive():  # also after a fork
            self._thread = threading.Thread(target=self._loop, name="arco-flush", daemon=True)
            self._thread.start()
        self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._due and not self._beats:
                    self._cond.wait()
                due = [(at, r, False) for r, at in self._due.items()]
                due += [(at, r, True) for r, at in self._beats.items()]
                at, recorder, beat = min(due, key=lambda item: item[0])
                wait = at - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                if beat:
                    self._beats[recorder] = time.monotonic() + recorder.beat_every
                else:
                    del self._due[recorder]
            # Outside our lock: the recorder takes its own.
            recorder.beat_quietly() if beat else recorder.flush_quietly()


_FLUSHER = _Flusher()


class Recorder:
    """Appends a run's events and keeps the live state in step (thread-safe).

    ``before_flush`` is called before each group of events is written: what they name (data
    files synced in the background, ADR 0020) is durable first.
    """

    def __init__(
        self,
        events: EventLog,
        run_id: str,
        *,
        linger: float = DEFAULT_LINGER,
        observer: Callable[[Event], None] | None = None,
        lease: int = DEFAULT_RUN_LEASE,
        before_flush: Callable[[], None] | None = None,
    ) -> None:
        self.events = events
        self.before_flush = before_flush
        self.observer = observer
        self.state = RunState(run_id)
        self.linger = linger
        self.lease = lease
        # Renewed three times per lease: one late or failed write does not expire it.
        self.beat_every = lease / 3
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._batch: list[Event] = []
        self._written = time.monotonic()
        _FLUSHER.track(self)

    def emit(self, kind: str, asset: str = "", partition: str = "", **payload: Any) -> None:
        """Record one event; run state changes are written before this returns."""
        with self._lock:
            payload["seq"] = next(self._seq)  # the run's own order, whatever the clocks say
            event = Event.create(
                kind, run_id=self.state.run_id, asset=asset, partition=partition, **payload
            )
            self.state.apply(event)  # raises InvalidTransition before anything is recorded
            self._batch.append(event)
            if self.observer is not None:
                self.observer(event)  # progress display: after the state change, in order
            # A run's end is written before this returns; its start lingers like any task
            # event, so a run shorter than the linger is one object (ADR 0022).
            if (kind == "run" and payload.get("status") in RUN_FINISHED) or self.linger <= 0:
                self._flush()
            else:
                _FLUSHER.schedule(self, self.linger)

    def flush(self) -> None:
        """Write whatever is buffered now."""
        with self._lock:
            self._flush()

    def close(self) -> None:
        """Flush and stop the timers; call once the run is over."""
        _FLUSHER.untrack(self)
        self.flush()

    def beat_quietly(self) -> None:
        """Renew the run's lease with a heartbeat, unless something was written since the
        last renewal (any event of the run renews it). From the flusher thread: errors wait
        for the next beat."""
        with self._lock:
            if self.state.status in RUN_FINISHED:
                _FLUSHER.untrack(self)
                return
            if time.monotonic() - self._written < self.beat_every:
                return
            beat = Event.create(
                "heartbeat", run_id=self.state.run_id, lease_s=self.lease, seq=next(self._seq)
            )
            self._batch.append(beat)
            try:
                self._flush()
            except Exception:
                return

    def _flush(self) -> None:
        _FLUSHER.cancel(self)
        if self._batch:
            if self.before_flush is not None:
                self.before_flush()  # raises if data may be missing: the batch stays
            self.events.append(self._batch)  # on failure the batch stays for the next flush
            self._batch = []
            self._written = time.monotonic()

    def flush_quietly(self) -> None:
        """Flush from the flusher thread, where nobody could handle an error: the next flush
        retries and raises."""
        try:
            self.flush()
        except Exception:
            return
