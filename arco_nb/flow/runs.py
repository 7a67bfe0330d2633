# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Runs as people and renderers see them: public frozen dataclasses, plain values only, and the
queries that list them from the ``arco.*`` views."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from arco_nb.catalog.events import RunStatus, TaskStatus

__all__ = ["RunInfo", "TaskInfo", "list_runs", "list_tasks"]


@dataclass(frozen=True)
class TaskInfo:
    """One task of a run: its final state, attempts, times and (if it failed) the user's error."""

    asset: str
    partition: str
    status: TaskStatus
    attempt: int
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    error: str = ""
    run_id: str = ""

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
    status: RunStatus
    plan_id: str
    executor: str
    queued_at: dt.datetime | None
    finished_at: dt.datetime | None
    materialized: int = 0
    up_to_date: int = 0
    failed: tuple[str, ...] = ()
    skipped: int = 0


class _SQL(Protocol):
    def __call__(self, query: str, params: Sequence[object] | None = None) -> Any: ...


def _where(conditions: dict[str, object | None]) -> tuple[str, list[object]]:
    """A WHERE clause of the conditions whose value is given, and their parameters."""
    given = {condition: value for condition, value in conditions.items() if value is not None}
    return " and ".join(["1 = 1", *given]), list(given.values())


def list_runs(
    sql: _SQL, *, asset: str | None = None, status: str | None = None, limit: int | None = None
) -> list[RunInfo]:
    """Runs, newest first: all, those with a task for ``asset``, or those in ``status``.

    ``sql`` runs read-only queries over the ``arco.*`` views (``Workspace.sql``).
    """
    where, params = _where(
        {
            "r.run_id in (select run_id from arco.task_runs where asset = ?)": asset,
            "r.status = ?": status,
        }
    )
    # The page of runs first, then the tasks of those runs only.
    rows = sql(
        f"""
        with page as (
            select r.run_id, r.status, r.plan_id, r.executor, r.queued_at, r.finished_at
            from arco.runs r where {where}
            order by r.queued_at desc, r.run_id desc
            {"limit ?" if limit is not None else ""})
        select p.run_id, p.status, p.plan_id, p.executor, p.queued_at, p.finished_at,
               count(t.asset) filter (where t.status = 'succeeded'),
               count(t.asset) filter (where t.status = 'up_to_date'),
               list(distinct t.asset order by t.asset) filter (where t.status = 'failed'),
               count(t.asset) filter (where t.status = 'skipped')
        from page p left join arco.task_runs t
             on t.run_id = p.run_id and t.run_id in (select run_id from page)
        group by all order by p.queued_at desc, p.run_id desc""",
        [*params, max(int(limit), 0)] if limit is not None else params,
    ).fetchall()
    return [
        RunInfo(r[0], r[1], r[2] or "", r[3] or "", r[4], r[5], r[6], r[7],
                tuple(r[8] or ()), r[9])
        for r in rows
    ]  # fmt: skip


def list_tasks(
    sql: _SQL, *, run_id: str | None = None, asset: str | None = None, limit: int | None = None
) -> list[TaskInfo]:
    """Tasks of run ``run_id`` (in the order they started) or of ``asset`` (newest first).

    Raises
    ------
    RunNotFound
        ``run_id`` names no recorded run.
    """
    from arco_nb.core.errors import RunNotFound

    where, params = _where({"run_id = ?": run_id, "asset = ?": asset})
    order = (
        "started_at nulls last, asset, partition"
        if run_id is not None
        else "finished_at desc nulls first, run_id desc, partition"
    )
    rows = sql(
        "select asset, partition, status, attempt, started_at, finished_at, error, run_id "
        f"from arco.task_runs where {where} order by {order}"
        + (" limit ?" if limit is not None else ""),
        [*params, max(int(limit), 0)] if limit is not None else params,
    ).fetchall()
    known = rows or run_id is None
    if not known and not sql("select 1 from arco.runs where run_id = ?", [run_id]).fetchall():
        raise RunNotFound(str(run_id))
    return [TaskInfo(a, p, s, int(n or 1), st, fi, e or "", r) for a, p, s, n, st, fi, e, r in rows]
