# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Garbage collection by reference: delete files no record names, once they are old enough.

Snapshot files of checkpoints that lost a race or crashed, and data files whose materialization was
never recorded (a process killed between writing Parquet and appending its facts), are the only
garbage Arco leaves. A file is collected only when nothing names it *and* the id in its path is
older than the grace period, so a commit or a run still in flight is never touched: a data
file's id is taken as the file is written (not when its task starts), so the grace period only
has to outlast the moment between writing a file and recording its materialization, which the
run's recorder does within its linger (100 ms), however long the task computed. Files are
judged one by one, not by directory: version-1 records (ADR 0011) may name files of an
earlier commit's directory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from arco_nb.core.errors import CorruptObject, ObjectNotFound
from arco_nb.core.ids import id_timestamp, is_id

if TYPE_CHECKING:
    from arco_nb.catalog.catalog import Catalog
    from arco_nb.catalog.eventlog import EventLog
    from arco_nb.core.storage import ObjectStore

__all__ = ["DEFAULT_GRACE", "GcResult", "collect", "collect_unreferenced"]


@dataclass(frozen=True)
class GcResult:
    """What one collection did, per prefix."""

    deleted: dict[str, int]
    kept_young: int
    dry_run: bool = False

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def collect(
    store: ObjectStore,
    prefixes: dict[str, str],
    named: Callable[[], Iterable[Iterable[str]]],
    *,
    grace: dt.timedelta,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> GcResult:
    """Delete the files under each of ``prefixes`` that ``named()`` (one set of keys per
    prefix, in the same order) does not name and whose path id is older than ``grace``.

    ``named`` is asked after listing too: a record committed while we listed protects its files.
    """
    cutoff = (now or dt.datetime.now(dt.UTC)) - grace
    before = [set(keys) for keys in named()]
    listed = {name: store.list(prefix) for name, prefix in prefixes.items()}
    after = [set(keys) for keys in named()]
    deleted: dict[str, int] = {}
    young = 0
    for i, (name, keys) in enumerate(listed.items()):
        keep = before[i] | after[i]
        count = 0
        for key in keys:
            if key in keep:
                continue
            born = _born(key)
            if born is None:
                continue  # not a file Arco named: leave it to a human
            if born > cutoff:
                young += 1
                continue
            if not dry_run:
                store.delete(key)
            count += 1
        deleted[name] = count
    return GcResult(deleted, young, dry_run)


def _born(key: str) -> dt.datetime | None:
    """The time in the first id found in ``key`` (directory or file name)."""
    for part in reversed(key.split("/")):
        stem = part.split(".", 1)[0]
        if is_id(stem):
            return id_timestamp(stem)
    return None


DEFAULT_GRACE = dt.timedelta(hours=1)


def collect_unreferenced(
    catalog: Catalog,
    events: EventLog,
    *,
    grace: dt.timedelta | None = None,
    dry_run: bool = False,
) -> GcResult:
    """Delete snapshot files no catalog version names, data files no materialization names,
    and temporary files of writes that never finished, once older than ``grace`` (default
    :data:`DEFAULT_GRACE`)."""
    from arco_nb.catalog.checkpoints import SNAPSHOT_PREFIX

    def named() -> tuple[set[str], set[str]]:
        # Files of version-1 records (earlier releases) and of every checkpoint.
        snapshots = {k for c in catalog.history() for k in c.snapshot.values()}
        for version in catalog.checkpoints.versions():
            with contextlib.suppress(CorruptObject, ObjectNotFound):  # doctor reports it
                snapshots.update(catalog.checkpoints.read(version).files().values())
        data = set(events.read_columns("materializations", ["path"]).column("path").to_pylist())
        return snapshots, data

    grace = DEFAULT_GRACE if grace is None else grace
    found = collect(
        catalog.store,
        {"snapshots": SNAPSHOT_PREFIX, "data": "data"},
        named,
        grace=grace,
        dry_run=dry_run,
    )
    temps = catalog.store.remove_leftover_temps(grace, dry_run=dry_run)
    return replace(found, deleted={**found.deleted, "temp": temps})
