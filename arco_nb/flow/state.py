# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Run and task state machines (DESIGN §5), and rebuilding a run from its events.

Run:  queued -> running -> succeeded | failed | cancelled
Task: pending -> running -> succeeded | failed, running -> running (a retry is a new attempt),
      pending -> skipped | up_to_date, failed -> running (retry)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from arco_nb.catalog.events import TASK_FINISHED, Event, RunStatus, TaskStatus
from arco_nb.core.errors import InvalidTransition

__all__ = ["RUN_TRANSITIONS", "TASK_TRANSITIONS", "RunState", "TaskState", "check_transition"]

_S = TypeVar("_S", RunStatus, TaskStatus)

# "abandoned" is reached only in readers' eyes (the lease ran out, ADR 0016): no event records
# it, so replaying events never enters it, and it is terminal.
RUN_TRANSITIONS: dict[RunStatus | None, frozenset[RunStatus]] = {
    None: frozenset({"queued"}),
    "queued": frozenset({"running", "cancelled", "abandoned"}),
    "running": frozenset({"succeeded", "failed", "cancelled", "abandoned"}),
}
TASK_TRANSITIONS: dict[TaskStatus | None, frozenset[TaskStatus]] = {
    None: frozenset({"pending"}),
    "pending": frozenset({"running", "skipped", "up_to_date", "abandoned"}),
    "running": frozenset({"succeeded", "failed", "abandoned"}),
    "failed": frozenset({"running"}),  # the next attempt
}


def check_transition(
    current: _S | None,
    target: str,
    *,
    table: Mapping[_S | None, frozenset[_S]],
    run_id: str | None = None,
    asset: str | None = None,
) -> _S:
    """Return ``target`` as a state if ``current -> target`` is allowed, else raise
    :class:`InvalidTransition`."""
    for allowed in table.get(current, frozenset()):
        if allowed == target:
            return allowed
    raise InvalidTransition(current or "(new)", target, run_id=run_id, asset=asset)


@dataclass
class TaskState:
    """Where one task of a run stands."""

    asset: str
    partition: str = ""
    status: TaskStatus | None = None
    attempt: int = 0
    error: str = ""
    materialization_id: str = ""
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


@dataclass
class RunState:
    """A run rebuilt from (or kept in step with) its events."""

    run_id: str
    status: RunStatus | None = None
    plan_id: str = ""
    executor: str = ""
    tasks: dict[tuple[str, str], TaskState] = field(default_factory=dict)

    def apply(self, event: Event) -> None:
        """Advance by one event, checking the transition it records."""
        if event.kind == "run":
            self.status = check_transition(
                self.status, str(event.payload["status"]), table=RUN_TRANSITIONS, run_id=self.run_id
            )
            self.plan_id = str(event.payload.get("plan_id") or self.plan_id)
            self.executor = str(event.payload.get("executor") or self.executor)
        elif event.kind == "task":
            key = (event.asset, event.partition)
            task = self.tasks.setdefault(key, TaskState(event.asset, event.partition))
            target = check_transition(
                task.status,
                str(event.payload["status"]),
                table=TASK_TRANSITIONS,
                run_id=self.run_id,
                asset=event.asset,
            )
            task.status = target
            task.attempt = int(event.payload.get("attempt") or task.attempt or 1)
            if target == "running":
                task.started_at = task.started_at or event.at
            if target in TASK_FINISHED:
                task.finished_at = event.at
            task.error = (
                str(event.payload.get("error") or "") if target in {"failed", "skipped"} else ""
            )
        elif event.kind == "materialization":
            task = self.tasks.setdefault(
                (event.asset, event.partition), TaskState(event.asset, event.partition)
            )
            task.materialization_id = str(event.payload["materialization_id"])

    @classmethod
    def replay(cls, run_id: str, events: list[Event]) -> RunState:
        """Rebuild a run from its events alone (in the order they happened)."""
        state = cls(run_id)
        # The executor numbers a run's events (``seq``): their order, whatever the clocks say.
        ordered = sorted(
            (e for e in events if e.run_id == run_id),
            key=lambda e: (int(e.payload.get("seq", 1 << 62)), e.at),
        )
        for event in ordered:
            state.apply(event)
        return state
