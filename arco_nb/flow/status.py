# SPDX-License-Identifier: Apache-2.0 OR MIT
"""What the event log says each asset is now: one index, used by planning, lineage, the
browser and the command line.

:class:`StatusIndex` keeps the newest materialization of every (asset, partition) and the
newest finished task of every asset. It starts from the compaction manifest's latest index
(:mod:`arco_nb.catalog.latest`) plus the inbox, then takes in only the events appended since
(a compaction makes it start again): no fact tables, SQL engine or Arrow to load, so listings
start fast whatever the workspace's age.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from arco_nb.catalog.latest import LatestFacts, LatestMaterialization

if TYPE_CHECKING:
    from arco_nb.catalog.eventlog import EventLog
    from arco_nb.flow.assets import AssetSpec
    from arco_nb.flow.plan import Plan

__all__ = [
    "FAILED_PARTITIONS_SQL",
    "AssetStatus",
    "LatestMaterialization",
    "StatusIndex",
    "partition_status",
    "readable",
]


@dataclass(frozen=True)
class AssetStatus:
    """One asset as listings show it.

    ``status`` and ``run_id`` come from its newest finished task; ``latest`` is its newest
    materialization over all partitions, ``rows`` the rows of each partition's newest one added
    up, and ``partitions`` how many partitions are materialized.
    """

    asset: str
    status: str = ""
    run_id: str = ""
    latest: LatestMaterialization | None = None
    rows: int = 0
    partitions: int = 0


class StatusIndex:
    """The newest materializations and task outcomes of one workspace, kept up to date."""

    def __init__(self, events: EventLog) -> None:
        self.events = events
        self._position: tuple[int, tuple[str, ...]] | None = None
        self._facts = LatestFacts()

    def refresh(self) -> None:
        """Take in what was appended since the last look (after a compaction, the manifest's
        latest index and the inbox again)."""
        now, appended = self.events.appended_since(self._position)
        if self._position is None or appended is None:
            now, self._facts = self.events.latest()
        else:
            self._facts.fold(appended)
        self._position = now

    def latest(self) -> dict[tuple[str, str], LatestMaterialization]:
        """The newest materialization of every (asset, partition)."""
        self.refresh()
        return dict(self._facts.materializations)

    def assets(self) -> dict[str, AssetStatus]:
        """Every asset with a finished task or a materialization, by name."""
        self.refresh()
        found: dict[str, AssetStatus] = {}
        for (asset, _), mat in sorted(self._facts.materializations.items()):
            before = found.get(asset, AssetStatus(asset))
            newest = before.latest
            if newest is None or mat.order > newest.order:
                newest = mat
            found[asset] = AssetStatus(
                asset, "", "", newest, before.rows + mat.rows, before.partitions + 1
            )
        for asset, (_, run, status) in self._facts.tasks.items():
            before = found.get(asset, AssetStatus(asset))
            found[asset] = AssetStatus(
                asset, status, run, before.latest, before.rows, before.partitions
            )
        return found


def readable(
    latest: Mapping[tuple[str, str], LatestMaterialization],
    asset: str,
    spec: AssetSpec | None,
    partition: str | None,
) -> list[tuple[str, str]]:
    """What ``Workspace.read`` reads: (partition, materialization id) in key order.

    ``spec`` is the asset's current definition, if it is defined here: keys of an earlier
    partitions definition are left out. ``partition`` picks one key.

    Raises
    ------
    AssetNotFound
        ``asset`` is not defined here and was never materialized (with close matches).
    ConfigError
        Defined but never materialized (a time window that starts after today, say),
        nothing under its current partitions, or no materialized ``partition``.
    """
    from arco_nb.core.errors import AssetNotFound, ConfigError
    from arco_nb.flow.plan import is_key_of

    keys = sorted(k for a, k in latest if a == asset)
    if not keys and spec is not None:  # defined, never materialized
        definition = spec.partition_def
        if definition is not None and not definition.count():
            raise ConfigError(
                f"Asset {asset!r} has no partitions yet: its first ({definition}) is after "
                "today (UTC)",
                hint="It runs once that day has come; move the start earlier to run it now",
            )
        raise ConfigError(
            f"Asset {asset!r} has no materialization yet", hint=f"Run it: ws.run({asset!r})"
        )
    if not keys:
        import difflib

        recorded = sorted({a for a, _ in latest})
        raise AssetNotFound(asset, suggestions=difflib.get_close_matches(asset, recorded))
    if spec is not None:
        definition = spec.partition_def
        keys = [k for k in keys if is_key_of(definition, k)]
        if not keys:
            raise ConfigError(
                f"Asset {asset!r} has no materialization under its current partitions "
                f"({definition or 'none'})",
                hint=f"Run it: ws.run({asset!r})",
            )
    if partition is not None:
        if partition not in keys:
            raise ConfigError(
                f"Asset {asset!r} has no materialized partition {partition!r}",
                hint="Materialized: " + ", ".join(keys[:10]) + ("..." if len(keys) > 10 else ""),
            )
        keys = [partition]
    return [(k, latest[(asset, k)].materialization_id) for k in keys]


def partition_status(plan: Plan, asset: str, failed: Collection[str]) -> dict[str, str]:
    """Each partition key of ``asset`` in ``plan`` and its status: ``failed`` (its latest
    attempt, per ``failed``), ``materialized``, ``stale`` (inputs or code changed since) or
    ``missing``."""
    status = {}
    for task in plan.tasks:
        if task.asset != asset:
            continue
        if task.partition in failed:
            status[task.partition] = "failed"
        elif not task.will_run:
            status[task.partition] = "materialized"
        else:
            status[task.partition] = "stale" if task.previous else "missing"
    return status


FAILED_PARTITIONS_SQL = (
    "select partition from arco.task_runs where asset = ? "
    "group by partition having arg_max(status, finished_at) = 'failed'"
)
