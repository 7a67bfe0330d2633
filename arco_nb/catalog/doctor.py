# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``doctor``: verify a workspace's metadata and data files; repair what can be rebuilt.

What is checked: every commit record (present, no gap, parseable, its operations too), every
checkpoint object (parseable), every snapshot file a checkpoint or a version-1 record names (a
readable Parquet file with its kind's columns), the compaction manifests (no gap; the newest
parseable), every part the newest manifest names (readable), its latest index (parseable, and
equal to what its parts give), every inbox object (parseable), and the data file of every
materialization (present, with a readable Parquet footer).

Repair never deletes anything: a damaged object is *moved* under
``_quarantine/{repair id}/{its key}``, beside a ``report.json`` of what was found and done.

* A damaged or missing **snapshot file** is rebuilt from the commit log: the catalog state at
  the version it holds, replayed from version 0, written again under the same key.
* A damaged **checkpoint object** is moved aside: readers replay the log from an older
  checkpoint, and the next checkpoint writer puts a good one in its place.
* A damaged or missing **part** leaves the newest manifest through a new manifest, after the
  events of the inbox objects of the compaction rounds it holds (those still present) were
  appended again as one new inbox object: the next compaction folds them again, and reads
  deduplicate by event id. Facts of objects that were already collected cannot come back; the
  finding says how many.
* A damaged **latest index** (or one that disagrees with the parts) is moved aside and leaves
  the manifest through a new one: readers read the parts until the next compaction writes it
  again.
* A damaged **newest manifest** is moved aside: readers fall back to the one before it, and the
  next compaction folds that round's inbox objects again.
* A damaged **inbox object** is moved aside (readers already skip it, with a warning each time).

A commit record or a data file cannot be rebuilt from anything in the workspace: the finding
says what to do (restore the record from a backup or the bucket's object versions; run the
asset again with ``--force``).
"""

from __future__ import annotations

import contextlib
import json
import re
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from arco_nb.catalog.checkpoints import Checkpoints
from arco_nb.catalog.eventlog import INBOX, MANIFESTS, EventLog, Manifest
from arco_nb.catalog.events import (
    EVENT_SCHEMA_VERSION,
    Event,
    inbox_object,
    parse_inbox_object,
)
from arco_nb.catalog.latest import LatestFacts
from arco_nb.catalog.log import LOG_PREFIX, CommitInfo, CommitLog
from arco_nb.catalog.manifest import HELD, held_key
from arco_nb.catalog.model import CatalogState
from arco_nb.catalog.parquet import damaged, read_parquet_object
from arco_nb.catalog.snapshot import check_snapshot_file, snapshot_bytes
from arco_nb.core.errors import AlreadyExists, CatalogError, CorruptObject, ObjectNotFound
from arco_nb.core.ids import canonical_json, new_id

if TYPE_CHECKING:
    from arco_nb.catalog.catalog import Catalog
    from arco_nb.core.storage import ObjectStore

__all__ = ["QUARANTINE", "DoctorFinding", "DoctorReport", "examine"]

QUARANTINE = "_quarantine"
_NUMBERED = re.compile(r"(\d{20})\.json")
_RESTORE = "Restore it from a backup or the bucket's object versions"


@dataclass(frozen=True)
class DoctorFinding:
    """One problem :func:`examine` found: what, where, and what repair did or a person must do.

    Attributes
    ----------
    kind
        ``"log"``, ``"checkpoint"``, ``"snapshot"``, ``"manifest"``, ``"part"``, ``"inbox"``
        or ``"data"``.
    key
        The object's key in the workspace.
    problem
        What is wrong with it.
    remedy
        What ``repair`` does (or did), or what a person has to do.
    repaired
        Whether this run repaired it.
    """

    kind: str
    key: str
    problem: str
    remedy: str
    repaired: bool = False


@dataclass(frozen=True)
class DoctorReport:
    """What one doctor run checked and found.

    Attributes
    ----------
    checked
        How many objects of each kind were checked.
    findings
        The problems, in the order found.
    quarantine
        Where repair moved damaged objects (``None``: nothing moved).
    """

    checked: Mapping[str, int]
    findings: tuple[DoctorFinding, ...] = ()
    quarantine: str | None = None

    @property
    def clean(self) -> bool:
        """Nothing was wrong."""
        return not self.findings

    @property
    def healthy(self) -> bool:
        """Nothing is wrong now: no problem found, or all of them repaired."""
        return all(f.repaired for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "checked": dict(self.checked),
            "findings": [asdict(f) for f in self.findings],
            "quarantine": self.quarantine,
            "clean": self.clean,
            "healthy": self.healthy,
        }


def examine(catalog: Catalog, events: EventLog, *, repair: bool = False) -> DoctorReport:
    """Check the workspace behind ``catalog`` and ``events``; with ``repair``, quarantine
    damaged objects and rebuild what the log and the inbox still allow."""
    return _Doctor(catalog.store, events, repair=repair).run()


@dataclass
class _Doctor:
    store: ObjectStore
    events: EventLog
    repair: bool
    checked: dict[str, int] = field(default_factory=dict)
    findings: list[DoctorFinding] = field(default_factory=list)
    repair_id: str = field(default_factory=new_id)
    moved: int = 0

    def run(self) -> DoctorReport:
        records = self._log()
        self._snapshots(records)
        manifest = self._manifests()
        if not self._parts(manifest):
            self._latest(manifest)
        self._inbox()
        self._data()
        quarantine = None
        if self.moved or (self.repair and self.findings):
            quarantine = f"{QUARANTINE}/{self.repair_id}"
            report = DoctorReport(self.checked, tuple(self.findings), quarantine)
            self.store.write(f"{quarantine}/report.json", canonical_json(report.to_json()))
        return DoctorReport(dict(self.checked), tuple(self.findings), quarantine)

    # -- helpers --------------------------------------------------------------------------------
    def _found(self, kind: str, key: str, problem: str, remedy: str, *, repaired: bool) -> None:
        self.findings.append(DoctorFinding(kind, key, problem, remedy, repaired))

    def _count(self, kind: str, n: int = 1) -> None:
        self.checked[kind] = self.checked.get(kind, 0) + n

    def _copy_aside(self, key: str) -> bool:
        """Copy ``key`` under the quarantine folder; False if it was not there to copy."""
        try:
            data = self.store.read(key)
        except ObjectNotFound:
            return False
        with contextlib.suppress(AlreadyExists):  # copied by this run already
            self.store.put_if_absent(f"{QUARANTINE}/{self.repair_id}/{key}", data)
        self.moved += 1
        return True

    def _move_aside(self, key: str) -> bool:
        """Move ``key`` under the quarantine folder; False if it was not there to move."""
        if not self._copy_aside(key):
            return False
        self.store.delete(key)
        return True

    def _gaps(
        self, kind: str, prefix: str, names: tuple[str, str], consequence: str
    ) -> dict[int, str]:
        """The numbered objects under ``prefix``; each number missing below the highest is a
        finding (``names``: what one object is called, and what the highest is called)."""
        found: dict[int, str] = {}
        for key in self.store.list(prefix):
            match = _NUMBERED.fullmatch(key.rsplit("/", 1)[-1])
            if match is not None:
                found[int(match.group(1))] = key
        top = max(found, default=0)
        for n in range(1, top + 1):
            key = f"{prefix}/{n:020d}.json"
            if n not in found and not self.store.exists(key):  # a listing is not one instant
                self._found(
                    kind,
                    key,
                    f"{names[0]} {n} is missing, but {names[1]} {top} exists after it",
                    f"{_RESTORE}: {consequence}",
                    repaired=False,
                )
        return found

    # -- Tier 1 ---------------------------------------------------------------------------------
    def _log(self) -> dict[int, CommitInfo]:
        found = self._gaps(
            "log",
            LOG_PREFIX,
            ("commit record", "version"),
            "nothing in the workspace can rebuild a commit record, and the catalog takes no "
            "commit until the gap is filled",
        )
        log = CommitLog(self.store)
        records: dict[int, CommitInfo] = {}
        for n in sorted(found):
            self._count("commit records")
            try:
                record = log.record(n)
                record.operations  # noqa: B018 - parsing them is the check
            except (CorruptObject, ObjectNotFound) as exc:
                reason = exc.reason if isinstance(exc, CorruptObject) else "it vanished"
                self._found(
                    "log", found[n], reason, f"{_RESTORE}: no repair can rebuild it", repaired=False
                )
                continue
            records[n] = record
        return records

    def _checkpoints(self) -> dict[str, tuple[int, str]]:
        """Check every checkpoint object; return its files: key -> (version, kind)."""
        checkpoints = Checkpoints(self.store)
        files: dict[str, tuple[int, str]] = {}
        for version in checkpoints.versions():
            self._count("checkpoints")
            try:
                checkpoint = checkpoints.read(version)
            except (CorruptObject, ObjectNotFound) as exc:
                key = checkpoints.key(version)
                reason = exc.reason if isinstance(exc, CorruptObject) else "it vanished"
                moved = self.repair and self._move_aside(key)
                remedy = "readers replay the log from an older checkpoint"
                self._found(
                    "checkpoint",
                    key,
                    reason,
                    f"moved to quarantine: {remedy}"
                    if moved
                    else f"`doctor --repair` moves it aside: {remedy}",
                    repaired=moved,
                )
                continue
            for name, key in checkpoint.files().items():
                files.setdefault(key, (version, name))
        return files

    def _snapshots(self, records: Mapping[int, CommitInfo]) -> None:
        first = self._checkpoints()  # key -> (version it holds, kind)
        for version in sorted(records):
            for name, key in records[version].snapshot.items():
                first.setdefault(key, (version, name))
        bad: dict[str, tuple[int, str, str]] = {}
        for key, (version, name) in first.items():
            self._count("snapshot files")
            try:
                check_snapshot_file(self.store, key, name)
            except ObjectNotFound:
                bad[key] = (version, name, "missing, though the log or a checkpoint names it")
            except CorruptObject as exc:
                bad[key] = (version, name, exc.reason)
        rebuilt = self._rebuild_snapshots(records, bad) if self.repair and bad else {}
        for key, (version, _, problem) in bad.items():
            remedy = rebuilt.get(key, "`doctor --repair` rebuilds it from the commit log")
            self._found(
                "snapshot", key, f"{problem} (version {version})", remedy, repaired=key in rebuilt
            )

    def _rebuild_snapshots(
        self, records: Mapping[int, CommitInfo], bad: Mapping[str, tuple[int, str, str]]
    ) -> dict[str, str]:
        """Replay the log from version 0 and write each bad file again; what was done, by key."""
        wanted: dict[int, list[tuple[str, str]]] = {}
        for key, (version, name, _) in bad.items():
            wanted.setdefault(version, []).append((key, name))
        done: dict[str, str] = {}
        state = CatalogState()
        try:
            for version in range(1, max(wanted) + 1):
                state = records[version].apply(state)
                for key, name in wanted.get(version, ()):
                    # Replaced in place, never absent: readers see the damaged or the good file.
                    moved = self._copy_aside(key)
                    self.store.write(key, snapshot_bytes(state, name))
                    aside = "; the damaged file is kept in quarantine" if moved else ""
                    done[key] = f"rebuilt from the commit log{aside}"
        except (KeyError, CatalogError):
            pass  # a record is missing or does not replay: the rest needs a person
        return done

    # -- Tier 2 ---------------------------------------------------------------------------------
    def _manifests(self) -> Manifest:
        found = self._gaps(
            "manifest",
            MANIFESTS,
            ("compaction manifest", "manifest"),
            "compaction writes nothing until the gap is filled",
        )
        self._count("manifests", len(found))
        dropped = False
        for n in sorted(found, reverse=True):  # the newest readable one is what readers use
            try:
                manifest = self.events.manifest_at(n)
            except CorruptObject as exc:
                moved = self.repair and self._move_aside(found[n])
                dropped = dropped or moved
                self._found(
                    "manifest",
                    found[n],
                    exc.reason,
                    (
                        f"moved to quarantine: readers use manifest {n - 1}, and the next "
                        "compaction folds that round's inbox objects again"
                    )
                    if moved
                    else "`doctor --repair` moves it aside: readers then use the one before",
                    repaired=moved,
                )
            else:
                if dropped:
                    self._unhold(manifest)
                return manifest
        if dropped:
            self._unhold(Manifest())
        return Manifest()

    def _unhold(self, manifest: Manifest) -> None:
        """Put the compacted inbox objects ``manifest`` does not cover back in the inbox: the
        rounds of the manifests moved aside compacted them, and readers must see them again."""
        for key in self.store.list(HELD):
            inbox_key = INBOX + key.removeprefix(HELD)
            if inbox_key not in manifest.compacted:
                with contextlib.suppress(ObjectNotFound):
                    self.store.move(key, inbox_key)

    def _parts(self, manifest: Manifest) -> bool:
        """Check the newest manifest's parts; True if any is damaged."""
        bad: dict[str, str] = {}
        for table, keys in manifest.parts.items():
            for key in keys:
                self._count("parts")
                try:
                    read_parquet_object(self.store, key)
                except ObjectNotFound:
                    bad[key] = f"a {table} part the newest manifest names is missing"
                except CorruptObject as exc:
                    bad[key] = exc.reason
        if not bad:
            return False
        if not self.repair:
            for key, problem in bad.items():
                remedy = "`doctor --repair` drops it and compacts its inbox objects again"
                self._found("part", key, problem, remedy, repaired=False)
            return True
        # The events of the inbox objects behind each damaged part are read *now* and appended
        # again as a new object before the part is dropped: a compaction running meanwhile may
        # be deleting those objects (past their grace period), and must not take the facts
        # with them.
        saved: list[Event] = []
        outcome: dict[str, str] = {}
        for key in bad:
            moved = self._move_aside(key)
            round_keys = self._round(key, manifest)
            read = 0
            for inbox_key in sorted(round_keys):
                # Held out of the inbox once compacted (ADR 0021), or still in it after a
                # crash; held again if a compaction moved it between the two reads.
                for where in (held_key(inbox_key), inbox_key, held_key(inbox_key)):
                    try:
                        saved.extend(parse_inbox_object(self.store.read(where), key=where))
                    except ObjectNotFound:
                        continue
                    except CorruptObject:
                        break  # damaged (reported by _inbox)
                    read += 1
                    break
            lost = len(round_keys) - read
            outcome[key] = (
                ("moved to quarantine; " if moved else "")
                + f"its {read} inbox objects will be compacted again"
                + (f"; {lost} were already collected, and their facts are lost" if lost else "")
            )
        if saved:
            day = min(e.at for e in saved).strftime("%Y-%m-%d")
            body = canonical_json(inbox_object(list({e.event_id: e for e in saved}.values())))
            with contextlib.suppress(AlreadyExists):  # this repair's own, written already
                self.store.put_if_absent(f"{INBOX}/{day}/repair-{self.repair_id}.json", body)
        self.events.drop_parts(bad)
        for key, problem in bad.items():
            self._found("part", key, problem, outcome[key], repaired=True)
        return True

    def _latest(self, manifest: Manifest) -> None:
        """The latest index must parse and agree with the parts (which were all readable)."""
        if not manifest.latest:
            return
        self._count("latest indexes")
        try:
            indexed = LatestFacts.from_bytes(self.store.read(manifest.latest), key=manifest.latest)
        except ObjectNotFound:
            problem = "the latest index the newest manifest names is missing"
        except CorruptObject as exc:
            problem = exc.reason
        else:
            parts = self.events.compacted_facts(replace(manifest, latest=""))
            if (indexed.materializations, indexed.tasks) == (parts.materializations, parts.tasks):
                return
            problem = "it disagrees with the parts it indexes"
        if self.repair:
            self._move_aside(manifest.latest)
            self.events.drop_parts(())  # a manifest without it: the next compaction rebuilds it
        self._found(
            "latest index",
            manifest.latest,
            problem,
            "moved to quarantine; readers read the parts until the next compaction rebuilds it"
            if self.repair
            else "`doctor --repair` moves it aside; readers then read the parts",
            repaired=self.repair,
        )

    def _round(self, part: str, newest: Manifest) -> set[str]:
        """The inbox objects compacted by the rounds whose events ``part`` holds."""
        info = newest.part_info(part)
        found: set[str] = set()
        for seq in range(info.first, info.last + 1):
            try:
                manifest = newest if seq == newest.seq else self.events.manifest_at(seq)
            except (CorruptObject, ObjectNotFound):
                return set(newest.compacted)  # unknown round: all of them (reads deduplicate)
            found |= {k for k, at in manifest.compacted.items() if at == manifest.created_at}
        return found

    def _inbox(self) -> None:
        for key in self.store.list(INBOX):
            self._count("inbox objects")
            raw = b""
            try:
                raw = self.store.read(key)
                parse_inbox_object(raw, key=key)
            except ObjectNotFound:
                continue  # collected meanwhile
            except CorruptObject as exc:
                if _newer_schema(raw):
                    # Facts a newer Arco recorded: not damage. Left where they are.
                    self._found(
                        "inbox",
                        key,
                        exc.reason + ", written by a newer Arco",
                        "upgrade arco-nb to read it; it was left in place",
                        repaired=False,
                    )
                    continue
                moved = self.repair and self._move_aside(key)
                remedy = (
                    "moved to quarantine" if moved else "`doctor --repair` moves it aside"
                ) + " (readers skip it: its facts were never visible)"
                self._found("inbox", key, exc.reason, remedy, repaired=moved)

    def _data(self) -> None:
        try:
            with warnings.catch_warnings():  # damaged inbox objects: reported by _inbox
                warnings.simplefilter("ignore")
                rows = self.events.read_columns(
                    "materializations", ["asset", "partition", "materialization_id", "path"]
                ).to_pylist()
        except CorruptObject:
            return  # a damaged part, already reported: the data files cannot be listed
        present = set(self.store.list("data"))
        for row in rows:
            self._count("data files")
            key = row["path"]
            problem = None
            if key not in present and not self.store.exists(key):
                problem = f"missing, though materialization {row['materialization_id']} names it"
            else:
                problem = self._unreadable(key)
            if problem is not None:
                which = f" --partitions {row['partition']}" if row["partition"] else ""
                self._found(
                    "data",
                    key,
                    problem,
                    f"run the asset again: arco run --select {row['asset']}{which} --force",
                    repaired=False,
                )

    def _unreadable(self, key: str) -> str | None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            with self.store.open(key) as f:
                pq.ParquetFile(f).metadata  # noqa: B018 - reading the footer is the check
        except ObjectNotFound:
            return "vanished while being checked"
        except (pa.ArrowException, ValueError, OSError) as exc:
            return damaged(key, exc).reason
        return None


def _newer_schema(raw: bytes) -> bool:
    """Whether ``raw`` is an inbox object of a schema version newer than this Arco's."""
    try:
        version = json.loads(raw).get("schema_version")
    except (ValueError, AttributeError):
        return False
    return type(version) is int and version > EVENT_SCHEMA_VERSION
