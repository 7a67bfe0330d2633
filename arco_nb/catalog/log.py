# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The Tier 1 commit log: ``catalog/_log/{version:020d}.json``, one record per version.

A record names the operations of its version, who made them and when (``schema_version`` 2,
ADR 0018). Version-1 records, written by earlier Arco releases, also name snapshot files holding
the whole catalog after them; readers use those as checkpoints. Records are created
put-if-absent, so a version has exactly one record, and are never changed.
``catalog/_last_version.json`` is a hint for where the log ends; readers probe forward from it
and never trust it alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from arco_nb.catalog.model import CatalogState
from arco_nb.catalog.operations import Operation, apply_all, operation_from_json
from arco_nb.catalog.sequence import NumberedObjects
from arco_nb.core.errors import CorruptObject
from arco_nb.core.storage import ObjectStore

__all__ = ["HINT_KEY", "LOG_PREFIX", "SCHEMA_VERSION", "CommitInfo", "CommitLog"]

LOG_PREFIX = "catalog/_log"
HINT_KEY = "catalog/_last_version.json"
SCHEMA_VERSION = 2
_READABLE = (1, 2)


@dataclass(frozen=True)
class CommitInfo:
    """One catalog version: what changed, who changed it, and when. ``snapshot`` names the
    complete catalog's files for version-1 records only (empty for records written now)."""

    version: int
    commit_id: str
    author: str
    created_at: dt.datetime
    operations_json: tuple[Mapping[str, Any], ...]
    snapshot: Mapping[str, str] = field(default_factory=dict)
    key: str = field(default="", compare=False, repr=False)

    @classmethod
    def create(
        cls,
        *,
        version: int,
        commit_id: str,
        author: str,
        created_at: dt.datetime,
        operations: Sequence[Operation],
    ) -> CommitInfo:
        """A record for operations this process is committing."""
        info = cls(
            version,
            commit_id,
            author,
            created_at,
            tuple(op.to_json() for op in operations),
        )
        info.__dict__["operations"] = tuple(operations)  # already parsed: prime the cache
        return info

    @cached_property
    def operations(self) -> tuple[Operation, ...]:
        """The typed operations (parsed on first use: loading a snapshot does not need them)."""
        source = self.key or f"commit record of version {self.version}"
        return tuple(operation_from_json(op, source=source) for op in self.operations_json)

    def apply(self, state: CatalogState) -> CatalogState:
        """The state after this version, from the state of the version before it."""
        return apply_all(state, self.operations, self.created_at).evolve(version=self.version)

    def to_json(self) -> dict[str, Any]:
        found = {
            "schema_version": 1 if self.snapshot else SCHEMA_VERSION,
            "version": self.version,
            "parent_version": self.version - 1,
            "commit_id": self.commit_id,
            "author": self.author,
            "created_at": self.created_at.astimezone(dt.UTC).isoformat(),
            "operations": [dict(op) for op in self.operations_json],
        }
        if self.snapshot:
            found["snapshot"] = dict(self.snapshot)
        return found

    @classmethod
    def from_json(cls, data: Any, *, key: str) -> CommitInfo:
        if not isinstance(data, dict):
            raise CorruptObject(key, reason="a commit record must be a JSON object")
        schema = data.get("schema_version")
        if schema not in _READABLE:
            raise CorruptObject(
                key,
                reason=f"schema_version {schema!r} is not one this Arco reads (1, 2)"
                + ("; a newer Arco wrote it: upgrade arco-nb" if _newer(schema) else ""),
            )
        try:
            operations = tuple(data["operations"])
            if not all(isinstance(op, dict) and "op" in op for op in operations):
                raise ValueError("operations must be objects with an 'op'")
            return cls(
                version=int(data["version"]),
                commit_id=str(data["commit_id"]),
                author=str(data["author"]),
                created_at=dt.datetime.fromisoformat(data["created_at"]),
                operations_json=operations,
                snapshot=(
                    {str(k): str(v) for k, v in data["snapshot"].items()} if schema == 1 else {}
                ),
                key=key,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CorruptObject(key, reason=f"missing or malformed field ({exc!r})") from exc

    def describe(self) -> str:
        """One line per operation, for ``history()`` displays."""
        return "; ".join(_describe(op) for op in self.operations)


def _newer(schema: object) -> bool:
    return type(schema) is int and schema > SCHEMA_VERSION


def _describe(op: Operation) -> str:
    data = op.to_json()
    if "table" in data:
        target = f"{data['table']['namespace']}.{data['table']['name']}"
    elif "asset" in data:
        target = data["asset"]["name"]
    else:
        target = data["name"]
    return f"{data['op']} {target}"


class CommitLog:
    """Reads and appends the commit records of one catalog."""

    def __init__(self, store: ObjectStore) -> None:
        self.objects = NumberedObjects(store, LOG_PREFIX, HINT_KEY)
        self._records: dict[int, CommitInfo] = {}

    def record(self, version: int) -> CommitInfo:
        """Return the record of ``version`` (cached: records never change)."""
        cached = self._records.get(version)
        if cached is None:
            key = self.objects.key(version)
            cached = CommitInfo.from_json(self.objects.read(version), key=key)
            if cached.version != version:
                raise CorruptObject(key, reason=f"it says it is version {cached.version}")
            self._records[version] = cached
        return cached

    def append(self, record: CommitInfo) -> None:
        """Create the record put-if-absent; raises ``AlreadyExists`` if the version is taken."""
        self.objects.create(record.version, record.to_json())
        self._records[record.version] = record

    def write_hint(self, version: int) -> None:
        """Record where the log ends (best effort)."""
        self.objects.write_hint(version)

    def latest(self, known: int = 0) -> int:
        """Return the highest version, starting from a version ``known`` to exist."""
        return self.objects.latest(known)
