# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Executing a plan: inline, on threads or on Dask, with one scheduler and one way of recording.

Every state change is an event (Tier 2); every materialization writes its Parquet file first,
then its materialization and lineage events, so no fact ever points at missing data. The table
an asset produces is registered in (or altered in) the catalog, in namespace ``assets``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import heapq
import os
import random
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from arco_nb.catalog.model import Column
from arco_nb.core.errors import CommitConflict
from arco_nb.core.ids import new_id
from arco_nb.core.settings import DEFAULT_RUN_LEASE
from arco_nb.core.syncer import BackgroundSync
from arco_nb.flow.executors import DEFAULT_EXECUTOR, Executor, ExecutorName, make_executor
from arco_nb.flow.materialize import Output, TableCache, materialize
from arco_nb.flow.plan import Plan, Task
from arco_nb.flow.recorder import DEFAULT_LINGER, Recorder
from arco_nb.flow.state import RunState

if TYPE_CHECKING:
    from arco_nb.catalog.catalog import Catalog
    from arco_nb.catalog.eventlog import EventLog
    from arco_nb.catalog.events import Event, RunStatus
    from arco_nb.catalog.model import CatalogState
    from arco_nb.catalog.operations import Operation
    from arco_nb.core.storage import ObjectStore
    from arco_nb.flow.assets import AssetSpec
    from arco_nb.flow.graph import AssetGraph

__all__ = ["ASSET_NAMESPACE", "RunResult", "execute_plan", "user_traceback"]

ASSET_NAMESPACE = "assets"
Key = tuple[str, str]  # (asset, partition)


@dataclass(frozen=True)
class RunResult:
    """What a run did. ``state`` is the same :class:`RunState` a replay of its events gives."""

    run_id: str
    plan: Plan
    state: RunState

    @property
    def status(self) -> RunStatus:
        """The run's state: ``succeeded``, ``failed`` or ``cancelled`` once it is over."""
        return self.state.status or "queued"

    @property
    def failed(self) -> list[str]:
        """Failed tasks as ``asset`` or ``asset[partition]``."""
        return sorted(
            f"{a}[{p}]" if p else a
            for (a, p), t in self.state.tasks.items()
            if t.status == "failed"
        )


def execute_plan(
    plan: Plan,
    graph: AssetGraph,
    *,
    store: ObjectStore,
    catalog: Catalog,
    events: EventLog,
    executor: ExecutorName = DEFAULT_EXECUTOR,
    max_workers: int | None = None,
    client: Any = None,
    linger: float = DEFAULT_LINGER,
    observer: Callable[[Event], None] | None = None,
    sandbox: bool = False,
    lease: int = DEFAULT_RUN_LEASE,
    cache: TableCache | None = None,
) -> RunResult:
    """Run ``plan`` and record everything it does.

    ``executor`` is ``"inline"`` (in order, in this process), ``"threads"`` (independent tasks in
    parallel, ``max_workers`` at most) or ``"dask"`` (on ``client``, a ``distributed.Client``).
    Every executor records the same kinds of facts in the same way; the catalog is updated in
    plan order once the tasks are done, so it ends identical whichever executor ran.
    ``observer`` sees every event as it is recorded (a progress display, say). With
    ``sandbox``, SQL assets run in the SQL sandbox (:mod:`arco_nb.core.sandbox`). While it
    runs, the run renews a ``lease`` of that many seconds; readers show a run whose lease ran
    out before it finished (its process was killed) as ``abandoned`` (ADR 0016). ``cache``
    keeps the tables written in this process beyond the run (a workspace's next cell).
    """
    pool = make_executor(executor, max_workers=max_workers, client=client)
    # Workers in this process sync data files in the background; Dask workers before returning.
    syncs = None if pool.name == "dask" else BackgroundSync(store)
    run = Recorder(
        events,
        new_id(),
        linger=linger,
        observer=observer,
        lease=lease,
        before_flush=None if syncs is None else syncs.wait,
    )
    interrupted = False
    try:
        run.emit("run", status="queued", plan_id=plan.plan_id, executor=executor, lease_s=lease)
        scheduler = _Scheduler(
            plan, graph, pool=pool, run=run, store=store, sandbox=sandbox, syncs=syncs, cache=cache
        )
        try:
            run.emit("run", status="running")
            for task in plan.tasks:
                run.emit("task", task.asset, task.partition, status="pending")
            scheduler.drive()
            # Plan order, whichever executor: the last partition's schema is the table's.
            last = {
                t.asset: scheduler.produced[t.key]
                for t in plan.tasks
                if t.key in scheduler.produced
            }
            if syncs is not None:
                syncs.wait()  # the catalog names the data: it is on disk first
            _register(catalog, [(graph.specs[a], o) for a, o in last.items()])
            failed = any(t.status == "failed" for t in run.state.tasks.values())
            run.emit("run", status="failed" if failed else "succeeded")
        except BaseException:  # Ctrl-C, or anything that stops the run: record it as cancelled
            interrupted = True
            if run.state.status in {"queued", "running"}:
                with contextlib.suppress(Exception):  # the original error matters more
                    _close_tasks(run)
                    run.emit("run", status="cancelled")
            raise
    finally:
        pool.close(wait=not interrupted)
        in_flight = sys.exc_info()[1] is not None
        try:
            run.close()
        except Exception:
            if not in_flight:
                raise
    return RunResult(run.state.run_id, plan, run.state)


def _close_tasks(run: Recorder) -> None:
    """A cancelled run leaves no task open: running ones failed, pending ones were skipped."""
    for (asset, partition), task in list(run.state.tasks.items()):
        if task.status == "running":
            run.emit(
                "task",
                asset,
                partition,
                status="failed",
                error="cancelled: the run was interrupted",
            )
        elif task.status == "pending":
            run.emit("task", asset, partition, status="skipped", error="the run was cancelled")


class _Scheduler:
    """Starts each task once its in-plan inputs are done, in plan order; retries with backoff."""

    def __init__(
        self,
        plan: Plan,
        graph: AssetGraph,
        *,
        pool: Executor,
        run: Recorder,
        store: ObjectStore,
        sandbox: bool = False,
        syncs: BackgroundSync | None = None,
        cache: TableCache | None = None,
    ) -> None:
        self.plan, self.graph, self.pool, self.run, self.store = plan, graph, pool, run, store
        self.sandbox, self.syncs = sandbox, syncs
        # What the plan was made against: its up-to-date tasks and inputs from outside it.
        self.outputs: dict[Key, str] = dict(plan.materialized)
        self.produced: dict[Key, Output] = {}
        self.index = {t.key: i for i, t in enumerate(plan.tasks)}
        self.outcome: dict[Key, str] = {}
        self.attempts: dict[Key, int] = {}
        self.running: dict[Any, Key] = {}  # concurrent or Dask futures -> task
        self.shippable: set[Key] = set()  # checked once: a retry sends the same function
        self.retry_at: dict[Key, float] = {}  # monotonic time a retry is due
        self.blocking: dict[Key, int] = {}
        self.dependents: dict[Key, list[Key]] = {}
        self.ready: list[int] = []
        # In-process executors hand tables on directly; Dask workers read them from the store.
        # Tables written in this process, for downstream tasks (and, given ``cache``, later runs).
        self.cache = None if pool.name == "dask" else (cache if cache is not None else TableCache())
        for task in plan.tasks:
            upstream = {i for i in task.inputs if i in self.index}
            self.blocking[task.key] = len(upstream)
            for up in upstream:
                self.dependents.setdefault(up, []).append(task.key)
            if not upstream:
                self.ready.append(self.index[task.key])
        heapq.heapify(self.ready)

    def drive(self) -> None:
        while self.ready or self.running or self.retry_at:
            while self.ready:
                self._launch(self.plan.tasks[heapq.heappop(self.ready)])
            now = time.monotonic()
            for key, due in sorted(self.retry_at.items(), key=lambda kv: self.index[kv[0]]):
                if due <= now:
                    del self.retry_at[key]
                    self._start(key)
            wait = max(0.0, min(self.retry_at.values()) - now) if self.retry_at else None
            if self.running:
                done = self.pool.wait(list(self.running), wait)
                for future in sorted(done, key=lambda f: self.index[self.running[f]]):
                    self._collect(future)
            elif wait is not None:
                time.sleep(wait)

    def _launch(self, task: Task) -> None:
        if not task.will_run:
            self.run.emit("task", task.asset, task.partition, status="up_to_date")
            self._finish(task.key, "up_to_date")
            return
        missing = [f"{a}[{p}]" if p else a for a, p in task.inputs if (a, p) not in self.outputs]
        missing += [f"{a} (no partition)" for a in task.missing]
        if missing:
            names = ", ".join(missing)
            self.run.emit(
                "task",
                task.asset,
                task.partition,
                status="skipped",
                error=f"not materialized yet: {names}; select +{task.asset} to build it too",
            )
            self._finish(task.key, "skipped")
            return
        self._start(task.key)

    def _start(self, key: Key) -> None:
        task = self.plan.tasks[self.index[key]]
        self.attempts[key] = self.attempts.get(key, 0) + 1
        self.run.emit("task", *key, status="running", attempt=self.attempts[key])
        inputs = [(a, p, self.outputs[(a, p)]) for a, p in task.inputs]
        spec = self.graph.specs[task.asset]
        if self.pool.name == "dask" and spec.kind == "python" and key not in self.shippable:
            from arco_nb.flow.cell_functions import unshippable

            # Checked here, not left to Dask: its error names none of the user's values.
            problem = unshippable(spec.fn)
            if problem is not None:
                error = (
                    f"{task.asset} cannot run on Dask workers: {problem}. Create such values "
                    "inside the cell or function, or run with executor='inline' or 'threads'"
                )
                self.run.emit(
                    "task", *key, status="failed", attempt=self.attempts[key], error=error
                )
                self._finish(key, "failed")
                return
            self.shippable.add(key)
        future = self.pool.submit(
            materialize,
            spec,
            self.store,
            inputs,
            task.partition,
            cache=self.cache,
            sandbox=self.sandbox,
            syncs=self.syncs,
        )
        self.running[future] = key

    def _collect(self, future: Any) -> None:
        key = self.running.pop(future)
        task = self.plan.tasks[self.index[key]]
        spec = self.graph.specs[task.asset]
        attempt = self.attempts[key]
        try:
            result: Output = future.result()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # the user's code failed (even sys.exit): record it
            # For SQL, DuckDB's message is the whole story; Python gets the user's frames.
            error = (
                "".join(traceback.format_exception_only(exc)).strip()
                if spec.kind == "sql"
                else user_traceback(exc)
            )
            self.run.emit("task", *key, status="failed", attempt=attempt, error=error)
            if attempt <= spec.retries:
                self.retry_at[key] = time.monotonic() + spec.retry_wait(attempt)
            else:
                self._finish(key, "failed")
            return
        _record(self.run, spec, task, result, self.outputs)
        self.run.emit("task", *key, status="succeeded", attempt=attempt)
        self.outputs[key] = result.materialization_id
        self.produced[key] = result
        self._finish(key, "succeeded")

    def _finish(self, key: Key, status: str) -> None:
        stack = [(key, status)]
        while stack:  # a loop, not recursion: long chains of skips stay shallow
            key, status = stack.pop()
            self.outcome[key] = status
            for down in self.dependents.get(key, ()):
                if down in self.outcome:
                    continue
                if status in {"failed", "skipped"}:
                    self.run.emit("task", *down, status="skipped", error="an upstream asset failed")
                    self.outcome[down] = "skipped"
                    stack.append((down, "skipped"))
                else:
                    self.blocking[down] -= 1
                    if self.blocking[down] == 0:
                        heapq.heappush(self.ready, self.index[down])


# Frames from these directories are the engine's, not the user's.
_INTERNAL = (
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    os.path.dirname(os.path.abspath(concurrent.futures.__file__)),
)


def user_traceback(exc: BaseException) -> str:
    """The traceback of an asset's failure, without Arco's own frames: the user's code only.

    An error raised by Arco itself about the asset (say, it returned no table) is just its
    message.
    """
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(_INTERNAL)
    ]
    lines = (
        ["Traceback (most recent call last):\n", *traceback.format_list(frames)] if frames else []
    )
    lines += traceback.format_exception_only(exc)
    return "".join(lines).strip()


def _record(
    run: Recorder, spec: AssetSpec, task: Task, result: Output, outputs: Mapping[Key, str]
) -> None:
    run.emit(
        "materialization",
        spec.name,
        task.partition,
        materialization_id=result.materialization_id,
        rows=result.rows,
        bytes=result.bytes,
        schema_hash=result.schema_hash,
        fingerprint=task.fingerprint,
        code_version=task.code_version,
        path=result.path,
    )
    for asset, partition in task.inputs:
        run.emit(
            "lineage",
            spec.name,
            task.partition,
            materialization_id=result.materialization_id,
            input_asset=asset,
            input_partition=partition,
            input_materialization_id=outputs[(asset, partition)],
        )


def _register(catalog: Catalog, outputs: list[tuple[AssetSpec, Output]]) -> None:
    """Define the assets and register their tables, in one commit of only what changed.

    Another writer may change the same assets meanwhile (a colleague's cell, another run). A
    conflict is not dropped: what this run materialized is worked out again against the newer
    catalog and committed on top of it, so the catalog's history holds every definition a
    materialization was made with, and the latest run's definition is the current one.
    """
    deadline = time.monotonic() + catalog.retry_budget
    attempt = 0
    while ops := _registration(catalog.state, outputs):
        try:
            catalog.commit(ops, author="arco-run")
            return
        except CommitConflict:
            if time.monotonic() > deadline:
                raise
            # Jittered, growing waits: two runs redefining the same asset must not collide
            # in lockstep.
            time.sleep(random.uniform(0, min(catalog.max_wait, catalog.min_wait * 2**attempt)))
            attempt += 1


def _registration(state: CatalogState, outputs: list[tuple[AssetSpec, Output]]) -> list[Operation]:
    """The catalog operations that make ``state`` hold these outputs' definitions and tables."""
    from arco_nb.catalog.model import Table
    from arco_nb.catalog.operations import AlterTable, CreateNamespace, CreateTable, DefineAsset

    ops: list[Operation] = []
    if outputs and ASSET_NAMESPACE not in state.namespaces:
        ops.append(CreateNamespace(ASSET_NAMESPACE, "Tables materialized by assets"))
    for spec, output in outputs:
        record = spec.to_record()
        columns = tuple(Column(name, type_, nullable) for name, type_, nullable in output.columns)
        if state.assets.get(spec.name) != record:
            ops.append(DefineAsset(record))
        full = f"{ASSET_NAMESPACE}.{spec.name}"
        current = state.tables.get(full)
        if current is None:
            table = Table(
                namespace=ASSET_NAMESPACE,
                name=spec.name,
                columns=columns,
                location=f"data/{spec.name}/",
                description=spec.description,
                tags=spec.tags,
            )
            ops.append(CreateTable(table))
        elif current.columns != columns:
            ops.append(AlterTable(full, columns=columns))
    return ops
