# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The Tier 2 event log: append-only inbox, compaction into Parquet, fresh reads.

Layout (DESIGN §2)::

    events/inbox/{date}/{object}.json                 immutable, one event or a batch
    events/compacted/{table}/part-{seq}-{id}.parquet  written by compaction
    events/compacted/_manifests/{seq:020d}.json       put-if-absent; names the live parts

* **Append** creates one inbox object put-if-absent, named after its event ids, so a replayed
  append finds the object already there and changes nothing. The event is visible to readers as
  soon as ``append`` returns.
* **Compaction** reads the inbox objects the latest manifest has not compacted, writes them as
  new Parquet parts, and commits manifest ``seq + 1`` put-if-absent. The manifest is the commit
  point; a crash before it leaves only unreferenced parts (collected later), a crash after it
  leaves inbox objects the manifest already marks as compacted. Re-running converges.
* **Garbage collection** deletes inbox objects compacted longer ago than the grace period, and
  unreferenced parts older than it, so readers that started before a compaction finish safely.
* **Fresh read** = the manifest's parts + the uncompacted inbox, deduplicated by event id.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from arco_nb.catalog.events import (
    EVENT_SCHEMA_VERSION,
    KINDS,
    Event,
    events_to_tables,
    inbox_object,
    parse_inbox_object,
)
from arco_nb.catalog.parquet import read_parquet_object
from arco_nb.catalog.sequence import NumberedObjects
from arco_nb.core.errors import (
    AlreadyExists,
    ConfigError,
    CorruptObject,
    InvalidEvent,
    ObjectNotFound,
    QueryError,
)
from arco_nb.core.ids import canonical_json, content_id, id_timestamp, new_id
from arco_nb.core.storage import ObjectStore

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["FANOUT", "CompactionResult", "EventLog", "Manifest", "PartInfo"]

INBOX = "events/inbox"
COMPACTED = "events/compacted"
MANIFESTS = f"{COMPACTED}/_manifests"
MANIFEST_HINT = f"{COMPACTED}/_last_manifest.json"
DEFAULT_GRACE = dt.timedelta(hours=1)
_PART = re.compile(r"part-\d{20}-([0-9a-hjkmnp-tv-z]{26})\.parquet")
_ROUND = re.compile(r"part-(\d{20})-")
# Parts of one level merged into one part of the next: a table has at most FANOUT - 1 parts
# per level, so a fresh reader opens O(log n) parts after n compactions.
FANOUT = 4


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


@dataclass(frozen=True)
class PartInfo:
    """Where a compacted part stands: its merge level, and the compaction rounds whose inbox
    objects it holds (``first`` to ``last``)."""

    level: int
    first: int
    last: int


@dataclass(frozen=True)
class Manifest:
    """What compaction has committed: the live parts, and the inbox objects they cover."""

    seq: int = 0
    created_at: dt.datetime | None = None
    parts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # inbox key -> when it was compacted; dropped once garbage collection deleted the object
    compacted: Mapping[str, dt.datetime] = field(default_factory=dict)
    # live part -> its level and rounds; parts written before merging existed have none
    info: Mapping[str, PartInfo] = field(default_factory=dict)
    # part merged into a bigger one -> when; deleted once the grace period has passed
    retired: Mapping[str, dt.datetime] = field(default_factory=dict)

    def part_info(self, key: str) -> PartInfo:
        """The level and rounds of live part ``key`` (level 0 of its own round by default)."""
        found = self.info.get(key)
        if found is not None:
            return found
        match = _ROUND.search(key.rsplit("/", 1)[-1])
        seq = int(match.group(1)) if match else self.seq
        return PartInfo(0, seq, seq)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": EVENT_SCHEMA_VERSION,
            "seq": self.seq,
            "created_at": _iso(self.created_at or dt.datetime.now(dt.UTC)),
            "parts": {k: list(v) for k, v in sorted(self.parts.items())},
            "compacted": {k: _iso(v) for k, v in sorted(self.compacted.items())},
            "part_info": {
                k: {"level": v.level, "rounds": [v.first, v.last]}
                for k, v in sorted(self.info.items())
            },
            "retired": {k: _iso(v) for k, v in sorted(self.retired.items())},
        }

    @classmethod
    def from_json(cls, data: Any, *, key: str) -> Manifest:
        if not isinstance(data, dict) or data.get("schema_version") != EVENT_SCHEMA_VERSION:
            raise CorruptObject(key, reason="not a compaction manifest this Arco reads")
        try:
            return cls(
                seq=int(data["seq"]),
                created_at=dt.datetime.fromisoformat(data["created_at"]),
                parts={str(k): tuple(map(str, v)) for k, v in data["parts"].items()},
                compacted={
                    str(k): dt.datetime.fromisoformat(v) for k, v in data["compacted"].items()
                },
                info={
                    str(k): PartInfo(int(v["level"]), int(v["rounds"][0]), int(v["rounds"][1]))
                    for k, v in data.get("part_info", {}).items()
                },
                retired={
                    str(k): dt.datetime.fromisoformat(v) for k, v in data.get("retired", {}).items()
                },
            )
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise CorruptObject(key, reason=f"malformed manifest ({exc!r})") from exc


@dataclass(frozen=True)
class CompactionResult:
    """What one :meth:`EventLog.compact` call did."""

    seq: int
    inbox_objects: int
    events: int
    parts_written: int
    inbox_deleted: int
    parts_deleted: int


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
            base = self.manifest()
            manifest = Manifest(
                base.seq + 1,
                dt.datetime.now(dt.UTC),
                {n: tuple(k for k in keys if k not in gone) for n, keys in base.parts.items()},
                base.compacted,
                {k: v for k, v in base.info.items() if k not in gone},
                base.retired,
            )
            try:
                self._manifests.create(manifest.seq, manifest.to_json())
            except AlreadyExists:
                continue  # a compaction committed meanwhile: drop the parts from its manifest
            self._manifests.write_hint(manifest.seq)
            self._manifest = manifest
            self._tables.clear()
            return manifest

    # -- reading --------------------------------------------------------------------------------
    def _uncompacted(self, manifest: Manifest) -> list[str]:
        keys = [k for k in self.store.list(INBOX) if k not in manifest.compacted]
        self.backlog = sum(1 for k in keys if k not in self._unreadable)
        return keys

    def _read_inbox(self, keys: Iterable[str]) -> list[Event]:
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
            manifest = self.manifest()
            try:
                return manifest, self._read_inbox(self._uncompacted(manifest))
            except ObjectNotFound:
                # A compaction committed and collected an object between our list and read.
                continue
        manifest = self.manifest()  # pragma: no cover - three collections in a row
        return manifest, self._read_inbox(self._uncompacted(manifest))  # pragma: no cover

    def appended_since(
        self, since: tuple[int, tuple[str, ...]] | None
    ) -> tuple[tuple[int, tuple[str, ...]], list[Event] | None]:
        """The read position now, and the events appended since position ``since``.

        ``None`` instead of events when they cannot be told apart from what was there (no
        position yet, or a compaction since): read the tables again then.
        """
        manifest = self.manifest()
        keys = tuple(self._uncompacted(manifest))
        now = (manifest.seq, keys)
        if since is None or since[0] != manifest.seq or not set(since[1]) <= set(keys):
            return now, None
        seen = set(since[1])
        try:
            return now, self._read_inbox([k for k in keys if k not in seen])
        except ObjectNotFound:  # collected meanwhile: a compaction committed
            return now, None

    def read_columns(self, name: str, columns: list[str]) -> pa.Table:
        """Some columns of a fact table (deduplicated like :meth:`read_table`). Cheaper when the
        table is not cached: compacted parts decode only these columns (not ``payload``)."""
        import pyarrow as pa

        wanted = list(dict.fromkeys(["event_id", *columns]))
        manifest = self.manifest()
        keys = tuple(self._uncompacted(manifest))
        cached = self._tables.get(name)
        if cached is not None and cached[0] == (manifest.seq, keys):
            return cached[1].select(columns)
        try:
            fresh = self._read_inbox(keys)
            parts = [
                read_parquet_object(self.store, k, columns=wanted)
                for k in manifest.parts.get(name, ())
            ]
        except ObjectNotFound:  # a compaction moved things meanwhile: read it all
            return self.read_table(name).select(columns)
        parts.append(events_to_tables(fresh)[name].select(wanted))
        return _dedup(pa.concat_tables(parts, promote_options="default")).select(columns)

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
            manifest = self.manifest()
            keys = tuple(self._uncompacted(manifest))
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
        fresh = self._read_inbox([k for k in keys if k not in known])
        if not pieces:
            pieces = [read_parquet_object(self.store, k) for k in manifest.parts.get(name, ())]
        pieces.append(events_to_tables(fresh)[name])
        # Parts written by a newer minor version may carry extra columns (ADR 0006).
        table = _dedup(pa.concat_tables(pieces, promote_options="default"))
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
        given = now
        if given is not None and given.tzinfo is None:
            raise ConfigError("compact(now=...) needs a timezone-aware time", hint="Use UTC")
        while True:
            # A fresh time per attempt: a lost race or a long merge must not backdate what
            # this round compacts or retires, which would shorten their grace period.
            now = given or dt.datetime.now(dt.UTC)
            base = self.manifest()
            keys = self._uncompacted(base)
            # Replayed appends put the same event in several objects; store it once.
            events = list({e.event_id: e for e in self._read_inbox(keys)}.values())
            keys = [k for k in keys if k in self._parsed]  # unreadable objects stay in the inbox
            seq = base.seq + 1
            round_ = _Round(seq, base)
            for name, table in events_to_tables(events).items():
                if table.num_rows:
                    round_.add(name, self._write_new_part(name, seq, table), PartInfo(0, seq, seq))
            try:
                for name in sorted(round_.parts):
                    self._merge(name, round_)
            except _StaleBase:
                # A part of our base left the manifest meanwhile (doctor dropped it, or a
                # compactor retired and collected it): start again from the newest manifest.
                for key in round_.written:
                    self.store.delete(key)
                continue
            expired = {k for k, at in base.compacted.items() if now - at >= self.grace}
            expired_parts = {k for k, at in base.retired.items() if now - at >= self.grace}
            if not keys and not expired and not expired_parts and not round_.written:
                deleted_parts = self._collect_parts(base, now)
                return CompactionResult(base.seq, 0, 0, 0, 0, deleted_parts)
            # Delete expired objects *before* the manifest forgets them: a crash in between
            # leaves them listed, so an inbox object is never compacted twice and a part
            # never becomes an orphan that only its (old) id could age.
            for key in sorted(expired | expired_parts):
                self.store.delete(key)
            compacted = {k: at for k, at in base.compacted.items() if k not in expired}
            compacted.update(dict.fromkeys(keys, now))
            retired = {k: at for k, at in base.retired.items() if k not in expired_parts}
            retired.update(dict.fromkeys(round_.merged_away, now))
            if not all(self.store.exists(k) for k in round_.written):
                # Another compactor's clock ran far ahead and collected our fresh parts as
                # orphans; committing would name missing files. Start the round again.
                continue
            live = {name: tuple(v) for name, v in round_.parts.items()}
            named = {k for v in live.values() for k in v}
            info = {k: v for k, v in round_.info.items() if k in named}
            manifest = Manifest(seq, now, live, compacted, info, retired)
            try:
                self._manifests.create(seq, manifest.to_json())
            except AlreadyExists:
                for key in round_.written:  # another compactor won this round; ours are orphans
                    self.store.delete(key)
                continue
            self._manifests.write_hint(seq)
            self._manifest = manifest
            for key in expired:
                self._parsed.pop(key, None)
            deleted_parts = len(expired_parts) + self._collect_parts(manifest, now)
            return CompactionResult(
                seq, len(keys), len(events), len(round_.written), len(expired), deleted_parts
            )

    def _write_new_part(self, name: str, seq: int, table: pa.Table) -> str:
        import pyarrow.parquet as pq

        key = f"{COMPACTED}/{name}/part-{seq:020d}-{new_id()}.parquet"
        with self.store.open(key, "wb") as f:
            pq.write_table(table.sort_by("at"), f, compression="zstd")
        return key

    def _merge(self, name: str, round_: _Round) -> None:
        """Merge ``FANOUT`` parts of one level into one of the next, lowest level first, until
        no level of table ``name`` has that many."""
        import pyarrow as pa

        while True:
            levels: dict[int, list[str]] = {}
            for key in round_.parts[name]:
                levels.setdefault(round_.part_info(key).level, []).append(key)
            full = sorted(level for level, keys in levels.items() if len(keys) >= FANOUT)
            if not full:
                return
            group = levels[full[0]][:FANOUT]
            try:
                tables = [read_parquet_object(self.store, k) for k in group]
            except (ObjectNotFound, CorruptObject):
                if self._manifests.latest(round_.base.seq) > round_.base.seq:
                    raise _StaleBase from None
                # Damaged in the newest manifest: leave this table's parts as they are, so
                # the inbox is still compacted; `arco doctor --repair` deals with the part.
                return
            merged = _dedup(pa.concat_tables(tables, promote_options="default"))
            spans = [round_.part_info(k) for k in group]
            info = PartInfo(full[0] + 1, min(i.first for i in spans), max(i.last for i in spans))
            key = self._write_new_part(name, round_.seq, merged)
            round_.replace(name, group, key, info)
            for old in group:
                if old in round_.written:  # written by this round: no reader ever saw it
                    round_.written.remove(old)
                    self.store.delete(old)
                else:
                    round_.merged_away.append(old)

    def _collect_parts(self, manifest: Manifest, now: dt.datetime) -> int:
        """Delete parts no manifest references (from crashed or losing compactions)."""
        live = {k for keys in manifest.parts.values() for k in keys} | set(manifest.retired)
        deleted = 0
        for name in {t.name for t in KINDS.values()}:
            for key in self.store.list(f"{COMPACTED}/{name}"):
                if key in live:
                    continue
                match = _PART.fullmatch(key.rsplit("/", 1)[-1])
                if match is None:
                    continue  # not ours: leave it alone
                try:
                    age = now - id_timestamp(match.group(1))
                except ValueError:
                    continue
                if age >= self.grace:  # younger ones may belong to a compaction in flight
                    self.store.delete(key)
                    deleted += 1
        return deleted


class _StaleBase(Exception):
    """A part of the round's base manifest is gone because a newer manifest dropped it."""


@dataclass
class _Round:
    """The parts one compaction round is putting together on top of manifest ``base``."""

    seq: int
    base: Manifest
    parts: dict[str, list[str]] = field(default_factory=dict)
    info: dict[str, PartInfo] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    merged_away: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.parts = {name: list(keys) for name, keys in self.base.parts.items()}
        self.info = {k: self.base.part_info(k) for keys in self.parts.values() for k in keys}

    def part_info(self, key: str) -> PartInfo:
        return self.info[key]

    def add(self, name: str, key: str, info: PartInfo) -> None:
        self.parts.setdefault(name, []).append(key)
        self.info[key] = info
        self.written.append(key)

    def replace(self, name: str, group: list[str], key: str, info: PartInfo) -> None:
        keys = self.parts[name]
        keys[keys.index(group[0])] = key
        self.parts[name] = [k for k in keys if k not in group]
        self.info[key] = info
        self.written.append(key)


def _dedup(table: pa.Table) -> pa.Table:
    """Keep the first row of each event id (replayed appends and re-compaction repeat them)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return table
    indices = pa.array(range(table.num_rows), type=pa.int64())
    first = (
        pa.table({"event_id": table["event_id"], "i": indices})
        .group_by("event_id", use_threads=False)
        .aggregate([("i", "min")])
        .column("i_min")
    )
    return table.take(pc.take(first, pc.sort_indices(first)))
