# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The "latest" index: what the event log says each asset is now, kept by compaction.

Listings and planning need only the newest materialization of every (asset, partition) and
the newest finished task of every asset, not the fact tables. Each compaction round folds the
events it compacts into its base manifest's index and writes the result as one small JSON
object that the new manifest names::

    events/compacted/_latest/latest-{seq:020d}-{id}.json

A reader loads the index its manifest names and folds in the inbox objects not compacted yet:
no Parquet, no pyarrow, and a cost that follows the number of assets, not the workspace's age.
The index is a cache of the parts: a manifest without one (written before it existed, or by a
repair) or an index that cannot be read is rebuilt from the parts, never trusted blindly.
Folding is a maximum per key, so it is idempotent and order-independent: replayed appends and
events seen both in a part and in the inbox change nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from arco_nb.catalog.events import TASK_FINISHED
from arco_nb.catalog.manifest import COMPACTED
from arco_nb.core.errors import CorruptObject

if TYPE_CHECKING:
    import pyarrow as pa

    from arco_nb.catalog.events import Event

__all__ = [
    "LATEST_PREFIX",
    "MATERIALIZATION_FIELDS",
    "TASK_FIELDS",
    "LatestFacts",
    "LatestMaterialization",
]

LATEST_PREFIX = f"{COMPACTED}/_latest"
SCHEMA_VERSION = 1
MATERIALIZATION_FIELDS = (
    "asset",
    "partition",
    "materialization_id",
    "fingerprint",
    "code_version",
    "rows",
    "at",
    "run_id",
)
TASK_FIELDS = ("asset", "at", "run_id", "status")


@dataclass(frozen=True)
class LatestMaterialization:
    """The newest materialization of one (asset, partition)."""

    asset: str
    partition: str
    materialization_id: str
    fingerprint: str
    code_version: str
    rows: int
    at: dt.datetime
    run_id: str

    @property
    def order(self) -> tuple[dt.datetime, str]:
        """Newer sorts later; ids break ties within one instant."""
        return (self.at, self.materialization_id)


class LatestFacts:
    """The newest materialization per (asset, partition) and finished task per asset."""

    def __init__(self) -> None:
        self.materializations: dict[tuple[str, str], LatestMaterialization] = {}
        self.tasks: dict[str, tuple[dt.datetime, str, str]] = {}

    def copy(self) -> LatestFacts:
        """An independent copy (folding into it leaves this one as it is)."""
        other = LatestFacts()
        other.materializations = dict(self.materializations)
        other.tasks = dict(self.tasks)
        return other

    # -- folding --------------------------------------------------------------------------------
    def materialized(self, mat: LatestMaterialization) -> None:
        """Take in one materialization; the newer of it and the known one stays."""
        key = (mat.asset, mat.partition)
        known = self.materializations.get(key)
        if known is None or _rank(known) < _rank(mat):
            self.materializations[key] = mat

    def finished(self, asset: str, outcome: tuple[dt.datetime, str, str]) -> None:
        """Take in one task outcome, ``(at, run_id, status)``: the newest finished one stays."""
        if outcome[2] not in TASK_FINISHED:
            return
        known = self.tasks.get(asset)
        if known is None or known < outcome:
            self.tasks[asset] = outcome

    def fold(self, events: Iterable[Event]) -> None:
        """Take in events of any kind; those that are not materializations or tasks are
        ignored."""
        for event in events:
            p = event.payload
            if event.kind == "materialization":
                self.materialized(
                    LatestMaterialization(
                        event.asset,
                        event.partition,
                        str(p["materialization_id"]),
                        str(p.get("fingerprint") or ""),
                        str(p.get("code_version") or ""),
                        int(p.get("rows") or 0),
                        event.at,
                        event.run_id,
                    )
                )
            elif event.kind == "task":
                self.finished(event.asset, (event.at, event.run_id, str(p.get("status") or "")))

    def fold_tables(self, materializations: pa.Table, tasks: pa.Table) -> None:
        """Take in rows of the ``materializations`` and ``task_transitions`` fact tables."""
        m = materializations.select(list(MATERIALIZATION_FIELDS)).to_pydict()
        for asset, partition, mid, fingerprint, code_version, rows, at, run in zip(
            *m.values(), strict=True
        ):
            self.materialized(
                LatestMaterialization(
                    asset, partition, mid, fingerprint or "", code_version or "", rows or 0, at,
                    run or "",
                )
            )  # fmt: skip
        t = tasks.select(list(TASK_FIELDS)).to_pydict()
        for asset, at, run, status in zip(*t.values(), strict=True):
            self.finished(asset, (at, run or "", status))

    # -- the stored form ------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """Column-wise JSON, sorted by key, so equal facts give equal bytes."""
        mats = [self.materializations[k] for k in sorted(self.materializations)]
        tasks = sorted(self.tasks.items())
        return {
            "schema_version": SCHEMA_VERSION,
            "materializations": {
                "asset": [m.asset for m in mats],
                "partition": [m.partition for m in mats],
                "materialization_id": [m.materialization_id for m in mats],
                "fingerprint": [m.fingerprint for m in mats],
                "code_version": [m.code_version for m in mats],
                "rows": [m.rows for m in mats],
                "at": [_iso(m.at) for m in mats],
                "run_id": [m.run_id for m in mats],
            },
            "tasks": {
                "asset": [a for a, _ in tasks],
                "at": [_iso(t[0]) for _, t in tasks],
                "run_id": [t[1] for _, t in tasks],
                "status": [t[2] for _, t in tasks],
            },
        }

    @classmethod
    def from_bytes(cls, raw: bytes, *, key: str) -> LatestFacts:
        """Parse a stored index; ``CorruptObject`` naming ``key`` if it is not one."""
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CorruptObject(key, reason=f"not valid JSON ({exc})") from exc
        if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
            raise CorruptObject(key, reason="not a latest index this Arco reads")
        facts = cls()
        try:
            m, t = data["materializations"], data["tasks"]
            parse = dt.datetime.fromisoformat
            for asset, partition, mid, fingerprint, code_version, rows, at, run in zip(
                *(m[f] for f in MATERIALIZATION_FIELDS), strict=True
            ):
                mat = LatestMaterialization(
                    str(asset), str(partition), str(mid), str(fingerprint), str(code_version),
                    int(rows), parse(at), str(run),
                )  # fmt: skip
                facts.materializations[(mat.asset, mat.partition)] = mat
            for asset, at, run, status in zip(*(t[f] for f in TASK_FIELDS), strict=True):
                facts.tasks[str(asset)] = (parse(at), str(run), str(status))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CorruptObject(key, reason=f"malformed latest index ({exc!r})") from exc
        return facts


def _rank(mat: LatestMaterialization) -> tuple[object, ...]:
    # Every field after the order: folding stays a maximum, whatever order facts come in,
    # even for two facts of one materialization id.
    return (*mat.order, mat.run_id, mat.fingerprint, mat.code_version, mat.rows)


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()
