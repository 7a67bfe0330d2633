# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The deterministic planner: which tasks a run would execute, and why.

Same definitions, same recorded materializations, same arguments: byte-identical plan JSON and
the same ``plan_id``. A task's fingerprint is the hash of its asset's ``code_version``, its
upstream fingerprints and its partition key, so a change anywhere upstream reaches every
downstream task. See ``docs/adr/0009-deterministic-planning.md``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from arco_nb.core.errors import AssetNotFound, ConfigError
from arco_nb.core.ids import canonical_json, content_hash
from arco_nb.core.settings import DEFAULT_MAX_PARTITIONS
from arco_nb.flow.graph import AssetGraph
from arco_nb.flow.partitions import (
    DailyPartitions,
    MonthlyPartitions,
    Partitions,
    StaticPartitions,
    too_many,
)

if TYPE_CHECKING:
    from arco_nb.flow.status import LatestMaterialization

__all__ = ["Plan", "Task", "build_plan", "input_keys", "is_key_of"]

Reason = Literal["never materialized", "code changed", "upstream changed", "forced", "up to date"]
PLAN_SCHEMA_VERSION = 2


@dataclass(frozen=True)
class Task:
    """One (asset, partition) of a plan."""

    asset: str
    partition: str
    fingerprint: str
    code_version: str
    deps: tuple[str, ...]
    reason: Reason
    # The materialization the decision was compared with. Not part of the plan's JSON: the same
    # notebook replayed on a fresh root must plan identically, and ids differ between roots.
    previous: str = ""
    inputs: tuple[tuple[str, str], ...] = ()  # (asset, partition) read, in order
    missing: tuple[str, ...] = ()  # partitioned upstream assets with no partition to read

    @property
    def key(self) -> tuple[str, str]:
        return (self.asset, self.partition)

    @property
    def label(self) -> str:
        """``asset`` or ``asset[partition]``."""
        return f"{self.asset}[{self.partition}]" if self.partition else self.asset

    @property
    def will_run(self) -> bool:
        """``False`` only when the task is skipped as up to date."""
        return self.reason != "up to date"

    def to_json(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "partition": self.partition,
            "fingerprint": self.fingerprint,
            "code_version": self.code_version,
            "deps": list(self.deps),
            "reason": self.reason,
            "inputs": [list(i) for i in self.inputs],
            "missing": list(self.missing),
        }

    def explain(self, changed: Sequence[str] | None = None) -> str:
        """One sentence a user understands; ``changed`` names the upstream assets that changed
        (what the lineage of the previous materialization says), else every upstream is named."""
        where = self.label
        upstream = ", ".join(changed if changed else self.deps)
        which = "upstream assets" if changed and len(changed) > 1 else "an upstream asset"
        because = {
            "never materialized": "it has never been materialized",
            "code changed": f"its code changed since materialization {self.previous}",
            "upstream changed": f"{which} changed since materialization "
            f"{self.previous} ({upstream})",
            "forced": "the run was forced",
            "up to date": f"materialization {self.previous} is up to date",
        }[self.reason]
        verb = "runs" if self.will_run else "is skipped"
        return f"{where} {verb}: {because}."


@dataclass(frozen=True)
class Plan:
    """An ordered list of tasks with a content-derived ``plan_id``."""

    selection: str
    force: bool
    tasks: tuple[Task, ...]
    partitions: str = ""
    #: The materialization ids, as planned against, of the plan's tasks and their inputs that
    #: were materialized: what a run of this plan reads. Not part of the plan's identity.
    materialized: Mapping[tuple[str, str], str] = field(
        default_factory=dict, compare=False, repr=False
    )

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": PLAN_SCHEMA_VERSION,
            "selection": self.selection,
            "partitions": self.partitions,
            "force": self.force,
            "tasks": [t.to_json() for t in self.tasks],
        }

    def json_bytes(self) -> bytes:
        """The canonical JSON form; identical inputs give identical bytes."""
        return canonical_json(self.to_json())

    @property
    def plan_id(self) -> str:
        """Hash of :meth:`json_bytes`."""
        return "plan_" + content_hash(self.json_bytes())[:24]

    def task(self, asset: str, partition: str = "") -> Task:
        """The task of ``asset`` (and ``partition``)."""
        for t in self.tasks:
            if t.asset == asset and t.partition == partition:
                return t
        raise AssetNotFound(asset, suggestions=sorted({t.asset for t in self.tasks})[:3])

    @property
    def to_run(self) -> tuple[Task, ...]:
        """The tasks that will execute."""
        return tuple(t for t in self.tasks if t.will_run)

    def pruned(self) -> Plan:
        """The tasks that will execute and the up-to-date tasks they read, and no other: what
        a run must record. A notebook cell plans all of its upstream assets (``+name``), but
        its run need not record hundreds of untouched ancestors, which would make every cell
        of a long session cost more than the one before."""
        running = self.to_run
        needed = {t.key for t in running} | {i for t in running for i in t.inputs}
        return replace(self, tasks=tuple(t for t in self.tasks if t.key in needed))

    def explain(self) -> str:
        """The plan in words: one line per task, then a summary."""
        lines = [t.explain() for t in self.tasks]
        skipped = len(self.tasks) - len(self.to_run)
        lines.append(f"{len(self.to_run)} to run, {skipped} up to date ({self.plan_id}).")
        return "\n".join(lines)

    def explain_asset(
        self,
        asset: str,
        *,
        detail: int = 5,
        changed: Mapping[tuple[str, str], Sequence[str]] | None = None,
    ) -> str:
        """Why ``asset`` runs or is skipped: one line per task, or, past ``detail`` partitions,
        a count per reason with a few of the keys. ``changed`` names, per task, the upstream
        assets that changed (see :meth:`Task.explain`)."""
        tasks = [t for t in self.tasks if t.asset == asset]
        if len(tasks) <= detail:
            return "\n".join(t.explain((changed or {}).get(t.key)) for t in tasks)
        by_reason: dict[str, list[str]] = {}
        for task in tasks:
            by_reason.setdefault(task.reason, []).append(task.partition)
        lines = [f"{asset}: {len(tasks)} partitions"]
        for reason, keys in by_reason.items():
            shown = ", ".join(keys[:3]) + (f", ... {keys[-1]}" if len(keys) > 3 else "")
            lines.append(f"  {len(keys)} {reason}: {shown}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.explain()


def build_plan(
    graph: AssetGraph,
    selection: str | None = None,
    *,
    latest: Mapping[tuple[str, str], LatestMaterialization] | None = None,
    force: bool = False,
    partitions: str | None = None,
    today: dt.date | None = None,
    max_partitions: int = DEFAULT_MAX_PARTITIONS,
) -> Plan:
    """Plan ``selection`` of ``graph`` against the ``latest`` recorded materializations.

    ``partitions`` (``"2024-01-01..2024-01-31"``, ``"eu,us"``) picks the keys of the selected
    partitioned assets; without it they plan every key up to ``today`` (UTC), and keys already
    materialized with the same fingerprint are skipped as up to date. More than
    ``max_partitions`` keys of one asset is a :class:`ConfigError`.
    """
    latest = latest or {}
    if partitions is not None and not isinstance(partitions, str):
        raise ConfigError(
            f"partitions must be text, not {type(partitions).__name__}",
            hint='Write partitions="2024-01-01..2024-01-31" or "eu,us"',
        )
    if partitions is not None and not partitions.strip():
        # Not "every key": --partitions "$KEYS" with an unset variable must not backfill all.
        raise ConfigError(
            "partitions is empty",
            hint="Name keys or a range (2024-01-01..2024-01-31), or leave partitions out "
            "for every key",
        )
    selected = graph.select(selection)
    if partitions is None and not any(s.partition_def for s in graph.specs.values()):
        tasks = _unpartitioned_tasks(graph, selected, latest, force)
    else:
        tasks = _tasks(
            graph,
            selected,
            latest,
            force,
            partitions=partitions,
            today=today,
            max_partitions=max_partitions,
        )
    read = {t.key for t in tasks} | {i for t in tasks for i in t.inputs}
    return Plan(
        selection=(selection or "*").strip() or "*",
        force=force,
        tasks=tuple(tasks),
        partitions=(partitions or "").strip(),
        materialized={k: latest[k].materialization_id for k in read if k in latest},
    )


def _tasks(
    graph: AssetGraph,
    selected: Sequence[str],
    latest: Mapping[tuple[str, str], LatestMaterialization],
    force: bool,
    *,
    partitions: str | None,
    today: dt.date | None,
    max_partitions: int,
) -> list[Task]:
    planned = _planned_keys(graph, selected, partitions, today, max_partitions)
    available: dict[str, set[str]] = {}
    for asset, key in latest:
        # Keys of an older partition definition (or none) are not partitions of this one.
        if asset in graph.specs and is_key_of(graph.specs[asset].partition_def, key):
            available.setdefault(asset, set()).add(key)
    for asset, keys in planned.items():
        available.setdefault(asset, set()).update(keys)
    inputs, missing = _inputs(graph, planned, available)
    keys_of: dict[str, list[str]] = {}
    for asset, key in sorted(inputs):
        keys_of.setdefault(asset, []).append(key)
    fingerprints: dict[tuple[str, str], str] = {}
    for name in graph.order:  # topological, so upstream fingerprints exist when needed
        spec = graph.specs[name]
        for key in keys_of.get(name, ()):
            upstream = tuple(fingerprints[i] for i in inputs[(name, key)])
            fingerprints[(name, key)] = _fingerprint(spec.code_version, upstream, key)
    tasks = []
    for name in selected:
        spec = graph.specs[name]
        for key in planned[name]:
            last = latest.get((name, key))
            fingerprint = fingerprints[(name, key)]
            reason = _reason(force, last, spec.code_version, fingerprint)
            tasks.append(
                Task(
                    asset=name,
                    partition=key,
                    fingerprint=fingerprint,
                    code_version=spec.code_version,
                    deps=spec.deps,
                    reason=reason,
                    previous=last.materialization_id if last else "",
                    inputs=inputs[(name, key)],
                    missing=missing.get((name, key), ()),
                )
            )
    return tasks


def _reason(
    force: bool, last: LatestMaterialization | None, code_version: str, fingerprint: str
) -> Reason:
    """Why a task runs (or that it is up to date), against its newest materialization."""
    if force:
        return "forced"
    if last is None:
        return "never materialized"
    if last.code_version != code_version:
        return "code changed"
    if last.fingerprint != fingerprint:
        return "upstream changed"
    return "up to date"


def _unpartitioned_tasks(
    graph: AssetGraph,
    selected: Sequence[str],
    latest: Mapping[tuple[str, str], LatestMaterialization],
    force: bool,
) -> list[Task]:
    """What :func:`_tasks` gives when no asset is partitioned (most notebooks), without its
    per-key bookkeeping: a cell plans all of its ancestors again, so this is per cell."""
    specs = graph.specs
    fingerprints: dict[str, str] = {}
    for name in graph.order:  # topological: a dep's fingerprint exists when needed
        spec = specs[name]
        upstream = tuple([fingerprints[d] for d in spec.deps])
        fingerprints[name] = _fingerprint(spec.code_version, upstream, "")
    tasks = []
    memo = _TASK_MEMO
    if len(memo) > _TASK_MEMO_SIZE:
        memo.clear()
    for name in selected:
        spec = specs[name]
        last = latest.get((name, ""))
        fingerprint = fingerprints[name]
        seen = memo.get((name, fingerprint, spec.deps))
        if seen is not None and seen[0] is last and seen[1] is force:
            tasks.append(seen[2])  # the same decision against the same record
            continue
        code_version = spec.code_version
        reason = _reason(force, last, code_version, fingerprint)
        task = Task(
            asset=name,
            partition="",
            fingerprint=fingerprint,
            code_version=code_version,
            deps=spec.deps,
            reason=reason,
            previous=last.materialization_id if last else "",
            inputs=tuple([(d, "") for d in spec.deps]),
        )
        memo[(name, fingerprint, spec.deps)] = (last, force, task)
        tasks.append(task)
    return tasks


# Tasks are immutable: one decided against the very record (the same object) is reused.
_TASK_MEMO: dict[tuple[str, str, tuple[str, ...]], tuple[object, bool, Task]] = {}
_TASK_MEMO_SIZE = 1 << 16


def _planned_keys(
    graph: AssetGraph,
    selected: Sequence[str],
    partitions: str | None,
    today: dt.date | None,
    limit: int,
) -> dict[str, list[str]]:
    planned: dict[str, list[str]] = {}
    for name in selected:
        spec = graph.specs[name]
        definition = spec.partition_def
        if definition is None:
            planned[name] = [""]
            continue
        try:
            if partitions:
                planned[name] = definition.select(partitions, today=today, limit=limit)
            else:
                too_many(definition.count(today=today), limit)
                planned[name] = definition.keys(today=today)
        except ConfigError as exc:
            raise ConfigError(f"{name}: {exc.message}", hint=exc.hint) from None
    if partitions and all(graph.specs[n].partition_def is None for n in selected):
        raise ConfigError(
            f"partitions={partitions!r} was given, but no selected asset is partitioned",
            hint="Select a partitioned asset, or leave out the partitions",
        )
    return planned


def is_key_of(definition: Partitions | None, key: str) -> bool:
    """Whether ``key`` names a partition of ``definition`` (``""`` when unpartitioned)."""
    return key == "" if definition is None else definition.has_key(key)


def _inputs(
    graph: AssetGraph, planned: Mapping[str, list[str]], available: Mapping[str, set[str]]
) -> tuple[
    dict[tuple[str, str], tuple[tuple[str, str], ...]], dict[tuple[str, str], tuple[str, ...]]
]:
    """For every (asset, key) a fingerprint is needed for: the (asset, key)s it reads, and the
    partitioned upstream assets it would read none of (nothing materialized or planned)."""
    inputs: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
    missing: dict[tuple[str, str], tuple[str, ...]] = {}
    demanded: dict[str, set[str]] = {name: set(keys) for name, keys in planned.items()}
    for name in reversed(graph.order):  # downstream first: demands flow upstream
        keys = demanded.get(name)
        if not keys:
            continue
        spec = graph.specs[name]
        for key in keys:
            found: list[tuple[str, str]] = []
            for dep in sorted(spec.deps):
                dep_keys = input_keys(
                    graph.specs[dep].partition_def,
                    spec.partition_def,
                    key,
                    available.get(dep, set()),
                )
                demanded.setdefault(dep, set()).update(dep_keys)
                found += [(dep, k) for k in dep_keys]
                if not dep_keys:
                    missing[(name, key)] = (*missing.get((name, key), ()), dep)
            inputs[(name, key)] = tuple(found)
    return inputs, missing


def input_keys(
    upstream: Partitions | None,
    downstream: Partitions | None,
    key: str,
    available: Collection[str],
) -> list[str]:
    """Which partitions of an upstream asset the ``key`` partition of a downstream one reads.

    Same kind of partitions: the same key. A daily asset reads its month of a monthly one; a
    monthly asset reads the days of its month that exist. An unpartitioned asset reads every
    partition that exists (or is planned), as does any other combination.
    """
    if upstream is None:
        return [""]
    if downstream is not None:
        if type(upstream) is type(downstream) and (
            not isinstance(upstream, StaticPartitions) or upstream == downstream
        ):
            return [key]
        if isinstance(upstream, MonthlyPartitions) and isinstance(downstream, DailyPartitions):
            return [key[:7]]
        if isinstance(upstream, DailyPartitions) and isinstance(downstream, MonthlyPartitions):
            return sorted(k for k in available if k[:7] == key)
    return sorted(available)


@functools.lru_cache(maxsize=1 << 16)
def _fingerprint(code_version: str, upstream: tuple[str, ...], partition: str) -> str:
    # Cached: a notebook cell plans all of its ancestors again, and they rarely change.
    return content_hash(
        {"code_version": code_version, "upstream": list(upstream), "partition": partition}
    )[:24]
