# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Compaction of the event log: inbox objects into Parquet parts, parts merged level by level.

A round reads the inbox objects the latest manifest has not compacted, writes them as new
level-0 parts, merges ``FANOUT`` parts of a level into one of the next, and commits manifest
``seq + 1`` put-if-absent (the commit point). A crash before it leaves only unreferenced parts,
collected once past the grace period; a lost race deletes its own parts and starts again on
the newer manifest. Once committed, the round moves its inbox objects out of the inbox (to
``HELD``), so the inbox a reader lists holds only what is not compacted (ADR 0021). Compacted
inbox objects and merged-away parts are deleted once the grace period has passed since the
manifest that retired them, so readers that started before finish safely.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from arco_nb.catalog.events import KINDS, Event, events_to_tables
from arco_nb.catalog.latest import LATEST_PREFIX
from arco_nb.catalog.manifest import COMPACTED, Manifest, PartInfo, held_key
from arco_nb.catalog.parquet import read_parquet_object
from arco_nb.core.errors import ConfigError, CorruptObject, ObjectNotFound
from arco_nb.core.ids import canonical_json, id_timestamp, new_id

if TYPE_CHECKING:
    import pyarrow as pa

    from arco_nb.catalog.eventlog import EventLog

__all__ = ["FANOUT", "CompactionResult", "compact", "dedup"]

_PART = re.compile(r"(?:part|latest)-\d{20}-([0-9a-hjkmnp-tv-z]{26})\.(?:parquet|json)")
# Parts of one level merged into one part of the next: a table has at most FANOUT - 1 parts
# per level, so a fresh reader opens O(log n) parts after n compactions.
FANOUT = 4


@dataclass(frozen=True)
class CompactionResult:
    """What one :meth:`EventLog.compact` call did."""

    seq: int
    inbox_objects: int
    events: int
    parts_written: int
    inbox_deleted: int
    parts_deleted: int  # merged-away or orphaned parts, and replaced latest indexes

    def describe(self) -> str:
        """One sentence for people (``arco compact``, ``%arco compact``)."""
        from arco_nb.catalog.vocabulary import plural

        return (
            f"Compacted {plural(self.events, 'event')} from "
            f"{plural(self.inbox_objects, 'inbox object')} into "
            f"{plural(self.parts_written, 'Parquet part')}; collected "
            f"{plural(self.inbox_deleted, 'inbox object')} and "
            f"{plural(self.parts_deleted, 'part')} past the grace period."
        )


def compact(log: EventLog, *, now: dt.datetime | None = None) -> CompactionResult:
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
        base, listed = log.listing()
        # Replayed appends put the same event in several objects; store it once.
        events = list({e.event_id: e for e in log.read_inbox(listed)}.values())
        keys = log.parsed(listed)  # unreadable objects stay in the inbox
        seq = base.seq + 1
        round_ = _Round(seq, base)
        for name, table in events_to_tables(events).items():
            if table.num_rows:
                round_.add(name, _write_new_part(log, name, seq, table), PartInfo(0, seq, seq))
        try:
            for name in sorted(round_.parts):
                _merge(log, name, round_)
            if events or (not base.latest and any(base.parts.values())):
                round_.latest = _write_latest(log, round_, events)
        except _StaleBase:
            # A part of our base left the manifest meanwhile (doctor dropped it, or a
            # compactor retired and collected it): start again from the newest manifest.
            round_.discard(log)
            continue
        expired = {k for k, at in base.compacted.items() if now - at >= log.grace}
        expired_parts = {k for k, at in base.retired.items() if now - at >= log.grace}
        fresh = round_.written + [k for k in (round_.latest,) if k and k != base.latest]
        if not keys and not expired and not expired_parts and not fresh:
            deleted_parts = _collect_parts(log, base, now)
            return CompactionResult(base.seq, 0, 0, 0, 0, deleted_parts)
        # Delete expired objects *before* the manifest forgets them: a crash in between
        # leaves them listed, so an inbox object is never compacted twice and a part
        # never becomes an orphan that only its (old) id could age.
        for key in sorted(expired):
            log.store.delete(key)  # still in the inbox if a crash came before its move
            log.store.delete(held_key(key))
        for key in sorted(expired_parts):
            log.store.delete(key)
        compacted = {k: at for k, at in base.compacted.items() if k not in expired}
        compacted.update(dict.fromkeys(keys, now))
        retired = {k: at for k, at in base.retired.items() if k not in expired_parts}
        retired.update(dict.fromkeys(round_.merged_away, now))
        if base.latest and round_.latest != base.latest:
            retired[base.latest] = now  # readers of the base manifest may still load it
        if not all(log.store.exists(k) for k in fresh):
            # Another compactor's clock ran far ahead and collected our fresh parts as
            # orphans; committing would name missing files. Start the round again.
            continue
        live = {name: tuple(v) for name, v in round_.parts.items()}
        named = {k for v in live.values() for k in v}
        info = {k: v for k, v in round_.info.items() if k in named}
        manifest = Manifest(seq, now, live, compacted, info, retired, round_.latest)
        if not log.commit_manifest(manifest):
            round_.discard(log)  # another compactor won this round; ours are orphans
            continue
        log.forget(expired)
        _hold(log, keys)
        deleted_parts = len(expired_parts) + _collect_parts(log, manifest, now)
        return CompactionResult(
            seq, len(keys), len(events), len(round_.written), len(expired), deleted_parts
        )


def _hold(log: EventLog, keys: Iterable[str]) -> None:
    """Move the inbox objects a committed manifest covers out of the inbox: readers list
    only what is left to compact, however many compactions the grace period holds."""
    for key in keys:
        try:
            log.store.move(key, held_key(key))
        except ObjectNotFound:
            continue  # deleted meanwhile (by hand): nothing left to move


def _write_new_part(log: EventLog, name: str, seq: int, table: pa.Table) -> str:
    import pyarrow.parquet as pq

    key = f"{COMPACTED}/{name}/part-{seq:020d}-{new_id()}.parquet"
    with log.store.open(key, "wb") as f:
        pq.write_table(table.sort_by("at"), f, compression="zstd")
    return key


def _merge(log: EventLog, name: str, round_: _Round) -> None:
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
            tables = [read_parquet_object(log.store, k) for k in group]
        except (ObjectNotFound, CorruptObject):
            if log.newest_seq(round_.base.seq) > round_.base.seq:
                raise _StaleBase from None
            # Damaged in the newest manifest: leave this table's parts as they are, so
            # the inbox is still compacted; `arco doctor --repair` deals with the part.
            return
        merged = dedup(pa.concat_tables(tables, promote_options="default"))
        spans = [round_.part_info(k) for k in group]
        info = PartInfo(full[0] + 1, min(i.first for i in spans), max(i.last for i in spans))
        key = _write_new_part(log, name, round_.seq, merged)
        round_.replace(name, group, key, info)
        for old in group:
            if old in round_.written:  # written by this round: no reader ever saw it
                round_.written.remove(old)
                log.store.delete(old)
            else:
                round_.merged_away.append(old)


def _collect_parts(log: EventLog, manifest: Manifest, now: dt.datetime) -> int:
    """Delete parts and latest indexes no manifest references (from crashed or losing
    compactions)."""
    live = {k for keys in manifest.parts.values() for k in keys} | set(manifest.retired)
    live.add(manifest.latest)
    deleted = 0
    folders = [f"{COMPACTED}/{t.name}" for t in KINDS.values()] + [LATEST_PREFIX]
    for folder in sorted(set(folders)):
        for key in log.store.list(folder):
            if key in live:
                continue
            match = _PART.fullmatch(key.rsplit("/", 1)[-1])
            if match is None:
                continue  # not ours: leave it alone
            try:
                age = now - id_timestamp(match.group(1))
            except ValueError:
                continue
            if age >= log.grace:  # younger ones may belong to a compaction in flight
                log.store.delete(key)
                deleted += 1
    return deleted


def _write_latest(log: EventLog, round_: _Round, events: list[Event]) -> str:
    """The latest index of the round's parts: the base's, with ``events`` folded in; ``""``
    if it cannot be built (a damaged part in the newest manifest, which doctor repairs)."""
    base = round_.base
    try:
        facts = log.compacted_facts(base)
    except (ObjectNotFound, CorruptObject):
        if log.newest_seq(base.seq) > base.seq:
            raise _StaleBase from None
        return ""
    facts.fold(events)
    key = f"{LATEST_PREFIX}/latest-{round_.seq:020d}-{new_id()}.json"
    log.store.write(key, canonical_json(facts.to_json()))
    return key


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
    latest: str = ""

    def __post_init__(self) -> None:
        self.parts = {name: list(keys) for name, keys in self.base.parts.items()}
        self.info = {k: self.base.part_info(k) for keys in self.parts.values() for k in keys}
        self.latest = self.base.latest

    def part_info(self, key: str) -> PartInfo:
        return self.info[key]

    def discard(self, log: EventLog) -> None:
        """Delete what this round wrote: it will not be committed."""
        for key in [*self.written, self.latest]:
            if key and key != self.base.latest:
                log.store.delete(key)

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


def dedup(table: pa.Table) -> pa.Table:
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
