# SPDX-License-Identifier: Apache-2.0 OR MIT
"""OpenLineage RunEvents from a workspace's recorded facts.

One RunEvent per run state change: queued -> ``OTHER``, running -> ``START``, succeeded ->
``COMPLETE``, failed -> ``FAIL``, cancelled -> ``ABORT``. The job is the Arco run (namespace:
the workspace's URL; name ``arco.run``); inputs are the datasets its materializations read from
outside the run, outputs the assets it materialized, each with a schema facet. Arco run ids
(128-bit ULIDs) become the UUIDs OpenLineage wants, bit for bit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from arco_nb._version import __version__
from arco_nb.core.ids import id_number

if TYPE_CHECKING:
    from arco_nb.workspace import Workspace

__all__ = ["EVENT_TYPES", "PRODUCER", "run_events"]

PRODUCER = f"https://pypi.org/project/arco-nb/{__version__}/"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
SCHEMA_FACET_URL = (
    "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
)
EVENT_TYPES = {
    "queued": "OTHER",
    "running": "START",
    "succeeded": "COMPLETE",
    "failed": "FAIL",
    "cancelled": "ABORT",
}


def run_uuid(run_id: str) -> str:
    """The UUID carrying the same 128 bits as the Arco run id."""
    return str(uuid.UUID(int=id_number(run_id)))


def _time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def run_events(ws: Workspace, *, run_id: str | None = None) -> list[dict[str, Any]]:
    """Every run state change (of one run) as an OpenLineage RunEvent, oldest first."""
    namespace = ws.scope.url if "://" in ws.scope.url else f"file://{ws.scope.url}"
    where = "" if run_id is None else "where run_id = ?"
    params = [] if run_id is None else [run_id]
    transitions = ws.sql(
        f'select run_id, status, "at" from arco.run_transitions {where} order by "at", run_id',
        params,
    ).fetchall()
    if run_id is not None and not transitions:
        from arco_nb.core.errors import RunNotFound

        raise RunNotFound(run_id)
    outputs: dict[str, list[str]] = {}
    for rid, asset in ws.sql(
        f"select distinct run_id, asset from arco.materializations {where} order by all", params
    ).fetchall():
        outputs.setdefault(rid, []).append(asset)
    inputs: dict[str, list[str]] = {}
    for rid, asset in ws.sql(
        "select distinct l.run_id, l.input_asset from arco.lineage l "
        f"{where.replace('run_id', 'l.run_id')} order by all",
        params,
    ).fetchall():
        if asset not in outputs.get(rid, []):
            inputs.setdefault(rid, []).append(asset)
    state = ws.catalog.state

    def dataset(name: str, *, with_schema: bool) -> dict[str, Any]:
        found: dict[str, Any] = {"namespace": namespace, "name": f"assets.{name}"}
        table = state.tables.get(f"assets.{name}")
        if with_schema and table is not None:
            found["facets"] = {
                "schema": {
                    "_producer": PRODUCER,
                    "_schemaURL": SCHEMA_FACET_URL,
                    "fields": [{"name": c.name, "type": c.type} for c in table.columns],
                }
            }
        return found

    events = []
    for rid, status, at in transitions:
        terminal = status in {"succeeded", "failed", "cancelled"}
        events.append(
            {
                "eventType": EVENT_TYPES.get(status, "OTHER"),
                "eventTime": _time(at),
                "producer": PRODUCER,
                "schemaURL": SCHEMA_URL,
                "run": {"runId": run_uuid(rid)},
                "job": {"namespace": namespace, "name": "arco.run"},
                "inputs": [dataset(a, with_schema=True) for a in inputs.get(rid, [])],
                "outputs": [
                    dataset(a, with_schema=True) for a in (outputs.get(rid, []) if terminal else [])
                ],
            }
        )
    return events
