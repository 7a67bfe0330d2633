# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The Tier 2 event log: append-only inbox, compaction into Parquet, fresh reads.

Layout (DESIGN §2)::

    events/inbox/{date}/{object}.json                 immutable, one event or a batch
    events/compacted/{table}/part-{seq}-{id}.parquet  written by compaction
    events/compacted/_manifests/{seq:020d}.json       put-if-absent; names the live parts
    events/compacted/_inbox/{date}/{object}.json      compacted inbox objects, until collected

* **Append** creates one inbox object put-if-absent, named after its event ids, so a replayed
  append finds the object already there and changes nothing. The event is visible to readers as
  soon as ``append`` returns.
* **Compaction** reads the inbox objects the latest manifest has not compacted, writes them as
  new Parquet parts, and commits manifest ``seq + 1`` put-if-absent. The manifest is the commit
  point; a crash before it leaves only unreferenced parts (collected later), a crash after it
  leaves inbox objects the manifest already marks as compacted. Re-running converges. Once
  committed, the round moves its inbox objects to ``events/compacted/_inbox/``, so a listing
  of the inbox holds only what is not compacted yet (ADR 0021).
* **Garbage collection** deletes compacted inbox objects and unreferenced parts once the grace
  period has passed, so readers that started before a compaction finish safely.
* **Fresh read** = the inbox listing, then the manifest read after it: its parts + the
  objects of the listing it does not cover, deduplicated by event id.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING

from arco_nb.catalog.compaction import FANOUT, CompactionResult, dedup
from arco_nb.catalog.events import (
    KINDS,
    Event,
    events_to_tables,
    inbox_object,
    parse_inbox_object,
)
from arco_nb.catalog.latest import MATERIALIZATION_FIELDS, TASK_FIELDS, LatestFacts
from arco_nb.catalog.manifest import (
    COMPACTED,
    INBOX,
    MANIFEST_HINT,
    MANIFESTS,
    Manifest,
    PartInfo,
)
from arco_nb.catalog.parquet import read_parquet_object
from arco_nb.catalog.sequence import NumberedObjects
from arco_nb.core.errors import (
    AlreadyExists,
    CorruptObject,
    InvalidEvent,
    ObjectNotFound,
    QueryError,
)
from arco_nb.core.ids import canonical_json, content_id
from arco_nb.core.storage import ObjectStore

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "COMPACTED",
    "DEFAULT_GRACE",
    "FANOUT",
    "INBOX",
    "MANIFESTS",
    "MANIFEST_HINT",
    "CompactionResult",
    "EventLog",
    "Manifest",
    "PartInfo",
]

DEFAULT_GRACE = dt.timedelta(hours=1)


class EventLog:
    """Append, compact and read the operational facts of one workspace.

    Parameters
    ----------
    store
        The workspace's object store.
    grace
        How long compacted inbox objects and unreferenced parts are kept before deletion.
    """

    def __init__(self, store: ObjectStore, *, grace: dt.timedelta = DEFAULT_GRACE) -> None:
        self.store = store
        self.grace = grace
        self._manifests = NumberedObjects(store, MANIFESTS, MANIFEST_HINT)
        self._manifest = Manifest()
        self._parsed: dict[str, list[Event]] = {}  # inbox objects never change: cache them
        self._tables: dict[str, tuple[tuple[int, tuple[str, ...]], pa.Table]] = {}
        self._facts: tuple[tuple[int, str], LatestFacts] | None = None  # of one manifest
        # Uncompacted inbox objects at the last read: what auto-compaction looks at. Objects
        # that do not parse stay in the inbox whatever compaction does, so they do not count.
        self.backlog = 0
        self._unreadable: set[str] = set()

    # -- append ---------------------------------------------------------------------------------
    def append(self, events: Event | Iterable[Event]) -> list[str]:
        """Append one event or a batch as one immutable inbox object; return the event ids.

        Appending the same events again is harmless: the object name is derived from their ids.
        """
        batch = [events] if isinstance(events, Event) else list(events)
        if not batch:
            return []
        for event in batch:
            if not isinstance(event, Event):
                raise InvalidEvent(
                    f"Cannot append {type(event).__name__}", hint="Append Event.create(...) values"
                )
            event.validate()
        ids = [e.event_id for e in batch]
        name = ids[0] if len(ids) == 1 else content_id(ids, prefix="batch_")
        day = min(e.at for e in batch).strftime("%Y-%m-%d")
        key = f"{INBOX}/{day}/{name}.json"
        with contextlib.suppress(AlreadyExists):  # the very same events are already there
            # Not synced: a torn object after a power cut is skipped as unreadable, and a run's
            # data files are synced before their facts exist (ADR 0010).
            self.store.put_if_absent(key, canonical_json(inbox_object(batch)), durable=False)
        return ids

    # -- manifests ------------------------------------------------------------------------------
    def manifest(self) -> Manifest:
        """The latest committed compaction manifest (an empty one before the first)."""
        seq = self._manifests.latest(self._manifest.seq)
        if seq != self._manifest.seq:
            key = self._manifests.key(seq)
            self._manifest = Manifest.from_json(self._manifests.read(seq), key=key)
        return self._manifest

    def manifest_at(self, seq: int) -> Manifest:
        """Compaction manifest ``seq`` (``ObjectNotFound`` if there is none, ``CorruptObject``
        if it cannot be read)."""
        return Manifest.from_json(self._manifests.read(seq), key=self._manifests.key(seq))

    def drop_parts(self, parts: Iterable[str]) -> Manifest:
        """Commit a manifest that no longer names ``parts`` (repairing a damaged part, whose
        events the repair has appended again)."""
        gone = set(parts)
        while True:
            base, now = self.manifest(), dt.datetime.now(dt.UTC)
            # The latest index may hold facts of the dropped parts: the next compaction
            # rebuilds it from the parts that stay.
            retired = {**base.retired, **({base.latest: now} if base.latest else {})}
            manifest = Manifest(
                base.seq + 1,
                now,
                {n: tuple(k for k in keys if k not in gone) for n, keys in base.parts.items()},
                base.compacted,
                {k: v for k, v in base.info.items() if k not in gone},
                retired,
            )
            if self.commit_manifest(manifest):
                return manifest
            # a compaction committed meanwhile: drop the parts from its manifest

    # -- reading --------------------------------------------------------------------------------
    def listing(self) -> tuple[Manifest, tuple[str, ...]]:
        """The latest manifest and the inbox objects it has not compacted.

        The inbox is listed *before* the manifest is read: compaction moves an object out of
        the inbox only after committing a manifest that covers it, so an object the listing
        missed is in that manifest's parts, and the manifest read afterwards is at least
        that one (ADR 0021). Read the other way round, a compaction in between would hide it.
        """
        listed = self.store.list(INBOX)
        manifest = self.manifest()
        compacted = manifest.compacted
        keys = tuple(k for k in listed if k not in compacted)
        unreadable = self._unreadable
        self.backlog = sum(1 for k in keys if k not in unreadable) if unreadable else len(keys)
        return manifest, keys

    def read_inbox(self, keys: Iterable[str]) -> list[Event]:
        events: list[Event] = []
        for key in keys:
            parsed = self._parsed.get(key)
            if parsed is None:
                try:
                    parsed = parse_inbox_object(self.store.read(key), key=key)
                except CorruptObject as exc:
                    # One foreign or damaged object must not hide every other fact; it stays
                    # in the inbox (never marked compacted) for a human to look at.
                    warnings.warn(f"Skipping unreadable event object: {exc}", stacklevel=3)
                    if key not in self._unreadable:
                        self._unreadable.add(key)
                        self.backlog = max(0, self.backlog - 1)
                    continue
                self._parsed[key] = parsed
            events.extend(parsed)
        return events

    def snapshot(self) -> tuple[Manifest, list[Event]]:
        """The latest manifest and every event not yet compacted into its parts."""
        for _ in range(3):
            manifest, keys = self.listing()
            try:
                return manifest, self.read_inbox(keys)
            except ObjectNotFound:
                # A compaction committed and moved an object between our list and read.
                continue
        manifest, keys = self.listing()  # pragma: no cover - three compactions in a row
        return manifest, self.read_inbox(keys)  # pragma: no cover

    def appended_since(
        self, since: tuple[int, tuple[str, ...]] | None
    ) -> tuple[tuple[int, tuple[str, ...]], list[Event] | None]:
        """The read position now, and the events appended since position ``since``.

        ``None`` instead of events when they cannot be told apart from what was there (no
        position yet, or a compaction since): read the tables again then.
        """
        manifest, keys = self.listing()
        now = (manifest.seq, keys)
        if since is None or since[0] != manifest.seq or not set(since[1]) <= set(keys):
            return now, None
        seen = set(since[1])
        try:
            return now, self.read_inbox([k for k in keys if k not in seen])
        except ObjectNotFound:  # collected meanwhile: a compaction committed
            return now, None

    def latest(self) -> tuple[tuple[int, tuple[str, ...]], LatestFacts]:
        """The read position now, and the newest materializations and task outcomes as of
        it: the manifest's latest index plus the inbox objects it has not compacted."""
        for attempt in range(3):
            manifest, keys = self.listing()
            try:
                facts = self.compacted_facts(manifest)
                facts.fold(self.read_inbox(keys))
            except ObjectNotFound:
                if attempt == 2:  # pragma: no cover - three collections in a row
                    raise
                continue  # a compaction committed and collected an object meanwhile
            return (manifest.seq, keys), facts
        raise AssertionError("unreachable")  # pragma: no cover

    def compacted_facts(self, manifest: Manifest) -> LatestFacts:
        """The newest materializations and task outcomes in ``manifest``'s parts (a copy to
        fold into): from its latest index, or from the parts if it has none or it is damaged.
        """
        cached = self._facts
        if cached is None or cached[0] != (manifest.seq, manifest.latest):
            facts = None
            if manifest.latest:
                try:
                    raw = self.store.read(manifest.latest)
                    facts = LatestFacts.from_bytes(raw, key=manifest.latest)
                except CorruptObject as exc:
                    warnings.warn(f"Reading the parts instead: {exc}", stacklevel=2)
            if facts is None:
                facts = LatestFacts()
                materializations = manifest.parts.get("materializations", ())
                tasks = manifest.parts.get("task_transitions", ())
                if materializations or tasks:  # no parts, no Parquet (nor pyarrow) to load
                    facts.fold_tables(
                        self._parts_table(materializations, list(MATERIALIZATION_FIELDS)),
                        self._parts_table(tasks, list(TASK_FIELDS)),
                    )
            cached = self._facts = ((manifest.seq, manifest.latest), facts)
        return cached[1].copy()

    def _parts_table(self, keys: Iterable[str], columns: list[str]) -> pa.Table:
        import pyarrow as pa

        tables = [read_parquet_object(self.store, k, columns=columns) for k in keys]
        if not tables:
            return pa.table({c: pa.array([], pa.string()) for c in columns})
        return pa.concat_tables(tables, promote_options="default")

    def read_columns(self, name: str, columns: list[str]) -> pa.Table:
        """Some columns of a fact table (deduplicated like :meth:`read_table`). Cheaper when the
        table is not cached: compacted parts decode only these columns (not ``payload``)."""
        import pyarrow as pa

        wanted = list(dict.fromkeys(["event_id", *columns]))
        manifest, keys = self.listing()
        cached = self._tables.get(name)
        if cached is not None and cached[0] == (manifest.seq, keys):
            return cached[1].select(columns)
        try:
            fresh = self.read_inbox(keys)
            parts = [
                read_parquet_object(self.store, k, columns=wanted)
                for k in manifest.parts.get(name, ())
            ]
        except ObjectNotFound:  # a compaction moved things meanwhile: read it all
            return self.read_table(name).select(columns)
        parts.append(events_to_tables(fresh)[name].select(wanted))
        return dedup(pa.concat_tables(parts, promote_options="default")).select(columns)

    def read_table(self, name: str) -> pa.Table:
        """One fact table as Arrow: compacted parts + fresh inbox, deduplicated by event id.

        Parts and inbox objects never change once written, so the result is kept until the
        manifest or the inbox listing does.
        """
        return self.read_tables([name])[name]

    def read_tables(self, names: Iterable[str]) -> dict[str, pa.Table]:
        """Several fact tables as :meth:`read_table` gives them, from one listing of the inbox."""
        wanted = list(names)
        known_tables = {t.name for t in KINDS.values()}
        for name in wanted:
            if name not in known_tables:
                raise QueryError(
                    f"No fact table {name!r}",
                    hint="Fact tables: " + ", ".join(sorted(known_tables)),
                )
        for attempt in range(3):
            manifest, keys = self.listing()
            try:
                return {name: self._table_at(name, manifest, keys) for name in wanted}
            except ObjectNotFound:
                if attempt == 2:  # pragma: no cover - three collections in a row
                    raise
                continue  # a compaction committed and collected an object meanwhile
        raise AssertionError("unreachable")  # pragma: no cover

    def _table_at(self, name: str, manifest: Manifest, keys: tuple[str, ...]) -> pa.Table:
        import pyarrow as pa

        state = (manifest.seq, keys)
        cached = self._tables.get(name)
        if cached is not None and cached[0] == state:
            return cached[1]
        # Same manifest, more inbox objects: convert only the new ones.
        known: set[str] = set()
        pieces: list[pa.Table] = []
        if cached is not None and cached[0][0] == manifest.seq:
            known = set(cached[0][1])
            if known <= set(keys):
                pieces = [cached[1]]
            else:
                known = set()
        fresh = self.read_inbox([k for k in keys if k not in known])
        if not pieces:
            pieces = [read_parquet_object(self.store, k) for k in manifest.parts.get(name, ())]
        pieces.append(events_to_tables(fresh)[name])
        # Parts written by a newer minor version may carry extra columns (ADR 0006).
        table = dedup(pa.concat_tables(pieces, promote_options="default"))
        self._tables[name] = (state, table)
        return table

    def events(self, *, run_id: str | None = None) -> list[Event]:
        """Every recorded event (of one run), deduplicated, rebuilt from the fact tables."""
        import pyarrow.compute as pc

        found: list[Event] = []
        for fact in KINDS.values():
            table = self.read_table(fact.name)
            if run_id is not None:
                table = table.filter(pc.equal(table["run_id"], run_id))
            for row in table.select(
                ["event_id", "kind", "at", "run_id", "asset", "partition", "payload"]
            ).to_pylist():
                found.append(
                    Event(
                        event_id=row["event_id"],
                        kind=row["kind"],
                        at=row["at"],
                        run_id=row["run_id"],
                        asset=row["asset"],
                        partition=row["partition"],
                        payload=json.loads(row["payload"]),
                    )
                )
        return sorted(found, key=lambda e: (e.at, e.event_id))

    # -- compaction -----------------------------------------------------------------------------
    def compact(self, *, now: dt.datetime | None = None) -> CompactionResult:
        """Fold the uncompacted inbox into new Parquet parts, merge parts level by level, and
        collect what the grace period allows.

        Safe to run concurrently with writers and with other compactors, and to re-run after a
        crash at any point.
        """
        from arco_nb.catalog.compaction import compact

        return compact(self, now=now)

    def commit_manifest(self, manifest: Manifest) -> bool:
        """Commit ``manifest`` as number ``manifest.seq``; ``False`` if another writer did
        first."""
        try:
            self._manifests.create(manifest.seq, manifest.to_json())
        except AlreadyExists:
            return False
        self._manifests.write_hint(manifest.seq)
        self._manifest = manifest
        self._tables.clear()
        return True

    def newest_seq(self, at_least: int) -> int:
        """The newest manifest's number, looking from ``at_least`` up."""
        return self._manifests.latest(at_least)

    def parsed(self, keys: Iterable[str]) -> list[str]:
        """Those of inbox objects ``keys`` that were read and parsed (not unreadable)."""
        return [k for k in keys if k in self._parsed]

    def forget(self, keys: Iterable[str]) -> None:
        """Drop parsed inbox objects from memory (they were deleted)."""
        for key in keys:
            self._parsed.pop(key, None)
