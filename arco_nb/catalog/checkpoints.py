# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Catalog checkpoints: the complete catalog at one version, so readers replay few records.

A commit writes only its record (ADR 0018). A checkpoint is written off the commit path:

    catalog/snapshots/{checkpoint_id}/{namespaces,tables,columns,assets}.parquet
    catalog/snapshots/{checkpoint_id}/definitions.json   namespaces and assets, as JSON
    catalog/_checkpoints/{version:020d}.json     put-if-absent; names the five files
    catalog/_last_checkpoint.json                a hint: the newest checkpoint's version

``definitions.json`` repeats the (small) namespaces and asset definitions so that a reader that
needs no table, such as a listing of assets, loads no Parquet (and no pyarrow); the table files
are read on the first table lookup. The snapshot files are written first, so a checkpoint
object never names a missing file; a writer killed half-way leaves files no checkpoint names,
which gc collects. A checkpoint at a version is only ever a cache of what replaying the log
gives: losing one costs a longer replay, never a commit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from arco_nb.catalog.model import CatalogState
from arco_nb.catalog.sequence import read_hint, write_hint
from arco_nb.catalog.snapshot import SNAPSHOT_FILES, snapshot_bytes, write_snapshot
from arco_nb.core.errors import AlreadyExists, CorruptObject, StorageError
from arco_nb.core.ids import canonical_json, new_id
from arco_nb.core.storage import ObjectStore

__all__ = [
    "CHECKPOINT_HINT",
    "CHECKPOINT_PREFIX",
    "INTERVAL",
    "REPLAY_LIMIT",
    "SNAPSHOT_PREFIX",
    "Checkpoint",
    "Checkpoints",
]

CHECKPOINT_PREFIX = "catalog/_checkpoints"
CHECKPOINT_HINT = "catalog/_last_checkpoint.json"
SNAPSHOT_PREFIX = "catalog/snapshots"
INTERVAL = 50  # the committer of every 50th version checkpoints it, in the background
REPLAY_LIMIT = 100  # a reader that replayed more records than this checkpoints what it read
SCHEMA_VERSION = 1
_NAME = re.compile(r"(\d{20})\.json")


@dataclass(frozen=True)
class Checkpoint:
    """The snapshot files that hold the catalog at ``version``."""

    version: int
    checkpoint_id: str
    created_at: dt.datetime
    snapshot: Mapping[str, str]
    # JSON namespaces and assets (absent from checkpoints of earlier releases)
    definitions: str = ""
    key: str = field(default="", compare=False, repr=False)

    def files(self) -> dict[str, str]:
        """Every file this checkpoint names, by kind (the snapshot's and ``definitions``)."""
        return {**self.snapshot, **({"definitions": self.definitions} if self.definitions else {})}

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "version": self.version,
            "checkpoint_id": self.checkpoint_id,
            "created_at": self.created_at.astimezone(dt.UTC).isoformat(),
            "snapshot": dict(self.snapshot),
            **({"definitions": self.definitions} if self.definitions else {}),
        }

    @classmethod
    def from_json(cls, data: Any, *, key: str) -> Checkpoint:
        if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
            raise CorruptObject(key, reason="not a version-1 checkpoint object")
        try:
            snapshot = {str(k): str(v) for k, v in data["snapshot"].items()}
            if missing := [n for n in SNAPSHOT_FILES if n not in snapshot]:
                raise ValueError(f"no {', '.join(missing)} file")
            return cls(
                version=int(data["version"]),
                checkpoint_id=str(data["checkpoint_id"]),
                created_at=dt.datetime.fromisoformat(data["created_at"]),
                snapshot=snapshot,
                definitions=str(data.get("definitions") or ""),
                key=key,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CorruptObject(key, reason=f"missing or malformed field ({exc})") from exc


_HINT_LOCK = threading.Lock()


class Checkpoints:
    """Finds, reads and writes the checkpoints of one catalog."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._read: dict[int, Checkpoint] = {}

    def key(self, version: int) -> str:
        """The key of the checkpoint object of ``version``."""
        return f"{CHECKPOINT_PREFIX}/{version:020d}.json"

    def versions(self) -> list[int]:
        """Every version that has a checkpoint object, ascending (one listing)."""
        found = []
        for key in self.store.list(CHECKPOINT_PREFIX):
            match = _NAME.fullmatch(key.rsplit("/", 1)[-1])
            if match is not None:
                found.append(int(match.group(1)))
        return sorted(found)

    def candidates(self, version: int) -> list[int]:
        """Versions of checkpoints at or below ``version``, newest first, as far as the hint
        tells without a listing: reading the latest version must not list anything."""
        hint = self._hint()
        if not hint:
            # None written yet, or the hint's write failed: readers replay from a version-1
            # record or from version 0, and one that replays many records writes a new one.
            return []
        if hint <= version and self.store.exists(self.key(hint)):
            # Newer ones may exist if the hint's writer lost a race; replaying a few more
            # records is all that costs.
            return [hint]
        return [v for v in reversed(self.versions()) if v <= version]

    def read(self, version: int) -> Checkpoint:
        """Checkpoint ``version``; ``ObjectNotFound`` or ``CorruptObject`` if it cannot be."""
        cached = self._read.get(version)
        if cached is None:
            key = self.key(version)
            raw = self.store.read(key)
            try:
                data = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise CorruptObject(key, reason=f"not valid JSON ({exc})") from exc
            cached = Checkpoint.from_json(data, key=key)
            if cached.version != version:
                raise CorruptObject(key, reason=f"it says it is version {cached.version}")
            self._read[version] = cached
        return cached

    def write(self, state: CatalogState) -> Checkpoint:
        """Checkpoint ``state`` (the catalog at ``state.version``) and return the checkpoint;
        if another writer checkpointed that version first, return theirs."""
        checkpoint_id = new_id()
        directory = f"{SNAPSHOT_PREFIX}/{checkpoint_id}"
        files = write_snapshot(self.store, directory, state)
        definitions = f"{directory}/definitions.json"
        self.store.write(definitions, snapshot_bytes(state, "definitions"))
        checkpoint = Checkpoint(
            state.version,
            checkpoint_id,
            dt.datetime.now(dt.UTC),
            files,
            definitions,
            key=self.key(state.version),
        )
        try:
            self.store.put_if_absent(checkpoint.key, canonical_json(checkpoint.to_json()))
        except AlreadyExists:
            for key in [*files.values(), definitions]:  # never named: tidy up (or gc will)
                with contextlib.suppress(StorageError):
                    self.store.delete(key)
            return self.read(state.version)
        self._read[state.version] = checkpoint
        # Checkpoints of one process are written by threads of their own: an older one that
        # finishes last must not move the hint back (another process still can; readers then
        # replay a few more records).
        with _HINT_LOCK:
            if state.version > self._hint():
                write_hint(self.store, CHECKPOINT_HINT, state.version)
        return checkpoint

    def _hint(self) -> int:
        return read_hint(self.store, CHECKPOINT_HINT) or 0
