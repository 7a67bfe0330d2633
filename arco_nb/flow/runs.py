# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Runs as people and renderers see them: public frozen dataclasses, plain values only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["RunInfo", "TaskInfo"]


@dataclass(frozen=True)
class TaskInfo:
    """One task of a run: its final state, attempts, times and (if it failed) the user's error."""

    asset: str
    partition: str
    status: str
    attempt: int
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    error: str = ""

    @property
    def label(self) -> str:
        return f"{self.asset}[{self.partition}]" if self.partition else self.asset

    @property
    def seconds(self) -> float | None:
        """How long it ran, when it did."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class RunInfo:
    """One run: status, plan, times, and counts of what its tasks did."""

    run_id: str
    status: str
    plan_id: str
    executor: str
    queued_at: dt.datetime | None
    finished_at: dt.datetime | None
    materialized: int = 0
    up_to_date: int = 0
    failed: tuple[str, ...] = ()
    skipped: int = 0
