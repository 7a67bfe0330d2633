# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The Tier 1 catalog: strongly consistent, versioned, with no server.

Commit protocol (DESIGN §3, ADRs 0004 and 0018):

1. Refresh to the latest version N and apply the operations to it (invalid operations fail
   here, before anything is written).
2. Create ``catalog/_log/{N+1}.json`` put-if-absent, naming the operations. That object's
   creation *is* the commit: before it nothing is visible, after it everything is. It is the
   only object a commit writes, whatever the size of the catalog.
3. If another writer created N+1 first, read the versions that won. If they already made every
   change of this commit (two writers defining the same thing), the commit is a no-op. If any
   touched an object this commit touches, raise :class:`~arco_nb.core.errors.CommitConflict`;
   otherwise re-apply on top of them and retry, with jittered exponential backoff, until the
   retry budget (30 minutes by default, Iceberg's) is spent (ADR 0015).

Readers load the newest checkpoint (:mod:`arco_nb.catalog.checkpoints`) at or below the version
they want and replay the records after it. The committer of every ``INTERVAL``-th version
writes a checkpoint in a background thread, after its commit is acknowledged; a reader that had
to replay more than ``REPLAY_LIMIT`` records writes one too.
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import itertools
import random
import threading
import time
import warnings
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from arco_nb.catalog.checkpoints import INTERVAL, REPLAY_LIMIT, Checkpoint, Checkpoints
from arco_nb.catalog.diff import CatalogDiff, diff_states
from arco_nb.catalog.log import CommitInfo, CommitLog
from arco_nb.catalog.model import (
    AssetDef,
    CatalogState,
    Column,
    Table,
    sorted_tags,
    split_table_name,
)
from arco_nb.catalog.operations import (
    AlterTable,
    CreateNamespace,
    CreateTable,
    DefineAsset,
    DropAsset,
    DropNamespace,
    DropTable,
    Operation,
    apply_all,
    dependents,
)
from arco_nb.catalog.snapshot import read_snapshot
from arco_nb.catalog.view import CatalogView
from arco_nb.core.errors import (
    AlreadyExists,
    CatalogError,
    CommitConflict,
    CorruptObject,
    ObjectNotFound,
    one_line,
)
from arco_nb.core.ids import new_id
from arco_nb.core.storage import ObjectStore
from arco_nb.core.syncer import later

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Catalog"]

_STATES_KEPT = 8


class Catalog(CatalogView):
    """The catalog of one workspace, always read at its latest version.

    Parameters
    ----------
    store
        The workspace's object store (``TenantScope.store()``).
    author
        Recorded in each commit (default: the operating-system user).
    retry_budget
        Seconds a commit that keeps losing races to non-conflicting commits may go on retrying
        (default 1,800: Iceberg's total commit timeout). A lost race means another commit
        landed, so the catalog always makes progress; only a real conflict, or a budget
        spent, raises :class:`~arco_nb.core.errors.CommitConflict`.
    max_retries
        Also give up after this many retries (default: no limit but the budget).
    min_wait, max_wait
        The backoff between retries: 100 ms first, doubling up to 2 s, with jitter.
    """

    def __init__(
        self,
        store: ObjectStore,
        *,
        author: str | None = None,
        retry_budget: float = 1800.0,
        max_retries: int | None = None,
        min_wait: float = 0.1,
        max_wait: float = 2.0,
    ) -> None:
        super().__init__(CatalogState())
        self.store = store
        self.author = author or _default_author()
        self.retry_budget = retry_budget
        self.max_retries = max_retries
        self.min_wait = min_wait
        self.max_wait = max_wait
        self._log = CommitLog(store)
        self._lock = threading.RLock()
        self._states: dict[int, CatalogState] = {}
        self.checkpoints = Checkpoints(store)
        self._writers: list[threading.Thread] = []

    # -- reading --------------------------------------------------------------------------------
    @property
    def version(self) -> int:
        """The latest committed version (0: nothing committed yet)."""
        return self._refresh().version

    @property
    def state(self) -> CatalogState:
        """The latest catalog state."""
        return self._refresh()

    def _refresh(self) -> CatalogState:
        with self._lock:
            current = self._state
            latest = self._log.latest(current.version)
            if latest == current.version:
                return current
            if current.version and latest - current.version <= REPLAY_LIMIT:
                state = current
                for version in range(current.version + 1, latest + 1):
                    state = self._log.record(version).apply(state)
            else:
                state = self._load(latest)
            self._state = state
            return state

    def _load(self, version: int, *, below: int | None = None) -> CatalogState:
        """The state at ``version``: the newest checkpoint at or below it (``below``: below
        that version, whose checkpoint is damaged), plus the records after it replayed."""
        if version == 0:
            return CatalogState()
        cached = self._states.get(version)
        if cached is not None and below is None:
            return cached
        if below is None:
            candidates = self.checkpoints.candidates(version)
        else:
            candidates = [v for v in self.checkpoints.versions() if v < below][::-1]
        pending: list[CommitInfo] = []
        state: CatalogState | None = None
        while state is None:
            floor = candidates[0] if candidates else 0
            at = version - len(pending)
            while at > floor:
                record = self._log.record(at)
                if record.snapshot:  # a version-1 record names a whole snapshot: a checkpoint
                    state = read_snapshot(self.store, record.snapshot, at)
                    break
                pending.append(record)
                at -= 1
            if state is None:
                state = self._read_checkpoint(floor)
            if state is None:  # damaged: fall back to an older one and replay more
                candidates = [v for v in self.checkpoints.versions() if v < floor][::-1]
        for record in reversed(pending):
            state = record.apply(state)
        if len(pending) > REPLAY_LIMIT:
            self._checkpoint_later(state)
        if len(self._states) >= _STATES_KEPT:  # as_of views of old versions: keep a few
            del self._states[next(iter(self._states))]
        self._states[version] = state
        return state

    def _read_checkpoint(self, version: int) -> CatalogState | None:
        if version == 0:
            return CatalogState()
        try:
            checkpoint = self.checkpoints.read(version)
            return read_snapshot(
                self.store,
                checkpoint.snapshot,
                version,
                definitions=checkpoint.definitions,
                fallback=lambda: self._load(version, below=version).tables,
            )
        except (CorruptObject, ObjectNotFound) as exc:
            warnings.warn(
                f"Skipping the damaged catalog checkpoint of version {version} ({exc}); "
                "replaying the log instead. `arco doctor --repair` rebuilds it",
                stacklevel=4,
            )
            return None

    # -- checkpoints ----------------------------------------------------------------------------
    def checkpoint(self) -> Checkpoint:
        """Make sure the latest version has a checkpoint (its snapshot Parquet files, which
        any engine reads), writing one if needed, and return it."""
        state = self.state
        if state.version == 0:
            raise CatalogError("Nothing to checkpoint", hint="Commit something first")
        return self._checkpoint_at(state.version) or self.checkpoints.write(state)

    def snapshot_files(self, version: int) -> dict[str, str]:
        """The snapshot files holding exactly ``version`` (a checkpoint's, or a version-1
        record's), or ``{}`` if none does: then the state must be built by replaying."""
        found = self._checkpoint_at(version) if version else None
        return dict(found.snapshot) if found else {}

    def _checkpoint_at(self, version: int) -> Checkpoint | None:
        """The readable checkpoint of exactly ``version``; a version-1 record counts as one."""
        record = self._log.record(version)
        if record.snapshot:
            return Checkpoint(version, record.commit_id, record.created_at, record.snapshot)
        try:
            return self.checkpoints.read(version)
        except (ObjectNotFound, CorruptObject):
            return None

    def _checkpoint_later(self, state: CatalogState) -> None:
        """Checkpoint ``state`` in a background thread. Not a daemon: an interpreter that
        exits waits for it, so a short-lived ``arco run`` still leaves its checkpoint."""

        def write() -> None:
            # Only ever an optimisation: a failed checkpoint costs readers a longer replay.
            try:
                self.checkpoints.write(state)
            except Exception as exc:  # one line, not a thread traceback
                warnings.warn(
                    f"Checkpointing catalog version {state.version} failed ({one_line(exc)}); "
                    "readers replay the log instead",
                    stacklevel=1,
                )

        thread = threading.Thread(target=write, name=f"arco-checkpoint-{state.version}")
        self._writers = [t for t in self._writers if t.is_alive()] + [thread]
        thread.start()

    def wait_for_checkpoints(self, timeout: float | None = None) -> None:
        """Wait until the checkpoints this catalog started in the background are written."""
        for thread in list(self._writers):
            thread.join(timeout)

    def as_of(self, version: int) -> CatalogView:
        """A read-only view of the catalog as it was at ``version``."""
        # Bounds come from probing the log only: a damaged newer record must not hide old ones.
        latest = self._log.latest(self._state.version)
        if type(version) is not int or not 0 <= version <= latest:
            raise CatalogError(
                f"There is no catalog version {version!r}",
                hint=f"Versions run from 0 to {latest}",
            )
        known = self._state
        return CatalogView(known if version == known.version else self._load(version))

    def record(self, version: int) -> CommitInfo:
        """The commit record of ``version`` (operations, author, time, snapshot files)."""
        if type(version) is not int or not 1 <= version <= self._log.latest(self._state.version):
            raise CatalogError(
                f"There is no commit record for version {version!r}",
                hint="Records run from 1 to the catalog's version",
            )
        return self._log.record(version)

    def history(self) -> list[CommitInfo]:
        """Every commit, oldest first."""
        return [self._log.record(v) for v in range(1, self.version + 1)]

    def diff(self, v1: int, v2: int) -> CatalogDiff:
        """What changed from version ``v1`` to ``v2`` (``diff.apply(as_of(v1))`` gives ``v2``)."""
        return diff_states(self.as_of(v1).state, self.as_of(v2).state)

    # -- committing -----------------------------------------------------------------------------
    def commit(self, operations: Iterable[Operation], *, author: str | None = None) -> CommitInfo:
        """Apply ``operations`` atomically as one new version and return its record.

        Raises
        ------
        CommitConflict
            If a concurrent commit changed an object these operations touch (and did not make
            the same change), or the retry budget ran out. Nothing of this commit is visible
            then.

        Returns
        -------
        CommitInfo
            The record of the new version; or, when a concurrent commit already made every
            change of this one, the record of the newest version (nothing new is written).
        CatalogError
            If an operation is invalid for the current catalog (unknown table, ...).
        """
        ops = tuple(operations)
        if not ops:
            raise CatalogError("Nothing to commit", hint="Pass at least one operation")
        for op in ops:
            if not isinstance(op, Operation):
                raise CatalogError(
                    f"Cannot commit {op!r}", hint="Commit Operation objects (CreateTable, ...)"
                )
        with self._lock:
            base = self._refresh()
            deadline = time.monotonic() + self.retry_budget
            for attempt in itertools.count():
                now = dt.datetime.now(dt.UTC)
                state = apply_all(base, ops, now).evolve(version=base.version + 1)
                record = CommitInfo.create(
                    version=state.version,
                    commit_id=new_id(),
                    author=author or self.author,
                    created_at=now,
                    operations=ops,
                )
                try:
                    self._log.append(record)
                except AlreadyExists:
                    base, ops = self._after_lost_race(base, ops)
                    if not ops:  # the winners made every change of ours: nothing left to do
                        return self._log.record(base.version)
                    self._give_up_or_wait(ops, attempt, deadline)
                    continue
                # Off the commit's path: replacing a file costs a flush on ext4, and a
                # stale hint costs readers only a probe or two (they verify it).
                later(functools.partial(self._log.write_hint, record.version))
                self._state = state
                if state.version % INTERVAL == 0:
                    self._checkpoint_later(state)
                return record
        raise AssertionError("unreachable")  # pragma: no cover

    def _after_lost_race(
        self, base: CatalogState, ops: tuple[Operation, ...]
    ) -> tuple[CatalogState, tuple[Operation, ...]]:
        """The newest state, and the operations still to apply on it: those whose change it
        does not hold yet. Raises ``CommitConflict`` if one of them conflicts with a winner."""
        newer = self._refresh()
        ops = tuple(op for op in ops if not op.satisfied_by(newer))
        writes = {t for op in ops for t in op.targets()}
        reads = writes.union(*(op.reads() for op in ops))
        for version in range(base.version + 1, newer.version + 1):
            record = self._log.record(version)
            for op in record.operations:
                # Serialisable: conflict if either side changed what the other used.
                shared = reads.intersection(op.targets()) | writes.intersection(op.reads())
                if shared:
                    name = sorted(shared)[0].split(":", 1)[1]
                    raise CommitConflict(
                        name, version=version, detail=f"{op.op} by {record.author}"
                    )
        return newer, ops

    def _give_up_or_wait(self, ops: tuple[Operation, ...], attempt: int, deadline: float) -> None:
        wait = random.uniform(*_backoff(self.min_wait, self.max_wait, attempt))
        spent = self.max_retries is not None and attempt >= self.max_retries
        if spent or time.monotonic() + wait > deadline:
            name = sorted(t for op in ops for t in op.targets())[0].split(":", 1)[1]
            raise CommitConflict(name, lost_races=attempt + 1)
        time.sleep(wait)

    # -- pyiceberg-style verbs ------------------------------------------------------------------
    def create_namespace(self, name: str, *, description: str = "") -> CommitInfo:
        """Create a namespace."""
        return self.commit([CreateNamespace(name, description)])

    def drop_namespace(self, name: str) -> CommitInfo:
        """Drop an empty namespace."""
        return self.commit([DropNamespace(name)])

    def create_table(
        self,
        identifier: str,
        schema: pa.Schema | Sequence[Column],
        *,
        location: str = "",
        format: str = "parquet",
        description: str = "",
        tags: Iterable[str] = (),
        owner: str = "",
    ) -> Table:
        """Register a table ``namespace.name`` with a pyarrow schema (or columns)."""
        namespace, name = split_table_name(identifier)
        table = Table(
            namespace=namespace,
            name=name,
            columns=_columns(schema),
            location=location,
            format=format,
            description=description,
            tags=sorted_tags(tags),
            owner=owner,
        )
        self.commit([CreateTable(table)])
        return self.load_table(identifier)

    def alter_table(
        self,
        identifier: str,
        *,
        schema: pa.Schema | Sequence[Column] | None = None,
        description: str | None = None,
        tags: Iterable[str] | None = None,
        location: str | None = None,
        owner: str | None = None,
    ) -> Table:
        """Change a table's schema, description, tags, location or owner."""
        self.commit(
            [
                AlterTable(
                    identifier,
                    columns=None if schema is None else _columns(schema),
                    description=description,
                    tags=None if tags is None else tuple(tags),
                    location=location,
                    owner=owner,
                )
            ]
        )
        return self.load_table(identifier)

    def drop_table(self, identifier: str) -> CommitInfo:
        """Remove a table from the catalog (its data files are not touched)."""
        return self.commit([DropTable(identifier)])

    def define_asset(self, asset: AssetDef) -> CommitInfo:
        """Create or replace an asset definition."""
        return self.commit([DefineAsset(asset)])

    def drop_asset(self, name: str, *, cascade: bool = False) -> CommitInfo:
        """Remove an asset definition (its data and facts stay).

        An asset other assets read cannot be dropped alone (:class:`CatalogError` names them):
        with ``cascade``, they are dropped too, in the same commit.
        """
        found = dependents(self.state.assets, name, transitive=True) if cascade else []
        return self.commit([*(DropAsset(a) for a in found), DropAsset(name)])

    def __repr__(self) -> str:
        return f"Catalog({self.store.url!r}, version={self._state.version})"


def _columns(schema: Any) -> tuple[Column, ...]:
    if isinstance(schema, Sequence) and all(isinstance(c, Column) for c in schema):
        return tuple(schema)
    try:
        fields = list(schema)
        return tuple(
            Column(
                name=f.name,
                type=str(f.type),
                nullable=bool(f.nullable),
                description=(f.metadata or {}).get(b"description", b"").decode(),
            )
            for f in fields
        )
    except (TypeError, AttributeError) as exc:
        raise CatalogError(
            f"Cannot read a schema from {type(schema).__name__}",
            hint="Pass a pyarrow.Schema or a list of arco Column objects",
        ) from exc


def _backoff(first: float, cap: float, attempt: int) -> tuple[float, float]:
    """The range to draw the wait before retry ``attempt`` from: doubling, capped, jittered."""
    wait = min(cap, first * 2 ** min(attempt, 32))
    return wait / 2, wait


def _default_author() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no user database in some containers
        return "unknown"
