# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The inline executor: runs a plan's tasks in order, in this process.

Every state change is an event (Tier 2); every materialization writes its Parquet file first,
then its materialization and lineage events, so no fact ever points at missing data. The table
an asset produces is registered in (or altered in) the catalog, in namespace ``assets``.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from arco_nb.catalog.events import Event
from arco_nb.catalog.model import Column
from arco_nb.core.errors import AssetDefinitionError, CatalogError, ConfigError
from arco_nb.core.ids import content_hash, new_id
from arco_nb.flow.plan import LastMaterialization, Plan
from arco_nb.flow.state import RunState

if TYPE_CHECKING:
    import pyarrow as pa

    from arco_nb.catalog.catalog import Catalog
    from arco_nb.catalog.eventlog import EventLog
    from arco_nb.core.storage import ObjectStore
    from arco_nb.flow.assets import AssetSpec
    from arco_nb.flow.graph import AssetGraph

__all__ = ["ASSET_NAMESPACE", "RunResult", "execute_plan"]

ASSET_NAMESPACE = "assets"


@dataclass(frozen=True)
class RunResult:
    """What a run did. ``state`` is the same :class:`RunState` a replay of its events gives."""

    run_id: str
    plan: Plan
    state: RunState

    @property
    def status(self) -> str:
        return self.state.status or "queued"

    @property
    def failed(self) -> list[str]:
        return sorted(a for (a, _), t in self.state.tasks.items() if t.status == "failed")


class _Recorder:
    """Appends a run's events and keeps the live state in step (thread-safe)."""

    def __init__(self, events: EventLog, run_id: str) -> None:
        self.events = events
        self.state = RunState(run_id)
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._batch: list[Event] = []

    def emit(self, kind: str, asset: str = "", **payload: Any) -> None:
        with self._lock:
            payload["seq"] = next(self._seq)  # the run's own order, whatever the clocks say
            event = Event.create(kind, run_id=self.state.run_id, asset=asset, **payload)
            self.state.apply(event)  # raises InvalidTransition before anything is recorded
            self._batch.append(event)
            # One inbox object per visible state change, not per event: a task's
            # materialization, lineage and success land together. "pending" waits for the next.
            if kind == "run" or (kind == "task" and payload.get("status") != "pending"):
                self.events.append(self._batch)
                self._batch = []


@dataclass(frozen=True)
class Output:
    """What materializing one asset produced (returned by workers, local or remote)."""

    materialization_id: str
    path: str
    rows: int
    bytes: int
    schema_hash: str
    columns: tuple[tuple[str, str, bool], ...]


def materialize(spec: AssetSpec, store: ObjectStore, inputs: Mapping[str, str]) -> Output:
    """Read the inputs, compute, write Parquet. Runs wherever the executor sends it: it needs
    only the store (and the asset's code), so a remote worker with access to the root can."""
    tables = {dep: _read(store, dep, mid) for dep, mid in inputs.items()}
    table = _compute(spec, tables)
    mid = new_id()
    path = f"data/{spec.name}/_/{mid}.parquet"
    size = _write(store, path, table)
    return Output(
        materialization_id=mid,
        path=path,
        rows=table.num_rows,
        bytes=size,
        schema_hash=content_hash(table.schema.to_string())[:16],
        columns=tuple((f.name, str(f.type), bool(f.nullable)) for f in table.schema),
    )


class _Pool:
    """Where task bodies run: here (inline), on threads, or on a Dask cluster."""

    def __init__(self, executor: str, *, max_workers: int | None, client: Any) -> None:
        self.kind = executor
        self._threads: ThreadPoolExecutor | None = None
        self._client = client
        if executor == "threads":
            self._threads = ThreadPoolExecutor(
                max_workers=max_workers or min(8, os.cpu_count() or 2)
            )
        elif executor not in {"inline", "dask"}:
            raise ConfigError(
                f"Unknown executor {executor!r}", hint="Use 'inline', 'threads' or 'dask'"
            )

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._threads is not None:
            return self._threads.submit(fn, *args)
        if self._client is not None:
            return self._client.submit(fn, *args, pure=False)
        done: Future[Any] = Future()
        try:
            done.set_result(fn(*args))
        except BaseException as exc:
            done.set_exception(exc)
        return done

    def close(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=True, cancel_futures=True)


def execute_plan(
    plan: Plan,
    graph: AssetGraph,
    *,
    store: ObjectStore,
    catalog: Catalog,
    events: EventLog,
    latest: Mapping[tuple[str, str], LastMaterialization],
    executor: str = "inline",
    max_workers: int | None = None,
    client: Any = None,
) -> RunResult:
    """Run ``plan`` and record everything it does.

    ``executor`` is ``"inline"`` (in order, in this process), ``"threads"`` (independent tasks in
    parallel, ``max_workers`` at most) or ``"dask"`` (on ``client``, a ``distributed.Client``).
    Every executor records the same kinds of facts in the same way; the catalog is updated in
    plan order once the tasks are done, so it ends identical whichever executor ran.
    """
    pool = _Pool(executor, max_workers=max_workers, client=client)
    run = _Recorder(events, new_id())
    run.emit("run", status="queued", plan_id=plan.plan_id, executor=executor)
    outputs = {key: last.materialization_id for key, last in latest.items()}
    produced: dict[str, Output] = {}
    try:
        run.emit("run", status="running")
        for task in plan.tasks:
            run.emit("task", task.asset, status="pending")
        _schedule(plan, graph, pool=pool, run=run, store=store, outputs=outputs, produced=produced)
        _register(
            catalog,
            [(graph.specs[t.asset], produced[t.asset]) for t in plan.tasks if t.asset in produced],
        )
        failed = any(t.status == "failed" for t in run.state.tasks.values())
        run.emit("run", status="failed" if failed else "succeeded")
    except KeyboardInterrupt:
        run.emit("run", status="cancelled")
        raise
    finally:
        pool.close()
    return RunResult(run.state.run_id, plan, run.state)


def _schedule(
    plan: Plan,
    graph: AssetGraph,
    *,
    pool: _Pool,
    run: _Recorder,
    store: ObjectStore,
    outputs: dict[tuple[str, str], str],
    produced: dict[str, Output],
) -> None:
    in_plan = {t.asset: t for t in plan.tasks}
    outcome: dict[str, str] = {}
    attempts: dict[str, int] = {}
    running: dict[Any, str] = {}  # concurrent or Dask futures -> asset

    def start(name: str) -> None:
        attempts[name] = attempts.get(name, 0) + 1
        run.emit("task", name, status="running", attempt=attempts[name])
        inputs = {dep: outputs[(dep, "")] for dep in graph.specs[name].deps}
        running[pool.submit(materialize, graph.specs[name], store, inputs)] = name

    def launch_ready() -> None:
        for task in plan.tasks:  # plan order: deterministic submission
            name = task.asset
            if name in outcome or name in running.values():
                continue
            deps = [d for d in graph.specs[name].deps if d in in_plan]
            if any(outcome.get(d) in {"failed", "skipped"} for d in deps):
                run.emit("task", name, status="skipped", error="an upstream asset failed")
                outcome[name] = "skipped"
            elif all(outcome.get(d) in {"succeeded", "up_to_date"} for d in deps):
                if not task.will_run:
                    run.emit("task", name, status="up_to_date")
                    outcome[name] = "up_to_date"
                else:
                    start(name)

    previous = -1
    while len(outcome) != previous or running:  # until nothing more can start or finish
        previous = len(outcome)
        launch_ready()
        if not running:
            if len(outcome) == previous:
                break
            continue
        future = next(iter(_as_completed(running)))
        name = running.pop(future)
        task = in_plan[name]
        spec = graph.specs[name]
        try:
            result: Output = future.result()
        except Exception as exc:  # the user's code failed: record their traceback
            error = "".join(traceback.format_exception(exc)).strip()
            run.emit("task", name, status="failed", attempt=attempts[name], error=error)
            if attempts[name] <= spec.retries:
                start(name)
            else:
                outcome[name] = "failed"
            continue
        _record(
            run,
            spec,
            fingerprint=task.fingerprint,
            code_version=task.code_version,
            result=result,
            outputs=outputs,
        )
        run.emit("task", name, status="succeeded", attempt=attempts[name])
        outputs[(name, "")] = result.materialization_id
        produced[name] = result
        outcome[name] = "succeeded"


def _as_completed(running: Mapping[Any, str]) -> Iterator[Any]:
    futures = list(running)
    if futures and not isinstance(futures[0], Future):
        from distributed import as_completed as dask_completed

        return iter(dask_completed(futures))  # type: ignore[no-untyped-call]
    return iter(as_completed(futures))


def _record(
    run: _Recorder,
    spec: AssetSpec,
    *,
    fingerprint: str,
    code_version: str,
    result: Output,
    outputs: Mapping[tuple[str, str], str],
) -> None:
    run.emit(
        "materialization",
        spec.name,
        materialization_id=result.materialization_id,
        rows=result.rows,
        bytes=result.bytes,
        schema_hash=result.schema_hash,
        fingerprint=fingerprint,
        code_version=code_version,
        path=result.path,
    )
    for dep in spec.deps:
        run.emit(
            "lineage",
            spec.name,
            materialization_id=result.materialization_id,
            input_asset=dep,
            input_partition="",
            input_materialization_id=outputs[(dep, "")],
        )


def _read(store: ObjectStore, asset: str, materialization_id: str) -> pa.Table:
    import pyarrow.parquet as pq

    with store.open(f"data/{asset}/_/{materialization_id}.parquet") as f:
        return pq.read_table(f)


def _write(store: ObjectStore, key: str, table: pa.Table) -> int:
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    data = buffer.getvalue()
    store.put_if_absent(key, data)
    return len(data)


def _compute(spec: AssetSpec, inputs: dict[str, pa.Table]) -> pa.Table:
    if spec.kind == "sql":
        import duckdb

        con = duckdb.connect()
        try:
            for name, table in inputs.items():
                con.register(name, table)
            return con.sql(spec.code).to_arrow_table()
        finally:
            con.close()
    assert spec.fn is not None, "python assets carry their function"
    import polars as pl

    arrow_params = _arrow_params(spec.fn)
    args = {
        name: table if name in arrow_params else pl.from_arrow(table)
        for name, table in inputs.items()
    }
    return to_arrow(spec.name, spec.fn(**args))


def _arrow_params(fn: Callable[..., Any]) -> set[str]:
    """Parameters annotated ``pa.Table`` get Arrow tables; all others get polars DataFrames."""
    import inspect

    import pyarrow as pa

    found = set()
    for param in inspect.signature(fn).parameters.values():
        ann = param.annotation
        text = ann if isinstance(ann, str) else ""
        if ann is pa.Table or text.replace("pyarrow.", "pa.") == "pa.Table":
            found.add(param.name)
    return found


def to_arrow(asset: str, value: Any) -> pa.Table:
    """Turn what an asset returned into an Arrow table, or say clearly why not."""
    import pyarrow as pa

    if isinstance(value, pa.Table):
        return value
    module = type(value).__module__.split(".")[0]
    if module == "polars" and hasattr(value, "to_arrow"):
        return value.to_arrow()
    if module == "pandas" and hasattr(value, "to_parquet"):
        return pa.Table.from_pandas(value, preserve_index=False)
    if module in {"duckdb", "_duckdb"} and hasattr(value, "to_arrow_table"):
        return value.to_arrow_table()
    raise AssetDefinitionError(
        asset,
        f"returned {type(value).__name__}, which is not a table",
        hint="Return a polars or pandas DataFrame, a pyarrow Table or a DuckDB relation",
    )


def _register(catalog: Catalog, outputs: list[tuple[AssetSpec, Output]]) -> None:
    """Define the assets and register their tables, in one commit of only what changed."""
    from arco_nb.catalog.model import Table
    from arco_nb.catalog.operations import (
        AlterTable,
        CreateNamespace,
        CreateTable,
        DefineAsset,
        Operation,
    )

    state = catalog.state
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
    if ops:
        # Another writer may have registered the same asset meanwhile; data and facts stand.
        with contextlib.suppress(CatalogError):
            catalog.commit(ops, author="arco-run")
