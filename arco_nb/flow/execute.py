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
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from arco_nb.catalog.events import Event
from arco_nb.catalog.model import Column
from arco_nb.core.errors import AssetDefinitionError, CatalogError
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
    """Appends a run's events and keeps the live state in step with them."""

    def __init__(self, events: EventLog, run_id: str) -> None:
        self.events = events
        self.state = RunState(run_id)
        self._seq = itertools.count()

    def emit(self, kind: str, asset: str = "", **payload: Any) -> None:
        payload["seq"] = next(self._seq)  # the run's own order, whatever the clocks say
        event = Event.create(kind, run_id=self.state.run_id, asset=asset, **payload)
        self.state.apply(event)  # raises InvalidTransition before anything is recorded
        self.events.append(event)


def execute_plan(
    plan: Plan,
    graph: AssetGraph,
    *,
    store: ObjectStore,
    catalog: Catalog,
    events: EventLog,
    latest: Mapping[tuple[str, str], LastMaterialization],
) -> RunResult:
    """Run ``plan`` inline and record everything it does."""
    run = _Recorder(events, new_id())
    run.emit("run", status="queued", plan_id=plan.plan_id, executor="inline")
    outputs = {key: last.materialization_id for key, last in latest.items()}
    broken: set[str] = set()
    try:
        run.emit("run", status="running")
        for task in plan.tasks:
            run.emit("task", task.asset, status="pending")
            spec = graph.specs[task.asset]
            if not task.will_run:
                run.emit("task", task.asset, status="up_to_date")
                continue
            if broken.intersection(spec.deps):
                run.emit("task", task.asset, status="skipped", error="an upstream asset failed")
                broken.add(task.asset)
                continue
            ok = _attempts(
                run,
                spec,
                fingerprint=task.fingerprint,
                code_version=task.code_version,
                store=store,
                outputs=outputs,
            )
            if ok is None:
                broken.add(task.asset)
                continue
            _register(catalog, spec, ok)
        failed = any(t.status == "failed" for t in run.state.tasks.values())
        run.emit("run", status="failed" if failed else "succeeded")
    except KeyboardInterrupt:
        run.emit("run", status="cancelled")
        raise
    return RunResult(run.state.run_id, plan, run.state)


def _attempts(
    run: _Recorder,
    spec: AssetSpec,
    *,
    fingerprint: str,
    code_version: str,
    store: ObjectStore,
    outputs: dict[tuple[str, str], str],
) -> pa.Table | None:
    for attempt in range(1, spec.retries + 2):
        run.emit("task", spec.name, status="running", attempt=attempt)
        try:
            inputs = {dep: _read(store, dep, outputs[(dep, "")]) for dep in spec.deps}
            table = _compute(spec, inputs)
            mid = new_id()
            path = f"data/{spec.name}/_/{mid}.parquet"
            size = _write(store, path, table)
        except Exception as exc:  # the user's code failed: record their traceback
            error = "".join(traceback.format_exception(exc)).strip()
            run.emit("task", spec.name, status="failed", attempt=attempt, error=error)
            continue
        run.emit(
            "materialization",
            spec.name,
            materialization_id=mid,
            rows=table.num_rows,
            bytes=size,
            schema_hash=content_hash(table.schema.to_string())[:16],
            fingerprint=fingerprint,
            code_version=code_version,
            path=path,
        )
        for dep in spec.deps:
            run.emit(
                "lineage",
                spec.name,
                materialization_id=mid,
                input_asset=dep,
                input_partition="",
                input_materialization_id=outputs[(dep, "")],
            )
        outputs[(spec.name, "")] = mid
        run.emit("task", spec.name, status="succeeded", attempt=attempt)
        return table
    return None


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

    args = {name: pl.from_arrow(table) for name, table in inputs.items()}
    return to_arrow(spec.name, spec.fn(**args))


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


def _register(catalog: Catalog, spec: AssetSpec, table: pa.Table) -> None:
    """Define the asset and register its table; commit only what changed."""
    from arco_nb.catalog.model import Table
    from arco_nb.catalog.operations import (
        AlterTable,
        CreateNamespace,
        CreateTable,
        DefineAsset,
        Operation,
    )

    state = catalog.state
    record = spec.to_record()
    columns = tuple(Column(f.name, str(f.type), bool(f.nullable)) for f in table.schema)
    ops: list[Operation] = []
    if ASSET_NAMESPACE not in state.namespaces:
        ops.append(CreateNamespace(ASSET_NAMESPACE, "Tables materialized by assets"))
    if state.assets.get(spec.name) != record:
        ops.append(DefineAsset(record))
    full = f"{ASSET_NAMESPACE}.{spec.name}"
    current = state.tables.get(full)
    if current is None:
        ops.append(
            CreateTable(
                Table(
                    namespace=ASSET_NAMESPACE,
                    name=spec.name,
                    columns=columns,
                    location=f"data/{spec.name}/",
                    description=spec.description,
                    tags=spec.tags,
                )
            )
        )
    elif current.columns != columns:
        ops.append(AlterTable(full, columns=columns))
    if ops:
        # Another writer may have registered the same asset meanwhile; data and facts stand.
        with contextlib.suppress(CatalogError):
            catalog.commit(ops, author="arco-run")
