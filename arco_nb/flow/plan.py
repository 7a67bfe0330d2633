# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The deterministic planner: which tasks a run would execute, and why.

Same definitions, same recorded materializations, same arguments: byte-identical plan JSON and
the same ``plan_id``. A task's fingerprint is the hash of its asset's ``code_version``, its
upstream fingerprints and its partition key, so a change anywhere upstream reaches every
downstream task. See ``docs/adr/0009-deterministic-planning.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from arco_nb.core.errors import AssetNotFound
from arco_nb.core.ids import canonical_json, content_hash
from arco_nb.flow.graph import AssetGraph

__all__ = ["LastMaterialization", "Plan", "Task", "build_plan"]

Reason = Literal["never materialized", "code changed", "upstream changed", "forced", "up to date"]
PLAN_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class LastMaterialization:
    """What the event log says about the latest materialization of one (asset, partition)."""

    materialization_id: str
    fingerprint: str
    code_version: str


@dataclass(frozen=True)
class Task:
    """One (asset, partition) of a plan."""

    asset: str
    partition: str
    fingerprint: str
    code_version: str
    deps: tuple[str, ...]
    reason: Reason
    previous: str = ""  # materialization id the decision was compared with

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
            "previous": self.previous,
        }

    def explain(self) -> str:
        """One sentence a user understands."""
        where = f"{self.asset}[{self.partition}]" if self.partition else self.asset
        because = {
            "never materialized": "it has never been materialized",
            "code changed": f"its code changed since materialization {self.previous}",
            "upstream changed": "an upstream asset changed since materialization "
            f"{self.previous} (" + ", ".join(self.deps) + ")",
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

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": PLAN_SCHEMA_VERSION,
            "selection": self.selection,
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

    def explain(self) -> str:
        """The plan in words: one line per task, then a summary."""
        lines = [t.explain() for t in self.tasks]
        skipped = len(self.tasks) - len(self.to_run)
        lines.append(f"{len(self.to_run)} to run, {skipped} up to date ({self.plan_id}).")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.explain()


def build_plan(
    graph: AssetGraph,
    selection: str | None = None,
    *,
    latest: Mapping[tuple[str, str], LastMaterialization] | None = None,
    force: bool = False,
) -> Plan:
    """Plan ``selection`` of ``graph`` against the ``latest`` recorded materializations."""
    latest = latest or {}
    fingerprints: dict[str, str] = {}
    for name in graph.order:  # every asset, so unselected upstreams still feed fingerprints
        spec = graph.specs[name]
        fingerprints[name] = content_hash(
            {
                "code_version": spec.code_version,
                "upstream": [fingerprints[d] for d in spec.deps],
                "partition": "",
            }
        )[:24]
    tasks = []
    for name in graph.select(selection):
        spec = graph.specs[name]
        last = latest.get((name, ""))
        reason: Reason
        if force:
            reason = "forced"
        elif last is None:
            reason = "never materialized"
        elif last.code_version != spec.code_version:
            reason = "code changed"
        elif last.fingerprint != fingerprints[name]:
            reason = "upstream changed"
        else:
            reason = "up to date"
        tasks.append(
            Task(
                asset=name,
                partition="",
                fingerprint=fingerprints[name],
                code_version=spec.code_version,
                deps=spec.deps,
                reason=reason,
                previous=last.materialization_id if last else "",
            )
        )
    return Plan(selection=(selection or "*").strip() or "*", force=force, tasks=tuple(tasks))
