# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Tier 2 event records: the operational facts Arco appends (runs, tasks, materializations,
lineage, log pointers).

Every event has the same envelope — ``event_id``, ``kind``, ``at``, ``run_id``, ``asset``,
``partition``, ``payload`` — and a ``schema_version``. The payload's required fields depend on
the kind (:data:`KINDS`); JSON Schemas for all of them ship in ``arco_nb/contracts/``. The id is
a hash of everything else, so appending the same fact twice yields the same id and the reader
keeps one. Compatibility policy: ``docs/adr/0006-event-contracts.md``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

from arco_nb.catalog.parquet import rows_to_table
from arco_nb.core.errors import ArcoError, CorruptObject, InvalidEvent
from arco_nb.core.ids import content_id

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "ABANDONED",
    "EVENT_SCHEMA_VERSION",
    "KINDS",
    "RUN_FINISHED",
    "RUN_STATES",
    "TASK_FINISHED",
    "TASK_STATES",
    "Event",
    "FactTable",
    "RunStatus",
    "TaskStatus",
    "events_to_tables",
    "parse_inbox_object",
]

EVENT_SCHEMA_VERSION = 1
RunStatus = Literal["queued", "running", "succeeded", "failed", "cancelled", "abandoned"]
"""The states of a run (DESIGN §5): ``queued -> running -> succeeded | failed | cancelled``.
``abandoned`` is never recorded: readers show it for a run whose writer stopped renewing its
lease (killed, say) before the run finished (ADR 0016)."""
TaskStatus = Literal[
    "pending", "running", "succeeded", "failed", "skipped", "up_to_date", "abandoned"
]
"""The states of a task: ``pending -> running -> succeeded | failed``, or ``pending ->
skipped | up_to_date``; ``failed -> running`` is a retry. ``abandoned``, as for runs: an
unfinished task of an abandoned run."""
# The one list of states is the Literal; these are it at run time, in life-cycle order.
RUN_STATES: tuple[RunStatus, ...] = get_args(RunStatus)
TASK_STATES: tuple[TaskStatus, ...] = get_args(TaskStatus)
# The states in which a run or a task has finished (a failed task may still be retried).
RUN_FINISHED: frozenset[RunStatus] = frozenset({"succeeded", "failed", "cancelled", "abandoned"})
TASK_FINISHED: frozenset[TaskStatus] = frozenset(
    {"succeeded", "failed", "skipped", "up_to_date", "abandoned"}
)
ABANDONED: Literal["abandoned"] = "abandoned"  # derived by readers, never recorded


@dataclass(frozen=True)
class FactTable:
    """One compacted fact table: which event kind feeds it and its typed payload columns."""

    name: str
    kind: str
    columns: tuple[tuple[str, str], ...]  # (payload field, arrow type name)
    required: frozenset[str] = field(default_factory=frozenset)


KINDS: dict[str, FactTable] = {
    t.kind: t
    for t in (
        FactTable(
            "run_transitions",
            "run",
            (
                ("status", "string"),
                ("plan_id", "string"),
                ("executor", "string"),
                ("lease_s", "int64"),
            ),
            frozenset({"status"}),
        ),
        FactTable(
            "task_transitions",
            "task",
            (("status", "string"), ("attempt", "int64"), ("error", "string")),
            frozenset({"status"}),
        ),
        FactTable(
            "materializations",
            "materialization",
            (
                ("materialization_id", "string"),
                ("rows", "int64"),
                ("bytes", "int64"),
                ("schema_hash", "string"),
                ("fingerprint", "string"),
                ("path", "string"),
                ("code_version", "string"),
            ),
            frozenset({"materialization_id", "rows", "bytes", "schema_hash", "path"}),
        ),
        FactTable(
            "lineage",
            "lineage",
            (
                ("materialization_id", "string"),
                ("input_asset", "string"),
                ("input_partition", "string"),
                ("input_materialization_id", "string"),
            ),
            frozenset({"materialization_id", "input_asset", "input_materialization_id"}),
        ),
        FactTable(
            "logs", "log", (("stream", "string"), ("pointer", "string")), frozenset({"pointer"})
        ),
        # A running run's writer renews its lease: "alive for lease_s more seconds".
        FactTable("heartbeats", "heartbeat", (("lease_s", "int64"),), frozenset({"lease_s"})),
    )
}
# What may be recorded: every state but the one readers derive.
_STATES = {
    "run": tuple(s for s in RUN_STATES if s != ABANDONED),
    "task": tuple(s for s in TASK_STATES if s != ABANDONED),
}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise InvalidEvent("Event times must be timezone-aware", hint="Use datetime.now(UTC)")
    return value.astimezone(dt.UTC)


@dataclass(frozen=True)
class Event:
    """One operational fact. Build it with :meth:`Event.create`, which also computes its id."""

    event_id: str
    kind: str
    at: dt.datetime
    run_id: str
    asset: str = ""
    partition: str = ""
    payload: Mapping[str, Any] = field(default_factory=dict)
    schema_version: int = EVENT_SCHEMA_VERSION

    @classmethod
    def create(
        cls,
        kind: str,
        *,
        run_id: str,
        at: dt.datetime | None = None,
        asset: str = "",
        partition: str = "",
        **payload: Any,
    ) -> Event:
        """Make a validated event whose id is the hash of its content."""
        when = _utc(at or dt.datetime.now(dt.UTC))
        body = {
            "kind": kind,
            "at": when,
            "run_id": run_id,
            "asset": asset,
            "partition": partition,
            "payload": payload,
        }
        try:
            event_id = content_id(body, prefix="ev_")
        except (TypeError, ValueError) as exc:
            raise InvalidEvent(
                f"A {kind} event's payload cannot be stored: {exc}",
                hint="Use JSON values: text, integers, finite floats, lists, objects",
            ) from exc
        event = cls(event_id=event_id, **body)  # type: ignore[arg-type]
        event.validate()
        return event

    def validate(self, *, source: str = "event") -> None:
        """Check the envelope and the kind's required payload fields."""
        table = KINDS.get(self.kind)
        if table is None:
            raise CorruptObject(source, reason=f"unknown event kind {self.kind!r}")
        missing = table.required - set(self.payload)
        if missing:
            raise CorruptObject(
                source, reason=f"{self.kind} event lacks {', '.join(sorted(missing))}"
            )
        states = _STATES.get(self.kind)
        if states and self.payload["status"] not in states:
            raise CorruptObject(
                source, reason=f"{self.payload['status']!r} is not a {self.kind} state"
            )
        if not self.run_id or not isinstance(self.run_id, str):
            raise CorruptObject(source, reason="event has no run_id")
        for name, kind in table.columns:
            # Typed columns must hold their type, or one event would break every read.
            value = self.payload.get(name)
            if value is None:
                continue
            ok = isinstance(value, str) if kind == "string" else _is_int(value)
            if not ok:
                raise CorruptObject(
                    source, reason=f"{self.kind} field {name!r} must be {kind}, not {value!r}"
                )

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "event_id": self.event_id,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "run_id": self.run_id,
            "asset": self.asset,
            "partition": self.partition,
            "payload": dict(self.payload),
        }

    @classmethod
    def from_json(cls, data: Any, *, source: str) -> Event:
        if not isinstance(data, dict):
            raise CorruptObject(source, reason="an event must be a JSON object")
        version = data.get("schema_version")
        if version != EVENT_SCHEMA_VERSION:
            raise CorruptObject(source, reason=f"event schema_version {version!r} is unknown")
        try:
            event = cls(
                event_id=str(data["event_id"]),
                kind=str(data["kind"]),
                at=_utc(dt.datetime.fromisoformat(data["at"])),
                run_id=str(data["run_id"]),
                asset=str(data.get("asset", "")),
                partition=str(data.get("partition", "")),
                payload=dict(data["payload"]),
            )
        except (KeyError, TypeError, ValueError, ArcoError) as exc:
            raise CorruptObject(source, reason=f"malformed event ({exc})") from exc
        event.validate(source=source)
        return event


def inbox_object(events: list[Event]) -> dict[str, Any]:
    """The JSON body of one inbox object holding ``events``."""
    return {"schema_version": EVENT_SCHEMA_VERSION, "events": [e.to_json() for e in events]}


def parse_inbox_object(raw: bytes, *, key: str) -> list[Event]:
    """Parse an inbox object; raises :class:`CorruptObject` naming ``key``."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptObject(key, reason=f"not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise CorruptObject(key, reason="an inbox object must hold an 'events' list")
    if data.get("schema_version") != EVENT_SCHEMA_VERSION:
        raise CorruptObject(
            key, reason=f"inbox schema_version {data.get('schema_version')!r} is unknown"
        )
    return [Event.from_json(item, source=key) for item in data["events"]]


def table_schema(table: FactTable) -> pa.Schema:
    """Arrow schema of a compacted fact table."""
    import pyarrow as pa

    types = {"string": pa.string(), "int64": pa.int64()}
    return pa.schema(
        [
            ("event_id", pa.string()),
            ("kind", pa.string()),
            ("at", pa.timestamp("us", tz="UTC")),
            ("run_id", pa.string()),
            ("asset", pa.string()),
            ("partition", pa.string()),
            *[(name, types[kind]) for name, kind in table.columns],
            ("payload", pa.string()),
            ("schema_version", pa.int32()),
        ]
    )


def events_to_tables(events: Iterable[Event]) -> dict[str, pa.Table]:
    """Group events into one Arrow table per fact table (every table present, maybe empty)."""
    rows: dict[str, list[dict[str, Any]]] = {t.name: [] for t in KINDS.values()}
    for event in events:
        table = KINDS[event.kind]
        row = {
            "event_id": event.event_id,
            "kind": event.kind,
            "at": event.at,
            "run_id": event.run_id,
            "asset": event.asset,
            "partition": event.partition,
            "payload": json.dumps(dict(event.payload), sort_keys=True, default=str),
            "schema_version": event.schema_version,
        }
        for name, _ in table.columns:
            row[name] = event.payload.get(name)
        rows[table.name].append(row)
    return {t.name: rows_to_table(rows[t.name], table_schema(t)) for t in KINDS.values()}
